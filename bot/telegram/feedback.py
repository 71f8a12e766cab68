"""SQLite log of the questions asked, the answer shown for each, and 👍 / 👎 on it.

User ids are never stored: each is replaced by an HMAC-SHA256 keyed with a random salt that
is generated once per database and kept in it, so one user's rows can be grouped for review
but the id cannot be recovered by hashing candidate ids without the database's salt.
Methods are thread-safe (one connection behind a lock) and meant to be called off the event
loop; each write is its own transaction. The CSV export prefixes cells that a spreadsheet
would run as a formula with an apostrophe. Text is stored with lone surrogates replaced
(SQLite stores UTF-8, which has no encoding for them).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import secrets
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from bot.telegram.parse import clean

SCHEMA_VERSION = 1
SALT_BYTES = 32
USER_HASH_CHARS = 16
RATING_UP = 1
RATING_DOWN = -1
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
EXPORT_COLUMNS = (
    "answer_id",
    "asked_at",
    "user",
    "chat_type",
    "question",
    "status",
    "answer_shown",
    "thumbs_up",
    "thumbs_down",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY,
    asked_at TEXT NOT NULL,
    user_hash TEXT NOT NULL,
    chat_type TEXT NOT NULL,
    question TEXT NOT NULL,
    status TEXT NOT NULL,
    answer_shown TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ratings (
    answer_id TEXT NOT NULL REFERENCES answers(id),
    user_hash TEXT NOT NULL,
    rating INTEGER NOT NULL CHECK (rating IN (-1, 1)),
    rated_at TEXT NOT NULL,
    PRIMARY KEY (answer_id, user_hash)
);
"""


def _defuse(value: object) -> object:
    """Stop a spreadsheet from running a user's text as a formula (CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class FeedbackStore:
    """Questions, answers shown and ratings in one SQLite file (created on first use)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA busy_timeout=5000")
        with self._lock:
            self._conn.executescript(_SCHEMA)
            self._conn.execute(
                "INSERT OR IGNORE INTO meta VALUES ('salt', ?), ('schema_version', ?)",
                (secrets.token_hex(SALT_BYTES), str(SCHEMA_VERSION)),
            )
            (salt,) = self._conn.execute("SELECT value FROM meta WHERE key = 'salt'").fetchone()
        self._salt = bytes.fromhex(salt)

    def hash_user(self, user_id: int) -> str:
        """The pseudonym stored for ``user_id``."""
        digest = hmac.new(self._salt, str(user_id).encode(), hashlib.sha256).hexdigest()
        return digest[:USER_HASH_CHARS]

    def record_answer(
        self,
        answer_id: str,
        *,
        user_id: int,
        chat_type: str,
        question: str,
        status: str,
        answer_shown: str,
    ) -> None:
        """Log a question and the answer shown for it under ``answer_id``."""
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    answer_id,
                    _now(),
                    self.hash_user(user_id),
                    clean(chat_type),
                    clean(question),
                    clean(status),
                    clean(answer_shown),
                ),
            )

    def rate(self, answer_id: str, *, user_id: int, rating: int) -> bool:
        """Record ``user_id``'s 👍 (1) or 👎 (-1); a second vote replaces the first.

        Returns False when no answer ``answer_id`` was logged (nothing is stored then).
        """
        if rating not in (RATING_UP, RATING_DOWN):
            raise ValueError(f"rating must be {RATING_UP} or {RATING_DOWN}, not {rating!r}")
        with self._lock:
            known = self._conn.execute("SELECT 1 FROM answers WHERE id = ?", (answer_id,))
            if known.fetchone() is None:
                return False
            self._conn.execute(
                "INSERT OR REPLACE INTO ratings VALUES (?, ?, ?, ?)",
                (answer_id, self.hash_user(user_id), rating, _now()),
            )
        return True

    def export_csv(self, out: TextIO) -> int:
        """Write every logged answer with its vote counts as CSV; returns the rows written."""
        with self._lock:
            rows = self._conn.execute(
                """
                SELECT a.id, a.asked_at, a.user_hash, a.chat_type, a.question, a.status,
                       a.answer_shown,
                       COALESCE(SUM(r.rating = 1), 0), COALESCE(SUM(r.rating = -1), 0)
                FROM answers a LEFT JOIN ratings r ON r.answer_id = a.id
                GROUP BY a.id ORDER BY a.asked_at, a.rowid
                """
            ).fetchall()
        writer = csv.writer(out)
        writer.writerow(EXPORT_COLUMNS)
        writer.writerows([_defuse(value) for value in row] for row in rows)
        return len(rows)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
