"""The AUROC as a rank statistic, against a pairwise count and scikit-learn."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from retrieval.evaluation.separation import auroc


def _pairwise(positives: list[float], negatives: list[float]) -> float:
    """The AUROC by definition: the share of (positive, negative) pairs ordered right, ties 1/2."""
    wins = sum(
        1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(positives, negatives)
    )
    return wins / (len(positives) * len(negatives))


@pytest.mark.parametrize(
    ("positives", "negatives", "expected"),
    [
        ([0.9, 0.8], [0.1, 0.2], 1.0),
        ([0.1, 0.2], [0.9, 0.8], 0.0),
        ([0.5, 0.5], [0.5], 0.5),
        # (0.9 > all 3) 3 + (0.4 > 0.3) 1 + (0.4 = 0.4) 1/2 = 4.5 of 6
        ([0.9, 0.4], [0.4, 0.3, 0.6], 4.5 / 6),
        ([1.0], [float("-inf"), 2.0], 0.5),
    ],
)
def test_auroc_by_hand(positives: list[float], negatives: list[float], expected: float) -> None:
    assert auroc(positives, negatives) == pytest.approx(expected)
    assert _pairwise(positives, negatives) == pytest.approx(expected)


@pytest.mark.parametrize("seed", range(5))
def test_auroc_equals_the_pairwise_count_and_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    # rounded, so many scores tie within and across the groups
    positives = list(np.round(rng.normal(0.6, 0.2, 40 + seed), 1))
    negatives = list(np.round(rng.normal(0.4, 0.2, 30), 1))
    assert auroc(positives, negatives) == pytest.approx(_pairwise(positives, negatives))
    metrics = pytest.importorskip("sklearn.metrics")
    labels = [1] * len(positives) + [0] * len(negatives)
    expected = metrics.roc_auc_score(labels, positives + negatives)
    assert auroc(positives, negatives) == pytest.approx(expected)


def test_auroc_of_an_empty_group_is_none() -> None:
    assert auroc([], [0.1]) is None
    assert auroc([0.1], []) is None


def test_auroc_refuses_nan() -> None:
    with pytest.raises(ValueError, match="NaN"):
        auroc([0.1, float("nan")], [0.2])
