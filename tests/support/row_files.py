"""Checks of an index's row files against its SQLite store."""

from __future__ import annotations

import contextlib
from pathlib import Path

from retrieval.index import manifest as mf
from retrieval.index import row_files, store, store_read


def generation(index: Path) -> Path:
    return index / mf.read(index).generation


def assert_files_match_store(index: Path) -> None:
    """Every position (and a few past either end) gives the same rows from both."""
    folder = generation(index)
    with contextlib.closing(store.connect(folder / store.STORE_FILE, readonly=True)) as conn:
        current = store.stats(conn)
        files = row_files.open_files(conn, folder, current)
        assert files is not None
        sentences = list(range(-2, current.sentence_rows + 3))
        passages = list(range(-2, current.passage_rows + 3))
        assert sorted(files.sentences(sentences)) == sorted(
            store_read.sentence_rows(conn, sentences)
        )
        assert sorted(files.passages(passages)) == sorted(store_read.passage_rows(conn, passages))
        assert len(files.sentences(sentences)) == current.sentences
    for kind, rows in (("sentences", current.sentence_rows), ("passages", current.passage_rows)):
        assert row_files.fields_path(folder, kind).stat().st_size == rows * row_files.RECORD_BYTES
