"""The vector half of an index: one append-only file of float32 rows, and an optional ANN index.

``sentences.f32`` and ``passages.f32`` hold one unit vector per position, memory-mapped when
read, so each vector lives once, on disk and in the OS page cache, and opening costs nothing
in proportion to the corpus. Only the rows a committed transaction counts are valid: a crashed
writer's tail is cut off by the next writer.

Search is exact (a matrix product over the mapped rows) until a corpus is large enough for that
to be slow; past ``ANN_MIN_ROWS`` rows an IVF index with 8-bit scalar-quantised vectors
(FAISS ``IVF{n},SQ8``, a quarter of the float32 size) covers the rows it was built over, and the
few rows added since are searched exactly. Cosine similarity = inner product of unit vectors.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

SENTENCES_FILE = "sentences.f32"
PASSAGES_FILE = "passages.f32"
#: Exact search of 384-dimension rows on this 2-core machine: 0.14 ms at 6k rows, 0.85 ms at
#: 20k, 2.0 ms at 50k, 16 ms at 100k (memory bandwidth). Past this many rows the IVF index
#: takes over (recall and latency at each size: ``python -m benchmarks.scale``).
ANN_MIN_ROWS = 50_000
#: Rows searched per IVF list probed: nlist ≈ rows / this, so a probe is cheap.
IVF_ROWS_PER_LIST = 256
IVF_MIN_LISTS = 64
IVF_MAX_LISTS = 8_192
#: Training sample per list (FAISS wants at least 39) and in all.
IVF_TRAIN_PER_LIST = 40
IVF_TRAIN_MAX = 200_000
#: k-means iterations when training the lists (FAISS's default 25 costs minutes at 1M rows
#: for no measurable recall).
IVF_TRAIN_ITERATIONS = 10
#: Lists probed per query: recall@10 ≥ 0.95 against exact search at 1M rows (benchmarks.scale).
IVF_NPROBE = 48
#: Rows added since the ANN index was built are searched exactly; past this share of the
#: indexed rows (or ``DELTA_MAX_ROWS``) the ANN index is rebuilt at the end of an update.
DELTA_MAX_SHARE = 0.10
DELTA_MAX_ROWS = 50_000
#: Extra candidates asked of the ANN index, to make up for removed rows it still holds.
ANN_SLACK = 1.25
_EXACT_CHUNK = 65_536


def row_count(path: Path, dimension: int) -> int:
    """Whole rows in the file at ``path`` (0 when missing)."""
    try:
        return path.stat().st_size // (4 * dimension)
    except FileNotFoundError:
        return 0


def truncate(path: Path, rows: int, dimension: int) -> None:
    """Cut a crashed writer's uncommitted rows off ``path`` (creating it when missing)."""
    with path.open("ab") as handle:
        handle.truncate(rows * 4 * dimension)
        handle.flush()
        os.fsync(handle.fileno())


def append(path: Path, vectors: np.ndarray) -> None:
    """Append rows and make them durable before the transaction that counts them commits."""
    data = np.ascontiguousarray(vectors, dtype=np.float32)
    with path.open("ab") as handle:
        handle.write(data.tobytes())
        handle.flush()
        os.fsync(handle.fileno())


def blank(path: Path, positions: list[int] | tuple[int, ...], dimension: int) -> None:
    """Zero the rows of removed sentences so exact search never ranks them again."""
    if not positions:
        return
    zero = bytes(4 * dimension)
    with path.open("r+b") as handle:
        for pos in positions:
            handle.seek(pos * 4 * dimension)
            handle.write(zero)
        handle.flush()
        os.fsync(handle.fileno())


def open_rows(path: Path, rows: int, dimension: int) -> np.ndarray:
    """A read-only memory map of the first ``rows`` rows (an empty array for none)."""
    if rows <= 0:
        return np.zeros((0, dimension), dtype=np.float32)
    available = row_count(path, dimension)
    if available < rows:
        raise ValueError(f"{path.name} holds {available} vectors, the store counts {rows}")
    mapped = np.memmap(path, dtype=np.float32, mode="r", shape=(rows, dimension))
    return mapped.view(np.ndarray)  # plain array over the map: no memmap overhead per slice


#: Past this many rows, rows are read with ``pread`` rather than through the memory map:
#: a page fault maps its neighbours too (64 KiB for a 1.5 KiB row), so random reads through
#: the map grew a 1M-sentence answering process by 1.6 GiB of mapped file over 200 questions.
PREAD_MIN_ROWS = ANN_MIN_ROWS


def read_rows(fd: int, positions: np.ndarray, dimension: int) -> np.ndarray:
    """Rows at ``positions`` of an open vector file, read one by one (no mapping)."""
    size = 4 * dimension
    data = b"".join(os.pread(fd, size, int(pos) * size) for pos in positions)
    if len(data) != size * len(positions):
        raise ValueError("the vector file is shorter than the store says")
    return np.frombuffer(data, dtype=np.float32).reshape(len(positions), dimension)


def exact_search(
    matrix: np.ndarray, query: np.ndarray, limit: int, *, offset: int = 0
) -> list[tuple[int, float]]:
    """``(row + offset, cosine)`` of the ``limit`` best rows of ``matrix``, best first."""
    n = len(matrix)
    if n == 0 or limit <= 0:
        return []
    q = np.asarray(query, dtype=np.float32).reshape(-1)
    best_rows: list[np.ndarray] = []
    best_scores: list[np.ndarray] = []
    for at in range(0, n, _EXACT_CHUNK):
        scores = np.asarray(matrix[at : at + _EXACT_CHUNK]) @ q
        k = min(limit, len(scores))
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        best_rows.append(top + at)
        best_scores.append(scores[top])
    rows = np.concatenate(best_rows)
    scores = np.concatenate(best_scores)
    order = np.argsort(-scores, kind="stable")[:limit]
    return [(int(rows[i]) + offset, float(scores[i])) for i in order]


def ivf_lists(rows: int) -> int:
    """How many IVF lists suit ``rows`` vectors (fewer for tiny sets: k-means needs data)."""
    wanted = int(np.clip(rows // IVF_ROWS_PER_LIST, IVF_MIN_LISTS, IVF_MAX_LISTS))
    return max(1, min(wanted, rows // IVF_TRAIN_PER_LIST))


def build_ivf(
    matrix: np.ndarray, positions: np.ndarray, *, seed: int = 1234, threads: int | None = None
) -> Any:
    """An ``IVF,SQ8`` inner-product index over ``matrix[positions]`` with positions as ids."""
    import faiss

    if threads:
        faiss.omp_set_num_threads(threads)
    dimension = int(matrix.shape[1])
    nlist = ivf_lists(len(positions))
    quantizer = faiss.IndexFlatIP(dimension)
    index = faiss.IndexIVFScalarQuantizer(
        quantizer, dimension, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
    )
    rng = np.random.default_rng(seed)
    sample_size = min(len(positions), max(nlist * IVF_TRAIN_PER_LIST, 10_000), IVF_TRAIN_MAX)
    index.cp.min_points_per_centroid = 1  # tiny corpora: fewer points per list is fine
    sample = np.sort(rng.choice(positions, size=sample_size, replace=False))
    index.cp.seed = seed
    index.cp.niter = IVF_TRAIN_ITERATIONS
    index.train(np.ascontiguousarray(matrix[sample], dtype=np.float32))
    for at in range(0, len(positions), _EXACT_CHUNK):
        ids = positions[at : at + _EXACT_CHUNK]
        index.add_with_ids(
            np.ascontiguousarray(matrix[ids], dtype=np.float32), ids.astype(np.int64)
        )
    index.nprobe = IVF_NPROBE
    return index


def save(index: Any, path: Path) -> None:
    """Write ``index`` to ``path`` durably (the caller renames it into place)."""
    import faiss

    faiss.write_index(index, str(path))
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def load(path: Path) -> Any:
    """Read an ANN index written by :func:`save` (raises on a missing or damaged file).

    Only answering processes load indexes: FAISS is kept to one thread there, as one query is
    searched at a time and its OpenMP threads would fight the encoder's for the cores
    (measured at 1M sentences: 6.4 ms a dense search with two, 2.9 ms with one).
    """
    import faiss

    faiss.omp_set_num_threads(1)
    index = faiss.read_index(str(path))
    if hasattr(index, "nprobe"):
        index.nprobe = IVF_NPROBE
    return index


def ann_search(index: Any, query: np.ndarray, limit: int) -> list[tuple[int, float]]:
    """``(position, approximate cosine)`` of about the ``limit`` nearest rows, best first."""
    if index is None or index.ntotal == 0 or limit <= 0:
        return []
    k = min(int(limit * ANN_SLACK) + 1, index.ntotal)
    scores, ids = index.search(np.asarray(query, dtype=np.float32).reshape(1, -1), k)
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
