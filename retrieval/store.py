"""The SQLite half of an index: documents, sentences, passages, their vectors and FTS5 tables.

Vectors are kept as float32 blobs beside their rows so an incremental build re-uses them
for unchanged documents; the FAISS files are rebuilt from them. ``position`` numbers sentences
(and passages) 0..n-1 in (document id, ordinal) order: it is the row of the FAISS index.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.types import Document, Passage, Sentence, Source

STORE_FILE = "store.sqlite3"
#: Porter stemming plus Unicode folding: "declared" matches "declare", "Mosul" matches "mosul".
FTS_TOKENIZER = "porter unicode61 remove_diacritics 2"
DF_CACHE_SIZE = 100_000

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    title TEXT,
    date TEXT,
    url TEXT,
    content_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sentences (
    doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    passage INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    position INTEGER,
    vector BLOB NOT NULL,
    PRIMARY KEY (doc_id, ordinal)
);
CREATE TABLE IF NOT EXISTS passages (
    doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    first_sentence INTEGER NOT NULL,
    last_sentence INTEGER NOT NULL,
    position INTEGER,
    vector BLOB NOT NULL,
    PRIMARY KEY (doc_id, ordinal)
);
CREATE VIRTUAL TABLE IF NOT EXISTS sentences_fts USING fts5(text, tokenize='{FTS_TOKENIZER}');
CREATE VIRTUAL TABLE IF NOT EXISTS passages_fts USING fts5(text, tokenize='{FTS_TOKENIZER}');
"""


@dataclass(frozen=True)
class StoredDocument:
    """A document row without its vectors."""

    document: Document
    content_hash: str


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """Open the store; read-only connections may be used from any thread (one per thread)."""
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    else:
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.executescript(_SCHEMA)
    return conn


def document_hashes(conn: sqlite3.Connection) -> dict[str, str]:
    """Map every stored document id to its content hash."""
    return dict(conn.execute("SELECT id, content_hash FROM documents"))


def delete_documents(conn: sqlite3.Connection, doc_ids: Iterable[str]) -> None:
    """Remove documents with their sentences, passages and full-text rows."""
    for doc_id in doc_ids:
        for table in ("sentences", "passages"):
            conn.execute(
                f"DELETE FROM {table}_fts WHERE rowid IN "
                f"(SELECT rowid FROM {table} WHERE doc_id = ?)",
                (doc_id,),
            )
            conn.execute(f"DELETE FROM {table} WHERE doc_id = ?", (doc_id,))
        conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,))


def insert_document(
    conn: sqlite3.Connection,
    document: Document,
    content_hash: str,
    sentences: Sequence[Sentence],
    passages: Sequence[Passage],
    sentence_vectors: np.ndarray,
    passage_vectors: np.ndarray,
) -> None:
    """Store one document with its sentences, passages, vectors and full-text rows."""
    conn.execute(
        "INSERT INTO documents (id, text, title, date, url, content_hash) VALUES (?,?,?,?,?,?)",
        (document.id, document.text, document.title, document.date, document.url, content_hash),
    )
    for sentence, vector in zip(sentences, sentence_vectors, strict=True):
        cur = conn.execute(
            "INSERT INTO sentences (doc_id, ordinal, passage, start, end, vector) "
            "VALUES (?,?,?,?,?,?)",
            (
                document.id,
                sentence.ordinal,
                sentence.passage,
                sentence.start,
                sentence.end,
                vector.astype(np.float32).tobytes(),
            ),
        )
        conn.execute(
            "INSERT INTO sentences_fts (rowid, text) VALUES (?, ?)", (cur.lastrowid, sentence.text)
        )
    for passage, vector in zip(passages, passage_vectors, strict=True):
        cur = conn.execute(
            "INSERT INTO passages (doc_id, ordinal, start, end, first_sentence, last_sentence, "
            "vector) VALUES (?,?,?,?,?,?,?)",
            (
                document.id,
                passage.ordinal,
                passage.start,
                passage.end,
                passage.first_sentence,
                passage.last_sentence,
                vector.astype(np.float32).tobytes(),
            ),
        )
        conn.execute(
            "INSERT INTO passages_fts (rowid, text) VALUES (?, ?)",
            (cur.lastrowid, document.text[passage.start : passage.end]),
        )


def renumber(conn: sqlite3.Connection) -> None:
    """Give sentences and passages contiguous positions in (doc id, ordinal) order."""
    for table in ("sentences", "passages"):
        conn.execute(
            f"UPDATE {table} SET position = ranked.pos FROM ("
            f"  SELECT rowid AS rid, ROW_NUMBER() OVER (ORDER BY doc_id, ordinal) - 1 AS pos"
            f"  FROM {table}) AS ranked WHERE {table}.rowid = ranked.rid"
        )


def load_vectors(conn: sqlite3.Connection, table: str, dimension: int) -> np.ndarray:
    """All vectors of ``table`` ("sentences" or "passages") in position order."""
    rows = conn.execute(f"SELECT vector FROM {table} ORDER BY position").fetchall()
    if not rows:
        return np.zeros((0, dimension), dtype=np.float32)
    return np.frombuffer(b"".join(row[0] for row in rows), dtype=np.float32).reshape(
        len(rows), dimension
    )


class ReadStore:
    """Read-only access for answering: one SQLite connection per thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._df: dict[tuple[str, str], int] = {}

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, readonly=True)
            self._local.conn = conn
        return conn

    def lexical(self, table: str, fts_query: str, limit: int) -> list[tuple[int, float]]:
        """BM25 search: ``(position, score)`` best first, higher is better."""
        if not fts_query:
            return []
        rows = self.conn.execute(
            f"SELECT t.position, -bm25({table}_fts) AS score FROM {table}_fts "
            f"JOIN {table} AS t ON t.rowid = {table}_fts.rowid "
            f"WHERE {table}_fts MATCH ? ORDER BY bm25({table}_fts) LIMIT ?",
            (fts_query, limit),
        ).fetchall()
        return [(int(pos), float(score)) for pos, score in rows]

    def document_frequency(self, table: str, fts_query: str) -> int:
        """How many rows of ``table`` match ``fts_query`` (cached: the store never changes)."""
        key = (table, fts_query)
        cached = self._df.get(key)
        if cached is None:
            cached = int(
                self.conn.execute(
                    f"SELECT COUNT(*) FROM {table}_fts WHERE {table}_fts MATCH ?", (fts_query,)
                ).fetchone()[0]
            )
            if len(self._df) > DF_CACHE_SIZE:
                self._df.clear()
            self._df[key] = cached
        return cached

    def lexical_for(self, table: str, fts_query: str, positions: Sequence[int]) -> dict[int, float]:
        """BM25 scores of the given positions (those matching no query term are absent)."""
        if not fts_query or not positions:
            return {}
        marks = ",".join("?" * len(positions))
        rows = self.conn.execute(
            f"SELECT t.position, -bm25({table}_fts) FROM {table}_fts "
            f"JOIN {table} AS t ON t.rowid = {table}_fts.rowid "
            f"WHERE {table}_fts MATCH ? AND t.position IN ({marks})",
            (fts_query, *positions),
        ).fetchall()
        return {int(pos): float(score) for pos, score in rows}


def load_documents(conn: sqlite3.Connection) -> list[Document]:
    """Every stored document, in id order (``indexable`` is not stored)."""
    return [
        Document(id=row[0], text=row[1], title=row[2], date=row[3], url=row[4])
        for row in conn.execute("SELECT id, text, title, date, url FROM documents ORDER BY id")
    ]


def load_sentence_table(conn: sqlite3.Connection) -> np.ndarray:
    """Sentence rows in position order as an int array: doc index, ordinal, passage, start, end.

    The doc index refers to :func:`load_documents` order (document ids sorted).
    """
    rows = conn.execute(
        "SELECT d.idx, s.ordinal, s.passage, s.start, s.end FROM sentences AS s "
        "JOIN (SELECT id, ROW_NUMBER() OVER (ORDER BY id) - 1 AS idx FROM documents) AS d "
        "ON d.id = s.doc_id ORDER BY s.position"
    ).fetchall()
    return np.array(rows, dtype=np.int64).reshape(len(rows), 5)


def load_passage_table(conn: sqlite3.Connection) -> np.ndarray:
    """Passage rows in position order: doc index, ordinal, start, end, first and last sentence."""
    rows = conn.execute(
        "SELECT d.idx, p.ordinal, p.start, p.end, p.first_sentence, p.last_sentence "
        "FROM passages AS p "
        "JOIN (SELECT id, ROW_NUMBER() OVER (ORDER BY id) - 1 AS idx FROM documents) AS d "
        "ON d.id = p.doc_id ORDER BY p.position"
    ).fetchall()
    return np.array(rows, dtype=np.int64).reshape(len(rows), 6)


def source_of(document: Document) -> Source:
    """The citation of a document."""
    return Source(id=document.id, title=document.title, date=document.date, url=document.url)
