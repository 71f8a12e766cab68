"""Reading the SQLite store: rows by position, documents, full-text matches, term statistics.

Lookups by position go in chunks of ``store.IN_CHUNK`` (SQLite's limit on host parameters).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from retrieval.index.rows import DocumentRow, PassageRow, SentenceRow, TermFacts
from retrieval.index.store import IN_CHUNK, pages_of
from retrieval.types import Document, Source, Span


def fts_query(terms: Sequence[str]) -> str:
    """An FTS5 OR-query of quoted terms: operators and syntax in the input are inert."""
    return " OR ".join('"' + term.replace('"', "") + '"' for term in terms if term.replace('"', ""))


def _chunks(values: Sequence[int]) -> Iterable[Sequence[int]]:
    for at in range(0, len(values), IN_CHUNK):
        yield values[at : at + IN_CHUNK]


def sentence_rows(conn: sqlite3.Connection, positions: Sequence[int]) -> list[SentenceRow]:
    """The live sentences among ``positions`` (absent ones are skipped), in no set order."""
    return _rows_in(conn, "sentences", SentenceRow, positions)


def passage_rows(conn: sqlite3.Connection, positions: Sequence[int]) -> list[PassageRow]:
    """The live passages among ``positions``."""
    return _rows_in(conn, "passages", PassageRow, positions)


def _rows_in(conn: sqlite3.Connection, table: str, row: Any, positions: Sequence[int]) -> list[Any]:
    """Rows of ``table`` at ``positions`` as ``row`` tuples (its fields name the columns)."""
    columns = ", ".join(row._fields)
    rows: list[Any] = []
    for chunk in _chunks(positions):
        marks = ",".join("?" * len(chunk))
        query = f"SELECT {columns} FROM {table} WHERE pos IN ({marks})"
        rows.extend(map(row._make, conn.execute(query, tuple(chunk))))
    return rows


_DOC_COLUMNS = (
    "idx, id, title, date, url, chars, first_sentence, sentence_count, first_passage, "
    "passage_count, pages"
)


def _document_row(row: Sequence[object]) -> DocumentRow:
    idx, doc_id, title, date, url, chars, s0, ns, p0, np_, pages = row
    return DocumentRow(
        idx=int(idx),  # type: ignore[call-overload]
        source=Source(id=str(doc_id), title=title, date=date, url=url),  # type: ignore[arg-type]
        chars=int(chars),  # type: ignore[call-overload]
        first_sentence=int(s0),  # type: ignore[call-overload]
        sentence_count=int(ns),  # type: ignore[call-overload]
        first_passage=int(p0),  # type: ignore[call-overload]
        passage_count=int(np_),  # type: ignore[call-overload]
        pages=pages_of(pages),
    )


def document_rows(conn: sqlite3.Connection, indexes: Sequence[int]) -> list[DocumentRow]:
    """Documents by their ``idx``."""
    rows: list[DocumentRow] = []
    for chunk in _chunks(indexes):
        marks = ",".join("?" * len(chunk))
        rows.extend(
            _document_row(row)
            for row in conn.execute(
                f"SELECT {_DOC_COLUMNS} FROM documents WHERE idx IN ({marks})", tuple(chunk)
            )
        )
    return rows


def document_by_id(conn: sqlite3.Connection, doc_id: str) -> DocumentRow | None:
    row = conn.execute(f"SELECT {_DOC_COLUMNS} FROM documents WHERE id = ?", (doc_id,)).fetchone()
    return None if row is None else _document_row(row)


def document_with_text(conn: sqlite3.Connection, text: str) -> DocumentRow | None:
    """A document whose stored text is ``text`` exactly (only those of its length are read)."""
    row = conn.execute(
        f"SELECT {_DOC_COLUMNS} FROM documents WHERE chars = ? AND text = ? ORDER BY id LIMIT 1",
        (len(text), text),
    ).fetchone()
    return None if row is None else _document_row(row)


def document_with_url(conn: sqlite3.Connection, urls: Sequence[str]) -> DocumentRow | None:
    """A document cited with one of ``urls``."""
    for url in urls:
        row = conn.execute(
            f"SELECT {_DOC_COLUMNS} FROM documents WHERE url = ? ORDER BY id LIMIT 1", (url,)
        ).fetchone()
        if row is not None:
            return _document_row(row)
    return None


def all_documents(conn: sqlite3.Connection, *, limit: int | None = None) -> list[DocumentRow]:
    """Every document (or the first ``limit``), in id order."""
    sql = f"SELECT {_DOC_COLUMNS} FROM documents ORDER BY id"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return [_document_row(row) for row in conn.execute(sql)]


def document_text(conn: sqlite3.Connection, idx: int) -> str | None:
    row = conn.execute("SELECT text FROM documents WHERE idx = ?", (idx,)).fetchone()
    return None if row is None else str(row[0])


def stored_document(conn: sqlite3.Connection, idx: int) -> tuple[Document, str, str | None]:
    """A document as it was read (text, citation, spans, pages), its hash and source file."""
    doc_id, text, title, date, url, indexable, pages, digest, source_file = conn.execute(
        "SELECT id, text, title, date, url, indexable, pages, content_hash, source_file "
        "FROM documents WHERE idx = ?",
        (idx,),
    ).fetchone()
    spans = tuple(Span(start=s, end=e) for s, e in json.loads(indexable or "[]"))
    document = Document(
        id=doc_id,
        text=text,
        title=title,
        date=date,
        url=url,
        indexable=spans,
        pages=pages_of(pages),
    )
    return document, digest, source_file


def document_indexes(conn: sqlite3.Connection) -> list[int]:
    """Every document's ``idx`` in position order."""
    return [int(r[0]) for r in conn.execute("SELECT idx FROM documents ORDER BY first_sentence")]


def live_positions(conn: sqlite3.Connection, table: str) -> list[int]:
    """Positions of every live sentence or passage, ascending."""
    if table not in {"sentences", "passages"}:
        raise ValueError(table)
    return [int(r[0]) for r in conn.execute(f"SELECT pos FROM {table} ORDER BY pos")]


def lexical(
    conn: sqlite3.Connection, table: str, fts_query: str, limit: int
) -> list[tuple[int, float]]:
    """BM25 search of ``table`` ("sentences" or "passages"): ``(position, score)`` best first."""
    if table not in {"sentences", "passages"}:
        raise ValueError(table)
    if not fts_query:
        return []
    rows = conn.execute(
        f"SELECT rowid, -bm25({table}_fts) FROM {table}_fts WHERE {table}_fts MATCH ? "
        f"ORDER BY bm25({table}_fts) LIMIT ?",
        (fts_query, limit),
    ).fetchall()
    return [(int(pos), float(score)) for pos, score in rows]


def postings(conn: sqlite3.Connection, table: str, fts_query: str) -> np.ndarray:
    """Positions of the rows of ``table`` ("sentences" or "passages") that match ``fts_query``.

    Without ranking FTS5 only walks its posting lists; ``bm25()`` also reads every matching
    row's length, which costs about four times as much. The positions come back as one
    string built inside SQLite: stepping a cursor row by row from Python cost three times as
    much again (measured at a million sentences).
    """
    if table not in {"sentences", "passages"}:
        raise ValueError(table)
    if not fts_query:
        return np.zeros(0, dtype=np.int64)
    (found,) = conn.execute(
        f"SELECT group_concat(rowid, ' ') FROM {table}_fts WHERE {table}_fts MATCH ?",
        (fts_query,),
    ).fetchone()
    if not found:
        return np.zeros(0, dtype=np.int64)
    return np.fromstring(found, dtype=np.int64, sep=" ")


def term_frequencies(conn: sqlite3.Connection, terms: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Sentence and passage document frequency of each of ``terms`` that the store holds."""
    found: dict[str, tuple[int, int]] = {}
    for at in range(0, len(terms), IN_CHUNK):
        chunk = list(terms[at : at + IN_CHUNK])
        marks = ",".join("?" * len(chunk))
        for term, s, p in conn.execute(
            f"SELECT term, sentences, passages FROM term_df WHERE term IN ({marks})", chunk
        ):
            found[str(term)] = (int(s), int(p))
    return found


def terms_with_prefix(conn: sqlite3.Connection, prefix: str, *, longest: int) -> list[str]:
    """Stored terms that start with ``prefix`` and are at most ``longest`` characters long."""
    return [
        str(r[0])
        for r in conn.execute(
            "SELECT term FROM term_df WHERE term >= ? AND term < ? AND length(term) <= ? "
            "AND passages > 0",
            (prefix, prefix + "\U0010ffff", longest),
        )
    ]


def acronyms_for(
    conn: sqlite3.Connection, stems: Sequence[str]
) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Acronyms relevant to question ``stems``.

    Returns (stem -> acronyms whose long name holds that stem, stem -> long-name stems of the
    acronym the stem spells).
    """
    by_term: dict[str, set[str]] = {}
    by_key: dict[str, set[str]] = {}
    if not stems:
        return by_term, by_key
    marks = ",".join("?" * len(stems))
    for term, acronym in conn.execute(
        f"SELECT DISTINCT term, acronym FROM acronyms WHERE term IN ({marks})", tuple(stems)
    ):
        by_term.setdefault(term, set()).add(acronym)
    for key, term in conn.execute(
        f"SELECT DISTINCT key, term FROM acronyms WHERE key IN ({marks})", tuple(stems)
    ):
        by_key.setdefault(key, set()).add(term)
    return by_term, by_key


def term_facts(conn: sqlite3.Connection, stems: Sequence[str]) -> dict[str, TermFacts]:
    """What the store says of each of ``stems`` (one it never saw has frequencies of 0)."""
    df = term_frequencies(conn, stems)
    by_term, by_key = acronyms_for(conn, stems)
    return {
        s: TermFacts(df.get(s, (0, 0)), frozenset(by_term.get(s, ())), frozenset(by_key.get(s, ())))
        for s in stems
    }
