"""The ranker's trees under onnxruntime against the numpy walk of the same trees."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.search.features import FEATURES
from retrieval.search.ranker import Forest, default_ranker


def _one_leaf_and_a_stump(columns: int) -> Forest:
    # tree 0: a single leaf (0.25); tree 1: column 2 <= 0.5 -> -1.0, else 2.0
    return Forest(
        feature=np.array([-1, 2, -1, -1], dtype=np.int32),
        threshold=np.array([0.0, 0.5, 0.0, 0.0]),
        left=np.array([0, 2, 2, 3], dtype=np.int32),
        right=np.array([0, 3, 2, 3], dtype=np.int32),
        value=np.array([0.25, 0.0, -1.0, 2.0]),
        roots=np.array([0, 1], dtype=np.int32),
        depth=1,
        columns=columns,
        slope=1.0,
        intercept=0.0,
    )


@pytest.mark.parametrize("part", ["sentences", "answerable"])
def test_the_shipped_trees_sum_as_the_numpy_walk(part: str) -> None:
    forest = getattr(default_ranker(), part)
    rng = np.random.default_rng(7)
    rows = rng.normal(scale=3.0, size=(400, forest.columns))
    # and rows sitting exactly on split values, which go left
    used = np.flatnonzero(forest.feature >= 0)[:300]
    rows[np.arange(len(used)) % len(rows), forest.feature[used]] = forest.threshold[used]
    np.testing.assert_allclose(forest.raw(rows), forest.walk(rows), rtol=0, atol=1e-12)


def test_a_tree_of_one_leaf_and_a_stump() -> None:
    forest = _one_leaf_and_a_stump(len(FEATURES))
    rows = np.zeros((3, len(FEATURES)))
    rows[:, 2] = [0.4, 0.5, 0.6]
    expected = [0.25 - 1.0, 0.25 - 1.0, 0.25 + 2.0]
    np.testing.assert_allclose(forest.raw(rows), expected, rtol=0, atol=1e-15)
    np.testing.assert_allclose(forest.walk(rows), expected, rtol=0, atol=1e-15)


def test_rows_of_the_wrong_width_are_refused() -> None:
    forest = _one_leaf_and_a_stump(4)
    with pytest.raises(ValueError, match="expected rows of 4 features"):
        forest.raw(np.zeros((2, 5)))
