"""Index builds: incremental by content hash, atomic under crashes, one build at a time."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from embeddings import Encoder
from retrieval import manifest as mf
from retrieval.config import EngineSettings
from retrieval.engine import Engine
from retrieval.errors import CorpusError, VerbatimError
from retrieval.indexer import LOCK_FILE, TMP_SUFFIX, _build_lock, build_index

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(REPO / "seeds", folder)
    return folder


def _build(corpus: Path, index: Path, settings: EngineSettings, encoder: Encoder):
    return build_index(corpus, index, settings, encoder=encoder)


def test_second_build_of_unchanged_corpus_writes_nothing(
    corpus: Path, tmp_path: Path, engine_settings: EngineSettings, encoder: Encoder
) -> None:
    index = tmp_path / "index"
    first = _build(corpus, index, engine_settings, encoder)
    assert first.wrote and len(first.added) == 5
    generation = mf.read(index).generation
    again = _build(corpus, index, engine_settings, encoder)
    assert not again.wrote
    assert (again.added, again.updated, again.removed, again.unchanged) == ((), (), (), 5)
    assert mf.read(index).generation == generation


def test_changed_added_and_deleted_documents(
    corpus: Path, tmp_path: Path, engine_settings: EngineSettings, encoder: Encoder
) -> None:
    index = tmp_path / "index"
    _build(corpus, index, engine_settings, encoder)
    changed = sorted(corpus.glob("*.txt"))[1]
    changed.write_text(changed.read_text() + "\nThe river Tigris flows through the city.\n")
    (sorted(corpus.glob("*.txt"))[0]).unlink()
    (corpus / "new.md").write_text("# Pancakes\n\nMix flour, eggs and milk to make pancakes.\n")
    report = _build(corpus, index, engine_settings, encoder)
    assert report.updated == (changed.name,)
    assert report.added == ("new.md",)
    assert len(report.removed) == 1 and report.removed[0].startswith("000_")
    assert report.unchanged == 3
    engine = Engine.open(index, engine_settings, encoder=encoder)
    ids = [item.source.id for item in engine.sources()]
    assert "new.md" in ids and not any(i.startswith("000_") for i in ids)
    answer = engine.answer("How do you make pancakes?")
    assert answer.answered and answer.quotes[0].source.id == "new.md"
    assert (
        "flows through the city"
        in engine.answer("Which river flows through the city?").quotes[0].text
    )


def test_nothing_indexable_is_a_clear_error(
    tmp_path: Path, engine_settings: EngineSettings
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "blank.txt").write_text("   \n")
    with pytest.raises(CorpusError):
        build_index(empty, tmp_path / "index", engine_settings)


def test_a_second_build_at_once_is_refused(tmp_path: Path) -> None:
    index = tmp_path / "index"
    index.mkdir()
    with (
        _build_lock(index),
        pytest.raises(VerbatimError, match="Another build"),
        _build_lock(index),
    ):
        pass
    assert (index / LOCK_FILE).exists()


def _big_corpus(folder: Path, docs: int = 120) -> None:
    folder.mkdir()
    for i in range(docs):
        sentences = " ".join(
            f"Report {i} sentence {j} says the convoy {j} reached checkpoint {i * 7 + j}."
            for j in range(8)
        )
        (folder / f"doc{i:04d}.txt").write_text(f"Report number {i}\n\n{sentences}\n")


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT])
def test_killed_build_leaves_previous_index_usable(
    how: signal.Signals,
    tmp_path: Path,
    corpus: Path,
    engine_settings: EngineSettings,
    encoder: Encoder,
) -> None:
    index = tmp_path / "index"
    _build(corpus, index, engine_settings, encoder)
    before = mf.read(index)
    _big_corpus(corpus / "bulk")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "VERBATIM_INDEX_DIR": str(index)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "index", str(corpus), "--quiet"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not list(index.glob("g*" + TMP_SUFFIX)):
        assert proc.poll() is None, "the build ended before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.5)  # well into embedding the bulk documents
    proc.send_signal(how)
    proc.wait(timeout=60)
    assert proc.returncode != 0
    assert mf.read(index) == before
    engine = Engine.open(index, engine_settings, encoder=encoder)
    assert engine.info().documents == 5
    assert engine.answer("Who is Lynn Maalouf?").answered
    if how == signal.SIGINT:  # a clean interrupt removes its half-written generation itself
        assert not list(index.glob("g*" + TMP_SUFFIX))
    report = build_index(
        corpus, index, engine_settings.model_copy(update={"batch_size": 256}), encoder=encoder
    )
    assert report.wrote and report.documents == 125
    assert not list(index.glob("g*" + TMP_SUFFIX))
