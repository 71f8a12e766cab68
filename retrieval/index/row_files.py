"""Sentence and passage rows in append-only files, read by position without SQLite.

At a million sentences an answer reads some 200 sentence and 270 passage rows. As SQLite point
lookups in a 750 MB store that cost about 4 ms an answer (a B-tree descent each); from these
files, a record and a string slice each, about 1.5 ms (``python -m benchmarks.scale``). SQLite
stays the record: it keeps every row too (full text search, updates and checks read it), and
these files hold a copy of each row, written when the row is inserted. Rows never change at a
position, so the files are only ever appended to.

Two files per kind (``sentences``, ``passages``):

- ``{kind}.fields``: one record of eight little-endian int64 per position,
  sentences ``doc, ordinal, passage, start, end, text bytes, first byte, end byte``,
  passages ``doc, ordinal, start, end, first, last, first byte, end byte``;
- ``{kind}.strings``: the UTF-8 the records point to (a sentence's text then its terms, a
  passage's terms).

Like the vector files, only the rows a committed transaction counts are valid, and a crashed
writer's tail is cut off by the next writer (:func:`truncate`). A removed document's rows stay
in the files; the store's ``removed_rows`` table lists their ranges, read once per version.
A store uses the files when its meta says ``row_files = 1``: that is set when the first rows go
into an empty store written with its folder, or by :func:`adopt`, which ``verbatim index`` runs
on a store made before row files (copying its rows, nothing embedded). Until then, and for a
store written with no folder (as some tests do), rows are read from SQLite as before.
"""

from __future__ import annotations

import codecs
import mmap
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from retrieval.index import store
from retrieval.index.rows import PassageRow, SentenceRow, Stats

Kind = Literal["sentences", "passages"]
KINDS: tuple[Kind, Kind] = ("sentences", "passages")
#: int64 fields per record, and bytes per record.
FIELDS = 8
RECORD_BYTES = 8 * FIELDS
#: The store's meta key saying that its rows are also in row files.
META_KEY = "row_files"


def fields_path(folder: Path, kind: Kind) -> Path:
    return folder / f"{kind}.fields"


def strings_path(folder: Path, kind: Kind) -> Path:
    return folder / f"{kind}.strings"


def enabled(conn: sqlite3.Connection) -> bool:
    """Whether the store's rows are also in row files."""
    return store.get_meta(conn, META_KEY) == "1"


def start_if_empty(conn: sqlite3.Connection) -> bool:
    """Whether rows inserted now go to row files too: yes for a store that already uses them,
    and for one that never held a row (which starts to now, in the caller's transaction)."""
    if enabled(conn):
        return True
    current = store.stats(conn)
    if current.sentence_rows or current.passage_rows:
        return False
    store.set_meta(conn, **{META_KEY: 1})
    return True


def _committed_bytes(fields: Path, rows: int) -> int:
    """Where the strings of the first ``rows`` records end (0 for none)."""
    if rows <= 0:
        return 0
    with fields.open("rb") as handle:
        record = os.pread(handle.fileno(), RECORD_BYTES, (rows - 1) * RECORD_BYTES)
    if len(record) != RECORD_BYTES:
        raise ValueError(f"{fields.name} holds fewer than the {rows} rows the store counts")
    return int(np.frombuffer(record, dtype="<i8")[-1])


def _counts(current: Stats) -> tuple[tuple[Kind, int], tuple[Kind, int]]:
    return (("sentences", current.sentence_rows), ("passages", current.passage_rows))


def problem(folder: Path, current: Stats, *, text: bool = False) -> str | None:
    """What is wrong with the row files of a store that uses them, or None: a missing file,
    one holding fewer rows than the store counts, or a record that does not fit its strings
    (about 40 ms a million rows); with ``text``, also strings that are not UTF-8 (0.5 s)."""
    for kind, rows in _counts(current):
        fields, strings = fields_path(folder, kind), strings_path(folder, kind)
        if rows <= 0:
            continue
        for path in (fields, strings):
            if not path.is_file():
                return f"{path.name} is missing"
        if fields.stat().st_size < rows * RECORD_BYTES:
            return f"{fields.name} holds fewer than the {rows:,} rows the store counts"
        wrong = _wrong_record(fields, rows, strings.stat().st_size)
        if wrong is not None:
            return f"record {wrong:,} of {fields.name} does not fit its strings"
        if text and not _utf8(strings, _committed_bytes(fields, rows)):
            return f"{strings.name} is not UTF-8 text"
    return None


def _wrong_record(fields: Path, rows: int, strings_size: int) -> int | None:
    """The first record whose strings do not follow the previous one's, or None."""
    at = end = 0
    with fields.open("rb") as handle:
        while at < rows:
            block = np.frombuffer(
                handle.read(min(rows - at, 1 << 16) * RECORD_BYTES), dtype="<i8"
            ).reshape(-1, FIELDS)
            first, last, split = block[:, 6], block[:, 7], block[:, 5]
            starts = np.concatenate(([end], last[:-1]))
            bad = (first != starts) | (last < first) | (last > strings_size) | (split < 0)
            bad |= fields.name.startswith("sentences") & (split > last - first)
            if bad.any():
                return at + int(np.argmax(bad))
            at, end = at + len(block), int(last[-1])
    return None


def _utf8(path: Path, size: int) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as handle:
        try:
            while size > 0:
                chunk = handle.read(min(size, 1 << 24))
                if not chunk:
                    return False
                decoder.decode(chunk)
                size -= len(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def truncate(folder: Path, current: Stats) -> None:
    """Cut a crashed writer's uncommitted rows off the files (creating missing empty ones).

    Raises ValueError when a file holds fewer rows than the store counts (a damaged index).
    """
    for kind, rows in _counts(current):
        fields = fields_path(folder, kind)
        for path, size in (
            (fields, rows * RECORD_BYTES),
            (strings_path(folder, kind), _committed_bytes(fields, rows)),
        ):
            with path.open("ab") as handle:
                if os.fstat(handle.fileno()).st_size < size:
                    raise ValueError(f"{path.name} is shorter than the {rows:,} rows counted")
                handle.truncate(size)
                handle.flush()
                os.fsync(handle.fileno())


def append(folder: Path, sentences: Sequence[SentenceRow], passages: Sequence[PassageRow]) -> None:
    """Append rows (positions following the files' last) durably, before the commit."""
    encoded: list[tuple[tuple[int, ...], bytes]] = []
    for s in sentences:
        text = s.text.encode("utf-8")
        encoded.append(
            ((s.doc, s.ordinal, s.passage, s.start, s.end, len(text)), text + s.terms.encode())
        )
    _append(folder, "sentences", sentences[0].pos if sentences else 0, encoded)
    encoded = [
        ((p.doc, p.ordinal, p.start, p.end, p.first, p.last), p.terms.encode("utf-8"))
        for p in passages
    ]
    _append(folder, "passages", passages[0].pos if passages else 0, encoded)


def _append(
    folder: Path, kind: Kind, first: int, encoded: list[tuple[tuple[int, ...], bytes]]
) -> None:
    """Append records (six fields and their string each) from position ``first`` on."""
    if not encoded:
        return
    with (
        fields_path(folder, kind).open("ab") as fields,
        strings_path(folder, kind).open("ab") as strings,
    ):
        held = os.fstat(fields.fileno()).st_size // RECORD_BYTES
        if first != held:
            raise ValueError(f"{kind} row {first} would follow row {held - 1}")
        at = os.fstat(strings.fileno()).st_size
        records = np.empty((len(encoded), FIELDS), dtype="<i8")
        for i, (head, data) in enumerate(encoded):
            records[i] = (*head, at, at + len(data))
            at += len(data)
        strings.write(b"".join(data for _head, data in encoded))
        fields.write(records.tobytes())
        for handle in (strings, fields):
            handle.flush()
            os.fsync(handle.fileno())


#: Rows copied at a time when an older store gets its row files.
ADOPT_CHUNK = 50_000


def adopt(conn: sqlite3.Connection, folder: Path) -> int:
    """Give a store made before row files its files, from its SQLite rows (nothing embedded).

    The files are written and made durable first; one transaction then records the ranges the
    store has no rows for (removed documents) and turns the files on, so a crash at any moment
    leaves the store as it was, and the next call starts again. Returns the rows copied.
    """
    if enabled(conn):
        return 0
    current = store.stats(conn)
    for kind in KINDS:
        for path in (fields_path(folder, kind), strings_path(folder, kind)):
            with path.open("wb") as handle:
                os.fsync(handle.fileno())
    gaps: list[tuple[Kind, int, int]] = []
    copied = 0
    for kind, rows in _counts(current):
        copied += _copy_rows(conn, folder, kind, rows, gaps)
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("DELETE FROM removed_rows")
        for kind, first, count in gaps:
            note_removed(conn, kind, first, count)
        store.set_meta(conn, **{META_KEY: 1})
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return copied


def _copy_rows(
    conn: sqlite3.Connection,
    folder: Path,
    kind: Kind,
    rows: int,
    gaps: list[tuple[Kind, int, int]],
) -> int:
    """Append the store's rows of ``kind`` in position order; a gap gets empty records."""
    row_type: Any = SentenceRow if kind == "sentences" else PassageRow
    # everything after the position; document -1: never a live row
    empty = (-1, 0, 0, 0, 0, "", "") if kind == "sentences" else (-1, 0, 0, 0, 0, 0, "")
    columns = ", ".join(row_type._fields)
    cursor = conn.execute(f"SELECT {columns} FROM {kind} WHERE pos < ? ORDER BY pos", (rows,))
    expected = copied = 0
    while True:
        batch = cursor.fetchmany(ADOPT_CHUNK)
        found: list[Any] = []
        for values in batch or [(rows,)]:  # at the end, ``rows`` closes the last gap
            pos = int(values[0])
            if pos > expected:
                gaps.append((kind, expected, pos - expected))
                found.extend(row_type(gap, *empty) for gap in range(expected, pos))
            if pos < rows:
                found.append(row_type(*values))
                copied += 1
            expected = pos + 1
        append(folder, found if kind == "sentences" else [], found if kind == "passages" else [])
        if not batch:
            return copied


def note_removed(conn: sqlite3.Connection, kind: Kind, first: int, count: int) -> None:
    """Record that positions ``first .. first + count - 1`` of ``kind`` were removed."""
    if count > 0:
        conn.execute(
            "INSERT INTO removed_rows (kind, first, count) VALUES (?, ?, ?)", (kind, first, count)
        )


class RowFiles:
    """The row files of one store version, mapped read-only: rows by position."""

    def __init__(self, folder: Path, current: Stats, removed: dict[str, list[tuple[int, int]]]):
        self._fields: dict[str, np.ndarray] = {}
        self._strings: dict[str, mmap.mmap | bytes] = {}
        self._removed: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for kind, rows in _counts(current):
            self._fields[kind] = self._map_fields(fields_path(folder, kind), rows)
            end = int(self._fields[kind][-1, -1]) if rows else 0
            self._strings[kind] = self._map(strings_path(folder, kind), end)
            ranges = sorted(removed.get(kind, ()))
            self._removed[kind] = (
                np.array([first for first, _ in ranges], dtype=np.int64),
                np.array([first + count for first, count in ranges], dtype=np.int64),
            )

    def _map(self, path: Path, size: int) -> mmap.mmap | bytes:
        if size <= 0:
            return b""
        with path.open("rb") as handle:
            if os.fstat(handle.fileno()).st_size < size:
                raise ValueError(f"{path.name} is shorter than the rows the store counts")
            mapped = mmap.mmap(handle.fileno(), size, access=mmap.ACCESS_READ)
        # Random reads: without this a page fault maps its neighbours too, and the process
        # would grow by whole stretches of the file over many questions.
        mapped.madvise(mmap.MADV_RANDOM)
        return mapped

    def _map_fields(self, path: Path, rows: int) -> np.ndarray:
        data = self._map(path, rows * RECORD_BYTES)
        return np.frombuffer(data, dtype="<i8").reshape(-1, FIELDS)

    def _live(self, kind: str, positions: Sequence[int]) -> np.ndarray:
        at = np.fromiter(positions, dtype=np.int64, count=len(positions))
        at = at[(at >= 0) & (at < len(self._fields[kind]))]
        starts, ends = self._removed[kind]
        if len(starts) and len(at):
            i = np.searchsorted(starts, at, side="right") - 1
            dead = (i >= 0) & (at < ends[np.maximum(i, 0)])
            at = at[~dead]
        return at

    def _records(self, kind: str, positions: Sequence[int]) -> tuple[list[int], list[list[int]]]:
        """Live positions among ``positions`` and their records, checked to fit the strings
        (a damaged file raises ValueError rather than giving wrong rows)."""
        at = self._live(kind, positions)
        records = self._fields[kind][at]
        placeholder = records[:, 0] < 0  # a gap's record (``adopt``): never a live row
        if placeholder.any():
            at, records = at[~placeholder], records[~placeholder]
        first, last, split = records[:, 6], records[:, 7], records[:, 5]
        bad = (first < 0) | (last < first) | (last > len(self._strings[kind]))
        if kind == "sentences":
            bad |= (split < 0) | (split > last - first)
        if bad.any():
            raise ValueError(f"the {kind} row files are damaged at row {int(at[np.argmax(bad)])}")
        return at.tolist(), records.tolist()

    def sentences(self, positions: Sequence[int]) -> list[SentenceRow]:
        """The live sentences among ``positions`` (absent ones are skipped), in no set order."""
        at, records = self._records("sentences", positions)
        strings = self._strings["sentences"]
        found = []
        for pos, (doc, ordinal, passage, start, end, split, first, last) in zip(
            at, records, strict=True
        ):
            data = strings[first:last]
            text, terms = data[:split].decode("utf-8"), data[split:].decode("utf-8")
            found.append(SentenceRow(pos, doc, ordinal, passage, start, end, text, terms))
        return found

    def passages(self, positions: Sequence[int]) -> list[PassageRow]:
        """The live passages among ``positions``, in no set order."""
        at, records = self._records("passages", positions)
        strings = self._strings["passages"]
        return [
            PassageRow(pos, doc, ordinal, start, end, s0, s1, strings[a:b].decode("utf-8"))
            for pos, (doc, ordinal, start, end, s0, s1, a, b) in zip(at, records, strict=True)
        ]


def open_files(conn: sqlite3.Connection, folder: Path, current: Stats) -> RowFiles | None:
    """The row files of the store version ``current`` (read in ``conn``'s snapshot), or None
    for a store that keeps its rows in SQLite only."""
    if not enabled(conn):
        return None
    removed: dict[str, list[tuple[int, int]]] = {}
    for kind, first, count in conn.execute("SELECT kind, first, count FROM removed_rows"):
        removed.setdefault(str(kind), []).append((int(first), int(count)))
    return RowFiles(folder, current, removed)
