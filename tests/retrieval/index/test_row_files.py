"""Row files: the same rows as the store at every position, through updates, crashes and age."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import pytest

from embeddings import Encoder
from retrieval.config import EngineSettings
from retrieval.engine import Engine
from retrieval.index import manifest as mf
from retrieval.index import row_files, store, store_read
from retrieval.index.build import build_index
from retrieval.index.rows import PassageRow, SentenceRow
from tests.support.row_files import assert_files_match_store, generation

REPO = Path(__file__).resolve().parents[3]
QUESTION = "Who is Lynn Maalouf?"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(REPO / "seeds", folder)
    return folder


def test_rows_match_the_store_through_changes_removals_and_additions(
    corpus: Path, tmp_path: Path, engine_settings: EngineSettings, encoder: Encoder
) -> None:
    index = tmp_path / "index"
    build_index(corpus, index, engine_settings, encoder=encoder)
    assert_files_match_store(index)
    files = sorted(corpus.glob("*.txt"))
    files[1].write_text(files[1].read_text() + "\nThe river Tigris flows through the city.\n")
    files[0].unlink()
    (corpus / "new.md").write_text("# Pancakes\n\nMix flour, eggs and milk. Fry them in butter.\n")
    report = build_index(corpus, index, engine_settings, encoder=encoder)
    assert report.updated and report.removed and report.added
    assert_files_match_store(index)  # the removed rows are gone from both
    engine = Engine.open(index, engine_settings, encoder=encoder)
    assert engine.answer("How do you make pancakes?").quotes[0].source.id == "new.md"


def test_answering_reads_rows_from_the_files_not_sqlite(
    corpus: Path,
    tmp_path: Path,
    engine_settings: EngineSettings,
    encoder: Encoder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index = tmp_path / "index"
    build_index(corpus, index, engine_settings, encoder=encoder)
    before = Engine.open(index, engine_settings, encoder=encoder).answer(QUESTION)

    def refused(*_args: object) -> None:
        raise AssertionError("read from SQLite")

    monkeypatch.setattr(store_read, "sentence_rows", refused)
    monkeypatch.setattr(store_read, "passage_rows", refused)
    after = Engine.open(index, engine_settings, encoder=encoder).answer(QUESTION)
    assert after.answered and after == before


def test_a_crashed_writers_rows_are_ignored_then_cut_off(
    corpus: Path, tmp_path: Path, engine_settings: EngineSettings, encoder: Encoder
) -> None:
    index = tmp_path / "index"
    build_index(corpus, index, engine_settings, encoder=encoder)
    folder = generation(index)
    with contextlib.closing(store.connect(folder / store.STORE_FILE, readonly=True)) as conn:
        current = store.stats(conn)
    # appended, never committed: what a writer killed before its commit leaves
    row_files.append(
        folder,
        [SentenceRow(current.sentence_rows, 99, 0, current.passage_rows, 0, 5, "Ghost", " x ")],
        [PassageRow(current.passage_rows, 99, 0, 0, 5, current.sentence_rows, 0, " x ")],
    )
    engine = Engine.open(index, engine_settings, encoder=encoder)
    assert engine.answer(QUESTION).answered
    (corpus / "new.md").write_text("# Pancakes\n\nMix flour, eggs and milk. Fry them in butter.\n")
    build_index(corpus, index, engine_settings, encoder=encoder)
    assert_files_match_store(index)
    assert engine.answer("How do you make pancakes?").quotes[0].source.id == "new.md"


def test_a_store_made_before_row_files_is_read_from_sqlite(
    corpus: Path, tmp_path: Path, engine_settings: EngineSettings, encoder: Encoder
) -> None:
    index = tmp_path / "index"
    build_index(corpus, index, engine_settings, encoder=encoder)
    before = Engine.open(index, engine_settings, encoder=encoder).answer(QUESTION)
    folder = generation(index)
    with contextlib.closing(store.connect(folder / store.STORE_FILE)) as conn:
        conn.execute("DELETE FROM meta WHERE key = ?", (row_files.META_KEY,))
    for kind in row_files.KINDS:
        row_files.fields_path(folder, kind).unlink()
        row_files.strings_path(folder, kind).unlink()
    engine = Engine.open(index, engine_settings, encoder=encoder)
    assert engine.answer(QUESTION) == before
    assert engine.index.state.rows is None  # read from SQLite


def test_an_update_gives_an_older_store_its_row_files_gaps_included(
    corpus: Path, tmp_path: Path, engine_settings: EngineSettings, encoder: Encoder
) -> None:
    index = tmp_path / "index"
    build_index(corpus, index, engine_settings, encoder=encoder)
    files = sorted(corpus.glob("*.txt"))
    files[0].unlink()  # a gap at the start
    files[-1].unlink()  # and one at the end
    build_index(corpus, index, engine_settings, encoder=encoder)
    before = Engine.open(index, engine_settings, encoder=encoder).answer(QUESTION)
    folder = generation(index)
    with contextlib.closing(store.connect(folder / store.STORE_FILE)) as conn:
        conn.execute("DELETE FROM meta WHERE key = ?", (row_files.META_KEY,))
        conn.execute("DELETE FROM removed_rows")  # as a store made before row files
    for kind in row_files.KINDS:
        row_files.fields_path(folder, kind).write_bytes(b"left by a crashed copy")
    lines: list[str] = []
    report = build_index(corpus, index, engine_settings, encoder=encoder, log=lines.append)
    assert not report.added and not report.updated  # nothing embedded
    assert any("wrote the row files" in line for line in lines)
    assert mf.read(index).generation == folder.name
    assert_files_match_store(index)  # the removed documents' rows are absent from both
    engine = Engine.open(index, engine_settings, encoder=encoder)
    assert engine.index.state.rows is not None
    assert engine.answer(QUESTION) == before
    lines.clear()
    build_index(corpus, index, engine_settings, encoder=encoder, log=lines.append)
    assert not any("wrote the row files" in line for line in lines)  # once
    with contextlib.closing(store.connect(folder / store.STORE_FILE)) as conn:
        conn.execute("DELETE FROM removed_rows")
    assert_files_match_store(index)  # a gap's empty record is never a row, ranges or not
