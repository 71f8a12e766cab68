"""Tell a damaged store from a bug, after something went wrong reading or updating it.

SQLite's quick check finds broken pages, not rows that a hand edit or a damaged file left
without a position (a NULL where a number must be); answering then fails with a TypeError far
from the cause. This looks for both, so that such a failure can be reported as a damaged index
with the command that rebuilds it. It reads every row: it runs only after a failure.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from retrieval.index import row_files, store

#: Tables whose INTEGER columns are all positions and counts that must hold a whole number.
POSITION_TABLES = ("documents", "sentences", "passages")


def store_problem(path: Path) -> str | None:
    """What is wrong with the store at ``path`` in plain words, or None when nothing is found."""
    try:
        with contextlib.closing(store.connect(path, readonly=True)) as conn:
            return _problem(conn, path.parent)
    except sqlite3.Error as exc:
        return f"{type(exc).__name__}: {exc}"


def _problem(conn: sqlite3.Connection, folder: Path) -> str | None:
    missing = store.missing_tables(conn)
    if missing:
        return f"its store lacks {', '.join(missing)}"
    verdict = str(conn.execute("PRAGMA quick_check").fetchone()[0])
    if verdict != "ok":
        return f"SQLite's check says: {verdict[:200]}"
    try:
        store.stats(conn)
    except ValueError as exc:
        return f"a counter of the store is not a number ({exc})"
    for table in POSITION_TABLES:
        columns = [
            str(row[1])
            for row in conn.execute(f"PRAGMA table_info({table})")
            if str(row[2]).upper() == "INTEGER"
        ]
        if not columns:
            continue
        wrong = " OR ".join(f"typeof(\"{name}\") != 'integer'" for name in columns)
        row = conn.execute(f"SELECT rowid FROM {table} WHERE {wrong} LIMIT 1").fetchone()
        if row is not None:
            return f"row {row[0]} of {table} lacks a position or count"
    if row_files.enabled(conn):
        return row_files.problem(folder, store.stats(conn), text=True)
    return None
