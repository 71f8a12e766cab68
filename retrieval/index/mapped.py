"""What one store version maps: rows of the vector files, the ANN indexes over them, row files.

A :class:`VectorState` is read when a reader first sees a store version (``LoadedIndex``) and
never changes; an ANN index file the previous version already loaded is kept, not read again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.errors import IndexCorruptError
from retrieval.index import row_files, store, vectors
from retrieval.index.row_files import RowFiles
from retrieval.index.rows import Stats


@dataclass(frozen=True)
class VectorState:
    """What one store version maps: vector rows and the ANN indexes covering a prefix."""

    version: int
    stats: Stats
    sentence_vectors: np.ndarray
    passage_vectors: np.ndarray
    sentence_ann: Any
    passage_ann: Any
    sentence_ann_rows: int
    passage_ann_rows: int
    sentence_ann_file: str | None
    passage_ann_file: str | None
    #: Open descriptors of the vector files, for reading scattered rows without the map.
    sentence_fd: int
    passage_fd: int
    #: The version's row files, or None for a store that keeps its rows in SQLite only.
    rows: RowFiles | None = None


def read_state(
    conn: sqlite3.Connection,
    generation: Path,
    dimension: int,
    current: Stats,
    old: VectorState | None,
    fd: Callable[[Path], int],
) -> VectorState:
    """Map the rows ``current`` counts in ``generation``; ``fd`` opens (and keeps) a file."""
    anns: dict[str, tuple[Any, int, str | None]] = {}
    for kind in ("sentence", "passage"):
        name = store.get_meta(conn, f"{kind}_ann")
        rows = int(store.get_meta(conn, f"{kind}_ann_rows") or 0)
        previous = getattr(old, f"{kind}_ann_file", None) if old else None
        if name and old is not None and previous == name:
            anns[kind] = (getattr(old, f"{kind}_ann"), rows, name)
        elif name:
            if "/" in name or name.startswith("."):
                raise IndexCorruptError(f"The store names an ANN file outside it: {name!r}")
            anns[kind] = (vectors.load(generation / name), rows, name)
        else:
            anns[kind] = (None, 0, None)
    return VectorState(
        version=current.version,
        stats=current,
        sentence_vectors=vectors.open_rows(
            generation / vectors.SENTENCES_FILE, current.sentence_rows, dimension
        ),
        passage_vectors=vectors.open_rows(
            generation / vectors.PASSAGES_FILE, current.passage_rows, dimension
        ),
        sentence_ann=anns["sentence"][0],
        sentence_ann_rows=anns["sentence"][1],
        sentence_ann_file=anns["sentence"][2],
        passage_ann=anns["passage"][0],
        passage_ann_rows=anns["passage"][1],
        passage_ann_file=anns["passage"][2],
        sentence_fd=fd(generation / vectors.SENTENCES_FILE),
        passage_fd=fd(generation / vectors.PASSAGES_FILE),
        rows=row_files.open_files(conn, generation, current),
    )


def reads_rows(state: VectorState, kind: str) -> bool:
    """Whether :func:`vector_rows` reads the file row by row (large indexes) rather than
    slicing the memory map."""
    matrix = state.sentence_vectors if kind == "sentences" else state.passage_vectors
    fd = state.sentence_fd if kind == "sentences" else state.passage_fd
    return len(matrix) >= vectors.PREAD_MIN_ROWS and fd >= 0


def vector_rows(
    state: VectorState, kind: str, positions: Sequence[int] | np.ndarray, dimension: int
) -> np.ndarray:
    """The vectors of sentences (or passages) at ``positions``, one row each."""
    matrix = state.sentence_vectors if kind == "sentences" else state.passage_vectors
    at = np.asarray(positions, dtype=np.int64)
    if len(at) == 0:
        return np.zeros((0, dimension), dtype=np.float32)
    fd = state.sentence_fd if kind == "sentences" else state.passage_fd
    if not reads_rows(state, kind):
        return np.asarray(matrix[at])
    if int(at.max()) >= len(matrix):
        raise IndexError(f"vector row {int(at.max())} is past the {len(matrix)} mapped")
    return vectors.read_rows(fd, at, dimension)


def nearest(
    state: VectorState,
    kind: str,
    query: np.ndarray,
    limit: int,
    dimension: int,
    rows: Callable[[np.ndarray], np.ndarray] | None = None,
) -> list[tuple[int, float]]:
    """The ``limit`` rows nearest ``query`` by each search, merged: removed rows included.

    Rows past the ANN index's prefix are searched exactly; approximate hits are re-scored with
    their exact vectors: 8-bit codes find the neighbourhood, the float32 rows decide the order.
    Best first; a position may come twice. ``rows`` reads vectors by position (default:
    :func:`vector_rows`; a reader that keeps what it read passes its own).
    """
    matrix = state.sentence_vectors if kind == "sentences" else state.passage_vectors
    ann = state.sentence_ann if kind == "sentences" else state.passage_ann
    covered = state.sentence_ann_rows if kind == "sentences" else state.passage_ann_rows
    found = vectors.exact_search(matrix[covered:], query, limit, offset=covered)
    if ann is not None:
        approximate = np.sort([pos for pos, _ in vectors.ann_search(ann, query, limit)])
        if len(approximate):
            exact = rows(approximate) if rows else vector_rows(state, kind, approximate, dimension)
            found += list(zip(approximate.tolist(), (exact @ query).tolist(), strict=True))
    found.sort(key=lambda hit: -hit[1])
    return found
