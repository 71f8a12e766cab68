"""Vector files and search: exact search against brute force, IVF recall, crash tails."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval.index import vectors


def _unit(rows: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    data = np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)
    return data / np.linalg.norm(data, axis=1, keepdims=True)


@pytest.mark.parametrize("rows", [1, 7, 1000, 70_000])
def test_exact_search_equals_brute_force(rows: int) -> None:
    matrix, query = _unit(rows), _unit(1, seed=9)[0]
    found = vectors.exact_search(matrix, query, 10, offset=5)
    scores = matrix @ query
    expected = [int(i) + 5 for i in np.argsort(-scores)[:10]]
    assert [pos for pos, _ in found] == expected
    assert all(abs(s - float(scores[p - 5])) < 1e-5 for p, s in found)


def test_append_truncate_and_map(tmp_path: Path) -> None:
    path = tmp_path / "v.f32"
    first, second = _unit(3, 8), _unit(2, 8, seed=1)
    vectors.append(path, first)
    vectors.append(path, second)  # as if a crash left these uncommitted
    assert vectors.row_count(path, 8) == 5
    vectors.truncate(path, 3, 8)
    assert np.array_equal(vectors.open_rows(path, 3, 8), first)
    with pytest.raises(ValueError, match="holds 3 vectors"):
        vectors.open_rows(path, 4, 8)
    vectors.blank(path, [1], 8)
    assert not vectors.open_rows(path, 3, 8)[1].any()


def test_ivf_recall_against_exact_search(tmp_path: Path) -> None:
    # Clustered data, as sentence vectors are: recall must hold after a save and load.
    rng = np.random.default_rng(3)
    centres = _unit(200, 64, seed=4)
    matrix = centres[rng.integers(0, 200, 20_000)] + rng.normal(0, 0.15, (20_000, 64))
    matrix = (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)
    positions = np.arange(0, 20_000, dtype=np.int64)
    ann = vectors.build_ivf(matrix, positions)
    vectors.save(ann, tmp_path / "x.ivf")
    ann = vectors.load(tmp_path / "x.ivf")
    queries = matrix[rng.integers(0, 20_000, 50)] + rng.normal(0, 0.1, (50, 64)).astype(np.float32)
    hits = 0
    for query in queries:
        exact = {p for p, _ in vectors.exact_search(matrix, query, 10)}
        approximate = vectors.ann_search(ann, query, 10)
        rescored = sorted(approximate, key=lambda h: -float(matrix[h[0]] @ query))[:10]
        hits += len(exact & {p for p, _ in rescored})
    assert hits / (10 * len(queries)) >= 0.9


def test_ivf_ids_are_positions() -> None:
    matrix = _unit(5000, 16)
    positions = np.arange(1000, 5000, 2, dtype=np.int64)  # gaps, as after removals
    ann = vectors.build_ivf(matrix, positions)
    found = vectors.ann_search(ann, matrix[1002], 5)
    assert found[0][0] == 1002
    assert all(p in set(positions.tolist()) for p, _ in found)
