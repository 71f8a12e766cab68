"""The SQLite half of an index: documents, sentences, passages, term statistics, full text.

One ``store.sqlite3`` per generation, in WAL mode and changed in place by transactions, so an
update costs time in proportion to what changed and a crash leaves the last commit whole.
``pos`` numbers sentences (and passages) in the order they were added; it is also the row of
their vector in the vector files (see ``retrieval.index.vectors``). A document's sentences and
passages have consecutive positions. Positions are never reused: a removed document leaves a
gap until the index is compacted into a new generation.

What ranking needs is stored at build time (each sentence's and passage's stemmed terms, the
document frequency of every term, the acronyms the articles define), so opening an index reads
nothing in proportion to its size.
"""

from __future__ import annotations

import json
import sqlite3
import urllib.parse
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from retrieval.types import Document, Passage, Sentence, Source, Span

STORE_FILE = "store.sqlite3"
#: Porter stemming plus Unicode folding: "declared" matches "declare", "Mosul" matches "mosul".
FTS_TOKENIZER = "porter unicode61 remove_diacritics 2"
#: SQLite limits host parameters per statement; lookups by position go in chunks this long.
IN_CHUNK = 500
#: Page cache per connection (negative: KiB). Small: the OS page cache does the real work.
CACHE_KIB = 16_384

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS documents (
    idx INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    text TEXT NOT NULL,
    title TEXT,
    date TEXT,
    url TEXT,
    indexable TEXT NOT NULL DEFAULT '',
    pages TEXT NOT NULL DEFAULT '',
    content_hash TEXT NOT NULL,
    source_file TEXT,
    chars INTEGER NOT NULL,
    first_sentence INTEGER NOT NULL,
    sentence_count INTEGER NOT NULL,
    first_passage INTEGER NOT NULL,
    passage_count INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_by_file ON documents(source_file);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sentences (
    pos INTEGER PRIMARY KEY,
    doc INTEGER NOT NULL,
    ordinal INTEGER NOT NULL,
    passage INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    text TEXT NOT NULL,
    terms TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS passages (
    pos INTEGER PRIMARY KEY,
    doc INTEGER NOT NULL,
    ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    first INTEGER NOT NULL,
    last INTEGER NOT NULL,
    terms TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS term_df (
    term TEXT PRIMARY KEY,
    sentences INTEGER NOT NULL,
    passages INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS acronyms (
    doc INTEGER NOT NULL,
    acronym TEXT NOT NULL,
    key TEXT NOT NULL,
    term TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS acronyms_by_term ON acronyms(term);
CREATE INDEX IF NOT EXISTS acronyms_by_key ON acronyms(key);
CREATE INDEX IF NOT EXISTS acronyms_by_doc ON acronyms(doc);
CREATE VIRTUAL TABLE IF NOT EXISTS sentences_fts USING fts5(
    text, content='sentences', content_rowid='pos', tokenize='{FTS_TOKENIZER}'
);
CREATE VIRTUAL TABLE IF NOT EXISTS passages_fts USING fts5(
    text, content='', tokenize='{FTS_TOKENIZER}'
);
"""

#: Counters kept in ``meta``: rows ever given out (= vector rows) and live rows.
META_KEYS = (
    "version",
    "sentence_rows",
    "passage_rows",
    "documents",
    "sentences",
    "passages",
)


def term_string(terms: frozenset[str] | set[str]) -> str:
    """How a row's terms are kept: sorted, space-separated, with a space at either end.

    Answering tests a term with ``f" {term} " in terms``: no parsing of the hundreds of rows
    it scores.
    """
    return " " + " ".join(sorted(terms)) + " "


def term_set(terms: str) -> frozenset[str]:
    """The terms of a string made by :func:`term_string`."""
    return frozenset(terms.split())


class SentenceRow(NamedTuple):
    """A stored sentence: ``text == document text[start:end]``; ``passage`` is a position.

    ``terms`` is a :func:`term_string`. A named tuple: answering reads hundreds per question.
    """

    pos: int
    doc: int
    ordinal: int
    passage: int
    start: int
    end: int
    text: str
    terms: str


class PassageRow(NamedTuple):
    """A stored passage: sentences ``first..last`` (positions) of one document."""

    pos: int
    doc: int
    ordinal: int
    start: int
    end: int
    first: int
    last: int
    terms: str


@dataclass(frozen=True)
class DocumentRow:
    """A stored document without its text (read on demand); ``pages`` as in ``Document``."""

    idx: int
    source: Source
    chars: int
    first_sentence: int
    sentence_count: int
    first_passage: int
    passage_count: int
    pages: tuple[int, ...] = ()


@dataclass(frozen=True)
class Stats:
    """The counters of a store (see ``META_KEYS``)."""

    version: int = 0
    sentence_rows: int = 0
    passage_rows: int = 0
    documents: int = 0
    sentences: int = 0
    passages: int = 0


def _uri(path: Path, mode: str) -> str:
    # A folder may be called "a#b?c%d": without quoting, SQLite would read those as URI syntax.
    return f"file:{urllib.parse.quote(str(path.resolve()))}?mode={mode}"


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """Open the store (creating it when writable); WAL so readers never wait for a writer."""
    if readonly:
        conn = sqlite3.connect(
            _uri(path, "ro"), uri=True, check_same_thread=False, isolation_level=None
        )
    else:
        conn = sqlite3.connect(_uri(path, "rwc"), uri=True, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.executescript(_SCHEMA)
        _migrate(conn)
    conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    return conn


#: Columns added since schema version 2, with their definitions: a store written before them
#: gets them on its first writable connection (``ALTER TABLE`` changes no existing row).
ADDED_COLUMNS = (("documents", "pages", "TEXT NOT NULL DEFAULT ''"),)


def _migrate(conn: sqlite3.Connection) -> None:
    """Add the columns a store made by an earlier Verbatim lacks (see ``manifest``)."""
    for table, column, definition in ADDED_COLUMNS:
        present = {str(row[1]) for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")


REQUIRED_TABLES = (
    "meta",
    "documents",
    "sentences",
    "passages",
    "term_df",
    "acronyms",
    "sentences_fts",
    "passages_fts",
)


def missing_tables(conn: sqlite3.Connection) -> list[str]:
    """Tables of the schema that the store lacks (a damaged or foreign file)."""
    present = {str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master")}
    return [t for t in REQUIRED_TABLES if t not in present]


def stats(conn: sqlite3.Connection) -> Stats:
    """The store's counters (all zero for a new store)."""
    marks = ",".join("?" * len(META_KEYS))
    values = {
        key: int(value)
        for key, value in conn.execute(
            f"SELECT key, value FROM meta WHERE key IN ({marks})", META_KEYS
        )
    }
    return Stats(**{key: values.get(key, 0) for key in META_KEYS})


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def set_meta(conn: sqlite3.Connection, **values: object) -> None:
    conn.executemany(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [(key, str(value)) for key, value in values.items()],
    )


# -- writing ---------------------------------------------------------------------------------


def document_hashes(conn: sqlite3.Connection) -> dict[str, str]:
    """Map every stored document id to its content hash."""
    return dict(conn.execute("SELECT id, content_hash FROM documents"))


def file_states(conn: sqlite3.Connection) -> dict[str, tuple[int, int]]:
    """Size and modification time of every corpus file read by the last build."""
    return {
        path: (int(size), int(mtime))
        for path, size, mtime in conn.execute("SELECT path, size, mtime_ns FROM files")
    }


def documents_of_files(conn: sqlite3.Connection, paths: Iterable[str]) -> dict[str, str]:
    """Document id to content hash for documents read from ``paths``."""
    found: dict[str, str] = {}
    paths = list(paths)
    for at in range(0, len(paths), IN_CHUNK):
        chunk = paths[at : at + IN_CHUNK]
        marks = ",".join("?" * len(chunk))
        found.update(
            conn.execute(
                f"SELECT id, content_hash FROM documents WHERE source_file IN ({marks})", chunk
            )
        )
    return found


def replace_files(conn: sqlite3.Connection, states: dict[str, tuple[int, int]]) -> None:
    """Record the corpus files a build read (size, mtime) so the next build can skip them."""
    conn.execute("DELETE FROM files")
    conn.executemany(
        "INSERT INTO files (path, size, mtime_ns) VALUES (?, ?, ?)",
        [(path, size, mtime) for path, (size, mtime) in states.items()],
    )


@dataclass(frozen=True)
class Removed:
    """What deleting documents freed: their vector rows, to be blanked after the commit."""

    sentence_positions: tuple[int, ...]
    passage_positions: tuple[int, ...]


def delete_documents(conn: sqlite3.Connection, doc_ids: Iterable[str]) -> Removed:
    """Remove documents with their rows, full-text entries, term counts and acronyms."""
    sentence_positions: list[int] = []
    passage_positions: list[int] = []
    df: Counter[tuple[str, int]] = Counter()
    docs = lives = 0
    live_s = live_p = 0
    for doc_id in doc_ids:
        row = conn.execute(
            "SELECT idx, text, first_sentence, sentence_count, first_passage, passage_count "
            "FROM documents WHERE id = ?",
            (doc_id,),
        ).fetchone()
        if row is None:
            continue
        idx, text, s0, ns, p0, np_ = row
        for pos, s_text, terms in conn.execute(
            "SELECT pos, text, terms FROM sentences WHERE pos BETWEEN ? AND ?", (s0, s0 + ns - 1)
        ).fetchall():
            conn.execute(
                "INSERT INTO sentences_fts (sentences_fts, rowid, text) VALUES ('delete', ?, ?)",
                (pos, s_text),
            )
            df.update((term, 0) for term in terms.split())
            sentence_positions.append(pos)
        for pos, start, end, terms in conn.execute(
            "SELECT pos, start, end, terms FROM passages WHERE pos BETWEEN ? AND ?",
            (p0, p0 + np_ - 1),
        ).fetchall():
            conn.execute(
                "INSERT INTO passages_fts (passages_fts, rowid, text) VALUES ('delete', ?, ?)",
                (pos, text[start:end]),
            )
            df.update((term, 1) for term in terms.split())
            passage_positions.append(pos)
        conn.execute("DELETE FROM sentences WHERE pos BETWEEN ? AND ?", (s0, s0 + ns - 1))
        conn.execute("DELETE FROM passages WHERE pos BETWEEN ? AND ?", (p0, p0 + np_ - 1))
        conn.execute("DELETE FROM acronyms WHERE doc = ?", (idx,))
        conn.execute("DELETE FROM documents WHERE idx = ?", (idx,))
        docs += 1
        live_s += ns
        live_p += np_
    lives = docs
    if df:
        _add_df(conn, df, sign=-1)
        conn.execute("DELETE FROM term_df WHERE sentences <= 0 AND passages <= 0")
    if lives:
        current = stats(conn)
        set_meta(
            conn,
            documents=current.documents - docs,
            sentences=current.sentences - live_s,
            passages=current.passages - live_p,
        )
    return Removed(tuple(sentence_positions), tuple(passage_positions))


def _add_df(conn: sqlite3.Connection, df: Counter[tuple[str, int]], *, sign: int) -> None:
    merged: dict[str, list[int]] = {}
    for (term, kind), count in df.items():
        merged.setdefault(term, [0, 0])[kind] += sign * count
    conn.executemany(
        "INSERT INTO term_df (term, sentences, passages) VALUES (?, ?, ?) "
        "ON CONFLICT(term) DO UPDATE SET sentences = sentences + excluded.sentences, "
        "passages = passages + excluded.passages",
        [(term, s, p) for term, (s, p) in merged.items()],
    )


@dataclass(frozen=True)
class NewDocument:
    """A document ready to store: its segmentation, the terms of each part, its acronyms."""

    document: Document
    content_hash: str
    source_file: str | None
    sentences: Sequence[Sentence]
    passages: Sequence[Passage]
    sentence_terms: Sequence[frozenset[str]]
    passage_terms: Sequence[frozenset[str]]
    #: (acronym, stemmed words of its long name) pairs the document defines.
    acronyms: Sequence[tuple[str, frozenset[str]]] = ()


def insert_documents(
    conn: sqlite3.Connection, items: Sequence[NewDocument], *, acronym_key: dict[str, str]
) -> tuple[int, int]:
    """Store documents at the next free positions; return the first sentence/passage position.

    ``acronym_key`` maps an acronym to its stemmed lower-case form (how a question spells it).
    """
    current = stats(conn)
    s_next, p_next = current.sentence_rows, current.passage_rows
    first = (s_next, p_next)
    df: Counter[tuple[str, int]] = Counter()
    n_s = n_p = 0
    for item in items:
        doc = item.document
        cur = conn.execute(
            "INSERT INTO documents (id, text, title, date, url, indexable, pages, content_hash, "
            "source_file, chars, first_sentence, sentence_count, first_passage, passage_count) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                doc.id,
                doc.text,
                doc.title,
                doc.date,
                doc.url,
                json.dumps([[s.start, s.end] for s in doc.indexable]),
                _pages_column(doc.pages),
                item.content_hash,
                item.source_file,
                len(doc.text),
                s_next,
                len(item.sentences),
                p_next,
                len(item.passages),
            ),
        )
        idx = cur.lastrowid
        conn.executemany(
            "INSERT INTO sentences (pos, doc, ordinal, passage, start, end, text, terms) "
            "VALUES (?,?,?,?,?,?,?,?)",
            [
                (
                    s_next + s.ordinal,
                    idx,
                    s.ordinal,
                    p_next + s.passage,
                    s.start,
                    s.end,
                    s.text,
                    term_string(terms),
                )
                for s, terms in zip(item.sentences, item.sentence_terms, strict=True)
            ],
        )
        conn.executemany(
            "INSERT INTO sentences_fts (rowid, text) VALUES (?, ?)",
            [(s_next + s.ordinal, s.text) for s in item.sentences],
        )
        conn.executemany(
            "INSERT INTO passages (pos, doc, ordinal, start, end, first, last, terms) "
            "VALUES (?,?,?,?,?,?,?,?)",
            [
                (
                    p_next + p.ordinal,
                    idx,
                    p.ordinal,
                    p.start,
                    p.end,
                    s_next + p.first_sentence,
                    s_next + p.last_sentence,
                    term_string(terms),
                )
                for p, terms in zip(item.passages, item.passage_terms, strict=True)
            ],
        )
        conn.executemany(
            "INSERT INTO passages_fts (rowid, text) VALUES (?, ?)",
            [(p_next + p.ordinal, doc.text[p.start : p.end]) for p in item.passages],
        )
        conn.executemany(
            "INSERT INTO acronyms (doc, acronym, key, term) VALUES (?, ?, ?, ?)",
            [
                (idx, acronym, acronym_key[acronym], term)
                for acronym, name in item.acronyms
                for term in sorted(name)
            ],
        )
        for terms in item.sentence_terms:
            df.update((term, 0) for term in terms)
        for terms in item.passage_terms:
            df.update((term, 1) for term in terms)
        s_next += len(item.sentences)
        p_next += len(item.passages)
        n_s += len(item.sentences)
        n_p += len(item.passages)
    if df:
        _add_df(conn, df, sign=1)
    after = stats(conn)
    set_meta(
        conn,
        sentence_rows=s_next,
        passage_rows=p_next,
        documents=after.documents + len(items),
        sentences=after.sentences + n_s,
        passages=after.passages + n_p,
    )
    return first


def bump_version(conn: sqlite3.Connection) -> int:
    """Mark a change readers must notice; returns the new version."""
    version = stats(conn).version + 1
    set_meta(conn, version=version)
    return version


# -- reading ---------------------------------------------------------------------------------


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


def _pages_column(pages: tuple[int, ...]) -> str:
    """How page starts are kept: a JSON list, or '' for a document without pages."""
    return json.dumps(list(pages)) if pages else ""


def _pages_of(column: object) -> tuple[int, ...]:
    return tuple(int(start) for start in json.loads(str(column))) if column else ()


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
        pages=_pages_of(pages),
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
        pages=_pages_of(pages),
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


@dataclass(frozen=True)
class TermFacts:
    """What the store says of one stem: (sentence, passage) frequency and acronym links."""

    frequencies: tuple[int, int]
    #: Acronyms whose long name holds the stem.
    spelled_by: frozenset[str]
    #: The long-name stems of the acronym the stem spells (empty when it spells none).
    long_name: frozenset[str]


def term_facts(conn: sqlite3.Connection, stems: Sequence[str]) -> dict[str, TermFacts]:
    """What the store says of each of ``stems`` (one it never saw has frequencies of 0)."""
    df = term_frequencies(conn, stems)
    by_term, by_key = acronyms_for(conn, stems)
    return {
        s: TermFacts(df.get(s, (0, 0)), frozenset(by_term.get(s, ())), frozenset(by_key.get(s, ())))
        for s in stems
    }
