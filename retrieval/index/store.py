"""The SQLite half of an index: its schema, connections and counters.

One ``store.sqlite3`` per generation, in WAL mode and changed in place by transactions, so an
update costs time in proportion to what changed and a crash leaves the last commit whole.
``pos`` numbers sentences (and passages) in the order they were added; it is also the row of
their vector in the vector files (see ``retrieval.index.vectors``). A document's sentences and
passages have consecutive positions. Positions are never reused: a removed document leaves a
gap until the index is compacted into a new generation.

What ranking needs is stored at build time (each sentence's and passage's stemmed terms, the
document frequency of every term, the acronyms the articles define), so opening an index reads
nothing in proportion to its size. ``store_write`` adds and removes documents, ``store_read``
reads rows, text and term statistics; the row types are ``retrieval.index.rows``.
"""

from __future__ import annotations

import json
import sqlite3
import urllib.parse
from pathlib import Path

from retrieval.index.rows import Stats
from retrieval.split.language import ENGLISH, ENGLISH_FTS_TOKENIZER, Language

STORE_FILE = "store.sqlite3"
#: The English full-text tokenizer (``language.ENGLISH_FTS_TOKENIZER``); a store's own is its
#: language's (``Language.fts_tokenizer``).
FTS_TOKENIZER = ENGLISH_FTS_TOKENIZER
#: SQLite limits host parameters per statement; lookups by position go in chunks this long.
IN_CHUNK = 500
#: Page cache per connection (negative: KiB). Small: the OS page cache does the real work.
CACHE_KIB = 16_384

_SCHEMA = """
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
CREATE TABLE IF NOT EXISTS removed_rows (
    kind TEXT NOT NULL,
    first INTEGER NOT NULL,
    count INTEGER NOT NULL
);
"""
#: English full text reads the sentences' own text; other languages index their stems, which
#: no table holds, so their sentence table is contentless like the passages'.
_FTS_SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS sentences_fts USING fts5(
    text, {sentences_content}, tokenize='{tokenizer}'
);
CREATE VIRTUAL TABLE IF NOT EXISTS passages_fts USING fts5(
    text, content='', tokenize='{tokenizer}'
);
"""


def _fts_schema(language: Language) -> str:
    content = "content=''" if language.stems_in_fts else "content='sentences', content_rowid='pos'"
    return _FTS_SCHEMA.format(sentences_content=content, tokenizer=language.fts_tokenizer)


#: Counters kept in ``meta``: rows ever given out (= vector rows) and live rows.
META_KEYS = (
    "version",
    "sentence_rows",
    "passage_rows",
    "documents",
    "sentences",
    "passages",
)


def _uri(path: Path, mode: str) -> str:
    # A folder may be called "a#b?c%d": without quoting, SQLite would read those as URI syntax.
    return f"file:{urllib.parse.quote(str(path.resolve()))}?mode={mode}"


def connect(
    path: Path, *, readonly: bool = False, language: Language = ENGLISH
) -> sqlite3.Connection:
    """Open the store (creating it when writable); WAL so readers never wait for a writer.

    ``language`` decides the full-text tables of a new store; an existing one keeps its own.
    """
    if readonly:
        conn = sqlite3.connect(
            _uri(path, "ro"), uri=True, check_same_thread=False, isolation_level=None
        )
    else:
        conn = sqlite3.connect(_uri(path, "rwc"), uri=True, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.executescript(_SCHEMA + _fts_schema(language))
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


def pages_column(pages: tuple[int, ...]) -> str:
    """How page starts are kept: a JSON list, or '' for a document without pages."""
    return json.dumps(list(pages)) if pages else ""


def pages_of(column: object) -> tuple[int, ...]:
    return tuple(int(start) for start in json.loads(str(column))) if column else ()
