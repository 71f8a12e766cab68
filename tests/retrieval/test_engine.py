"""The engine the faces hold: it follows rebuilds and reports a damaged store, across threads."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

from embeddings import Encoder
from retrieval.config import EngineSettings
from retrieval.engine import Engine
from retrieval.errors import IndexCorruptError, StoreUnavailableError
from retrieval.index import manifest as mf
from retrieval.index import row_files, store
from retrieval.index.build import build_index
from tests.support.milvus import MilvusServer

REPO = Path(__file__).resolve().parents[2]
QUESTION = "Who is Lynn Maalouf?"


@pytest.fixture
def index(tmp_path: Path, seeds_index: Path) -> Path:
    """A copy of the seeds index that a test may rebuild or damage."""
    copy = tmp_path / "index"
    shutil.copytree(seeds_index, copy)
    return copy


def use_everything(engine: Engine) -> None:
    """Every call a face makes, each of which opens this thread's store connection."""
    answer = engine.answer(QUESTION)
    assert answer.answered
    quote = answer.quotes[0]
    extract = engine.context(quote.source.id, quote.start, quote.end)
    assert quote.text in extract.text
    assert len(engine.sources()) == 5
    assert engine.info().documents == 5
    assert engine.example_questions()


def test_engine_follows_two_rebuilds_in_old_and_new_threads(
    index: Path, engine_settings: EngineSettings, encoder: Encoder
) -> None:
    # Reported: "unable to open database file" after two rebuilds by another process, as only
    # one old generation is kept and each thread opens its connection lazily.
    engine = Engine.open(index, engine_settings, encoder=encoder)
    with ThreadPoolExecutor(max_workers=1) as used:
        used.submit(use_everything, engine).result()  # this thread holds a connection now
        first = mf.read(index).generation
        for _ in range(2):
            build_index(REPO / "seeds", index, engine_settings, encoder=encoder, rebuild=True)
        assert not (index / first).exists()  # the generation the engine opened is gone
        with ThreadPoolExecutor(max_workers=1) as fresh:
            fresh.submit(use_everything, engine).result()
        used.submit(use_everything, engine).result()
    assert engine.index.manifest.generation == mf.read(index).generation


def _damage(index: Path, statement: str, *, loosen: tuple[str, str] | None = None) -> None:
    path = next(index.glob(f"g*/{store.STORE_FILE}"))
    with sqlite3.connect(path, isolation_level=None) as conn:
        if loosen is not None:  # drop a NOT NULL, as a hand edit of the file could
            table, column = loosen
            sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,))
            loose = sql.fetchone()[0].replace(f"{column} INTEGER NOT NULL", f"{column} INTEGER")
            conn.execute("PRAGMA writable_schema=ON")
            conn.execute("UPDATE sqlite_master SET sql = ? WHERE name = ?", (loose, table))
    conn.close()
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.execute(statement)
    conn.close()


@pytest.mark.parametrize(
    ("statement", "loosen", "expected"),
    [
        ("DROP TABLE sentences_fts", None, "sentences_fts"),
        ("UPDATE documents SET first_sentence = NULL", ("documents", "first_sentence"), "lacks"),
    ],
    ids=["dropped-fts", "null-first-sentence"],
)
def test_running_engine_reports_a_store_damaged_under_it(
    index: Path,
    engine_settings: EngineSettings,
    encoder: Encoder,
    statement: str,
    loosen: tuple[str, str] | None,
    expected: str,
) -> None:
    engine = Engine.open(index, engine_settings, encoder=encoder)
    _damage(index, statement, loosen=loosen)
    with pytest.raises(IndexCorruptError) as caught:
        engine.answer(QUESTION)
    assert expected in caught.value.message and "--rebuild" in caught.value.message


def _garble_splits(folder: Path) -> None:
    path = row_files.fields_path(folder, "sentences")
    records = np.fromfile(path, dtype="<i8").reshape(-1, row_files.FIELDS)
    records[:, 5] = 1 << 40  # every text longer than its strings
    with path.open("r+b") as handle:  # in place: the running engine maps this file
        handle.write(records.tobytes())


def _garble_strings(folder: Path) -> None:
    path = row_files.strings_path(folder, "passages")
    with path.open("r+b") as handle:
        handle.write(b"\xff" * path.stat().st_size)


@pytest.mark.parametrize(
    ("damage", "expected"),
    [(_garble_splits, "does not fit its strings"), (_garble_strings, "is not UTF-8")],
    ids=["sentence-records", "passage-strings"],
)
def test_running_engine_reports_row_files_damaged_under_it(
    index: Path,
    engine_settings: EngineSettings,
    encoder: Encoder,
    damage: Callable[[Path], None],
    expected: str,
) -> None:
    engine = Engine.open(index, engine_settings, encoder=encoder)
    damage(index / mf.read(index).generation)
    with pytest.raises(IndexCorruptError) as caught:
        engine.answer(QUESTION)
    assert expected in caught.value.message and "--rebuild" in caught.value.message


def test_context_keeps_its_contract_errors(seeds_engine: Engine) -> None:
    with pytest.raises(KeyError):
        seeds_engine.context("no-such-article.txt", 0, 10)
    doc = seeds_engine.sources()[0].source.id
    with pytest.raises(ValueError, match="holds no sentence"):
        seeds_engine.context(doc, 10**9, 10**9 + 1)


def _deleted_files_held(index: Path) -> list[str]:
    """Files of this process under ``index`` that were deleted while still open."""
    held = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = str(fd.readlink())
        except OSError:
            continue
        if target.startswith(str(index)) and target.endswith("(deleted)"):
            held.append(target)
    return held


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_a_running_engine_lets_go_of_deleted_generations(
    index: Path, engine_settings: EngineSettings, encoder: Encoder
) -> None:
    # A long-running bot kept every replaced generation's store and vector files open, so
    # the disk space of deleted generations was never freed.
    engine = Engine.open(index, engine_settings, encoder=encoder)
    try:
        for _ in range(3):
            assert engine.answer(QUESTION).answered
            build_index(REPO / "seeds", index, engine_settings, encoder=encoder, rebuild=True)
        assert engine.answer(QUESTION).answered
        assert _deleted_files_held(index) == []
    finally:
        engine.close()


class _KillingEncoder:
    """The real encoder, but the first question it encodes kills the Milvus server first.

    The engine has looked at the index by then, so the store fails in the middle of an answer.
    """

    def __init__(self, real: Encoder, server: MilvusServer) -> None:
        self._real = real
        self._server = server
        self.armed = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def encode_one(self, text: str) -> Any:
        if self.armed:
            self.armed = False
            self._server.kill()
        return self._real.encode_one(text)


@pytest.mark.slow
def test_an_unreachable_store_is_not_damage_and_comes_back(
    seeds_index: Path, mirrored_seeds: EngineSettings, encoder: Encoder, milvus_server: MilvusServer
) -> None:
    """Milvus killed mid-answer: "cannot reach" (not "damaged, rebuild"); restarted: answers."""
    killing = _KillingEncoder(encoder, milvus_server)
    engine = Engine.open(seeds_index, mirrored_seeds, encoder=cast(Encoder, killing))
    try:
        with pytest.raises(StoreUnavailableError) as caught:
            engine.answer(QUESTION)
        assert not killing.armed  # it died mid-answer, after the engine looked at the index
        assert "Cannot reach the Milvus server" in caught.value.message
        assert "--rebuild" not in caught.value.message
        for call in (engine.sources, engine.info, lambda: engine.answer(QUESTION)):
            with pytest.raises(StoreUnavailableError):
                call()
        milvus_server.start()  # same port, same data: its collections come back released
        use_everything(engine)
    finally:
        engine.close()


def test_a_ranker_trained_for_another_model_gives_way_to_the_hand_formula(
    seeds_index: Path,
    engine_settings: EngineSettings,
    encoder: Encoder,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Dense similarities of another model have another scale: its index is ranked by hand."""
    import json

    from retrieval.search.ranker import MODEL_PATH

    data = json.loads(MODEL_PATH.read_text())
    data["encoder"] = {**data["encoder"], "name": "some-other-model", "fingerprint": "0" * 16}
    other = tmp_path / "other.json"
    other.write_text(json.dumps(data))
    own = Engine.open(seeds_index, engine_settings, encoder=encoder)
    foreign = Engine.open(
        seeds_index, engine_settings.model_copy(update={"ranker": str(other)}), encoder=encoder
    )
    questions = ["Who is Lynn Maalouf?", "How long did the battle for Mosul last?"]
    with caplog.at_level("WARNING", logger="retrieval.engine"):
        for question in questions:
            assert foreign.answer(question) == own.answer(question, retriever="hand")
            assert own.answer(question) != own.answer(question, retriever="hand")
    told = [r for r in caplog.records if "some-other-model" in r.getMessage()]
    assert len(told) == 1 and "VERBATIM_RANKER" in told[0].getMessage()
    assert foreign.decline_threshold("hybrid") == own.decline_threshold("hand") == 0.32
    assert own.decline_threshold("hybrid") == pytest.approx(data["min_relevance"])
    assert own.decline_threshold("dense") == float("-inf")
