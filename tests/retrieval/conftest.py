"""Small real parts for the stages' unit tests, built in a temporary folder.

``store_of`` writes documents into a real SQLite store through the indexer's own preparation
(segmenting, terms, acronyms), without vectors. ``index_of`` builds a real index with the real
model and opens it as answering does (once per run for the same documents).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from embeddings import Encoder
from retrieval.config import EngineSettings
from retrieval.index import store, store_write
from retrieval.index.build import build_index
from retrieval.index.build_embed import prepare_document
from retrieval.index.loaded import LoadedIndex
from retrieval.read.readers import content_hash
from retrieval.split.terms import acronym_key
from retrieval.types import Document


@pytest.fixture
def store_of(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], sqlite3.Connection]]:
    """A function writing ``{id: text}`` into a fresh store (closed after the test)."""
    connections: list[sqlite3.Connection] = []

    def write(texts: dict[str, str]) -> sqlite3.Connection:
        conn = store.connect(tmp_path / f"store{len(connections)}.sqlite3")
        connections.append(conn)
        items = [
            prepare_document(doc, content_hash(doc), None, 6, print)
            for doc in (Document(id=i, text=t) for i, t in texts.items())
        ]
        keys = {a: acronym_key(a) for item in items for a, _ in item.acronyms}
        store_write.insert_documents(conn, items, acronym_key=keys)
        return conn

    yield write
    for conn in connections:
        conn.close()


@pytest.fixture(scope="session")
def index_of(
    tmp_path_factory: pytest.TempPathFactory, engine_settings: EngineSettings, encoder: Encoder
) -> Iterator[Callable[[Sequence[Document]], LoadedIndex]]:
    """A function building ``documents`` into a real index and opening it, once per run.

    The same documents give the same opened index: treat it as read-only.
    """
    opened: dict[tuple[tuple[str, str, str | None], ...], LoadedIndex] = {}

    def build(documents: Sequence[Document]) -> LoadedIndex:
        key = tuple((d.id, d.text, d.title) for d in documents)
        if key not in opened:
            index_dir = tmp_path_factory.mktemp("index")
            build_index(list(documents), index_dir, engine_settings, encoder=encoder)
            opened[key] = LoadedIndex.open(index_dir, engine_settings, encoder=encoder)
        return opened[key]

    yield build
    for index in opened.values():
        index.close()
