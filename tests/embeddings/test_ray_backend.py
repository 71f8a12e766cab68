"""Encoding on a real Ray cluster: a head started with ``ray start`` on loopback, two CPUs.

Skipped where ray is not installed (``pip install 'verbatim-qa[cluster]'``). The head runs
with this checkout on its PYTHONPATH, so its workers import the code under test.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from embeddings import Encoder
from retrieval.config import EngineSettings
from retrieval.engine import Engine
from retrieval.index import manifest as mf
from retrieval.index import vectors
from retrieval.index.build import build_index
from retrieval.index.build_embed import PASSAGE_TOKENS

ray = pytest.importorskip("ray")

from embeddings.ray_backend import RayEncoder  # noqa: E402  (after the skip)

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO / "seeds"
QUESTIONS = REPO / "tests" / "data" / "seeds_questions.jsonl"
RAY = Path(sys.executable).with_name("ray")
MIN_COSINE = 0.999
HEAD_CPUS = 2
START_SECONDS = 120
AUTH_MODE = "RAY_AUTH_MODE"
#: What Ray Data's map actors running our block encoder call themselves while they work.
WORKER_TITLE = b"ray::MapWorker(Map(_EncodeBlock)).submit"
KILL_WAIT_SECONDS = 120
POLL_SECONDS = 0.05
#: SQuAD paragraphs written as articles for the kill test: enough blocks that a kill lands
#: while others are still waiting.
KILL_ARTICLES = 120
KILL_BLOCK_TEXTS = 64


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _head_processes(temp: Path) -> list[int]:
    """Every process of the head started in ``temp`` and their descendants (ours only)."""
    roots = [
        int(p.name)
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and str(temp).encode() in _cmdline(int(p.name))
    ]
    seen: list[int] = []
    todo = list(roots)
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.append(pid)
            todo += _children(pid)
    return seen


def _stop_head(temp: Path) -> None:
    """Stop the head by its processes' ids (``ray stop`` would stop every head of the user)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in _head_processes(temp):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                continue
        time.sleep(1)


@pytest.fixture(scope="module")
def head() -> Iterator[tuple[str, Path]]:
    """A real Ray head on loopback with two CPUs: its address and its temp folder."""
    temp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # short: Ray's socket paths
    port = _free_port()
    # Token authentication would depend on what ~/.ray holds; a loopback test cluster is
    # without it, for the head and every driver (this process and the CLI's).
    saved = os.environ.get(AUTH_MODE)
    os.environ[AUTH_MODE] = "disabled"
    env = {**os.environ, "PYTHONPATH": str(REPO), "RAY_USAGE_STATS_ENABLED": "0"}
    command = [
        str(RAY),
        "start",
        "--head",
        f"--port={port}",
        "--node-ip-address=127.0.0.1",
        f"--num-cpus={HEAD_CPUS}",
        "--include-dashboard=false",
        "--disable-usage-stats",
        f"--temp-dir={temp}",
    ]
    try:
        subprocess.run(command, env=env, check=True, capture_output=True, timeout=START_SECONDS)
        yield f"127.0.0.1:{port}", temp
    finally:
        ray.shutdown()
        _stop_head(temp)
        shutil.rmtree(temp, ignore_errors=True)
        if saved is None:
            os.environ.pop(AUTH_MODE, None)
        else:
            os.environ[AUTH_MODE] = saved


@pytest.fixture(scope="module")
def ray_encoder(head: tuple[str, Path]) -> RayEncoder:
    """The default model on the head, in blocks small enough that both actors get some."""
    return RayEncoder(address=head[0], block_texts=128).load()


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", a, b)


@pytest.mark.parametrize("max_tokens", [None, PASSAGE_TOKENS])
def test_vectors_equal_local_encoding(
    ray_encoder: RayEncoder,
    encoder: Encoder,
    squad_sentences: list[str],
    max_tokens: int | None,
) -> None:
    texts = [s for f in sorted(SEEDS.glob("*.txt")) for s in f.read_text().split("\n") if s]
    texts += squad_sentences[:: max(1, len(squad_sentences) // 200)]
    local = encoder.encode(texts, max_tokens=max_tokens)
    remote = ray_encoder.encode(texts, max_tokens=max_tokens)
    assert remote.shape == local.shape
    assert _cosines(remote, local).min() >= MIN_COSINE
    assert ray_encoder.identity == encoder.identity  # same model file, same variant


def test_empty_input_gives_no_rows(ray_encoder: RayEncoder) -> None:
    assert ray_encoder.encode([]).shape == (0, ray_encoder.identity.dimension)


_NO_RAY = "import sys; sys.modules['ray'] = None; from bot.cli import main; sys.exit(main())"


@pytest.mark.parametrize(
    ("program", "message"),
    [
        ("from bot.cli import main; import sys; sys.exit(main())", "ray start --head"),
        (_NO_RAY, "pip install 'verbatim-qa[cluster]'"),
    ],
    ids=["unreachable", "not-installed"],
)
def test_cli_says_what_to_do(tmp_path: Path, program: str, message: str) -> None:
    address = f"127.0.0.1:{_free_port()}"  # nothing listens there
    command = [sys.executable, "-c", program, "index", str(SEEDS), "--index", str(tmp_path)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [*command, "--ray", address], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / mf.MANIFEST_FILE).exists()


def _vectors(index_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    manifest = mf.read(index_dir)
    folder = mf.generation_dir(index_dir, manifest)
    dim = manifest.model.dimension
    out = []
    for name in (vectors.SENTENCES_FILE, vectors.PASSAGES_FILE):
        rows = vectors.row_count(folder / name, dim)
        out.append(np.array(vectors.open_rows(folder / name, rows, dim)))
    return out[0], out[1]


def test_cli_index_on_ray_answers_like_local(
    head: tuple[str, Path],
    tmp_path: Path,
    seeds_index: Path,
    seeds_engine: Engine,
    engine_settings: EngineSettings,
    encoder: Encoder,
) -> None:
    index_dir = tmp_path / "index"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "bot.cli", "index", str(SEEDS), "--index", str(index_dir)]
    done = subprocess.run(
        [*command, "--ray", head[0], "-q"], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    local_manifest, remote_manifest = mf.read(seeds_index), mf.read(index_dir)
    assert remote_manifest.model == local_manifest.model  # the variant included
    for local, remote in zip(_vectors(seeds_index), _vectors(index_dir), strict=True):
        assert remote.shape == local.shape
        assert _cosines(remote, local).min() >= MIN_COSINE
    engine = Engine.open(index_dir, engine_settings, encoder=encoder)
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text().splitlines()]
    for question in questions[:5]:
        want, got = seeds_engine.answer(question), engine.answer(question)
        assert got.answered == want.answered
        assert [q.text for q in got.quotes[:1]] == [q.text for q in want.quotes[:1]]


def _worker_pids(temp: Path) -> list[int]:
    return [pid for pid in _head_processes(temp) if _cmdline(pid).startswith(WORKER_TITLE)]


def _squad_corpus(folder: Path, squad_paragraphs: list[str]) -> Path:
    folder.mkdir()
    for number, text in enumerate(squad_paragraphs[:KILL_ARTICLES]):
        (folder / f"{number:04d}.txt").write_text(text + "\n", encoding="utf-8")
    return folder


@pytest.mark.slow
def test_a_killed_worker_is_retried_and_every_document_indexed_once(
    head: tuple[str, Path],
    tmp_path: Path,
    engine_settings: EngineSettings,
    encoder: Encoder,
    squad_paragraphs: list[str],
) -> None:
    address, temp = head
    corpus = _squad_corpus(tmp_path / "corpus", squad_paragraphs)
    local = build_index(corpus, tmp_path / "local", engine_settings, encoder=encoder)
    on_ray = RayEncoder(address=address, block_texts=KILL_BLOCK_TEXTS).load()
    killed: list[tuple[int, bool]] = []  # (pid, whether the build was still running)
    finished = threading.Event()

    def kill_one_worker() -> None:
        deadline = time.monotonic() + KILL_WAIT_SECONDS
        while time.monotonic() < deadline and not finished.is_set():
            busy = _worker_pids(temp)
            if busy:
                os.kill(busy[0], signal.SIGKILL)
                killed.append((busy[0], not finished.is_set()))
                return
            time.sleep(POLL_SECONDS)

    killer = threading.Thread(target=kill_one_worker)
    killer.start()
    try:
        report = build_index(corpus, tmp_path / "ray", engine_settings, encoder=on_ray)
    finally:
        finished.set()
        killer.join()
    assert killed and killed[0][1], "no worker was killed while the build ran"
    assert (report.documents, report.sentences, report.passages) == (
        local.documents,
        local.sentences,
        local.passages,
    )
    for want, got in zip(_vectors(tmp_path / "local"), _vectors(tmp_path / "ray"), strict=True):
        assert got.shape == want.shape  # every row once: no duplicates, none missing
        assert _cosines(got, want).min() >= MIN_COSINE
