"""The FAISS half of an index: inner-product search over unit vectors (= cosine similarity).

``flat`` is exact and the default; ``hnsw`` is approximate, for corpora too large to scan.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from retrieval.config import IndexType

HNSW_NEIGHBOURS = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 96


def build(vectors: np.ndarray, index_type: IndexType) -> Any:
    """A FAISS index over ``vectors`` whose ids are their row numbers."""
    import faiss

    dimension = int(vectors.shape[1])
    index: Any
    if index_type == "hnsw":
        index = faiss.IndexHNSWFlat(dimension, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        index = faiss.IndexFlatIP(dimension)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def save(index: Any, path: Path) -> None:
    """Write ``index`` to ``path``."""
    import faiss

    faiss.write_index(index, str(path))


def load(path: Path) -> Any:
    """Read an index written by :func:`save` (raises on a missing or damaged file)."""
    import faiss

    index = faiss.read_index(str(path))
    if isinstance(index, faiss.IndexHNSWFlat):
        index.hnsw.efSearch = HNSW_EF_SEARCH
    return index


def search(index: Any, query: np.ndarray, limit: int) -> list[tuple[int, float]]:
    """``(row, cosine)`` of the ``limit`` nearest rows, best first."""
    if index.ntotal == 0 or limit <= 0:
        return []
    scores, rows = index.search(query.reshape(1, -1).astype(np.float32), min(limit, index.ntotal))
    return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]
