"""Each retriever's own decline threshold, and a configured one overriding them all."""

from __future__ import annotations

import math

import pytest

from retrieval.answer.thresholds import own_threshold, threshold_for
from retrieval.config import HAND_MIN_RELEVANCE
from retrieval.search.ranker import default_ranker


@pytest.mark.parametrize(
    ("retriever", "expected"),
    [
        ("hybrid", "model"),
        ("hand", HAND_MIN_RELEVANCE),
        ("dense", None),
        ("lexical", None),
        ("rrf", None),
    ],
)
def test_each_retriever_has_its_own_threshold_or_none(retriever: str, expected: object) -> None:
    if expected == "model":
        expected = default_ranker().min_relevance
    assert own_threshold(retriever) == expected  # type: ignore[arg-type]
    resolved = threshold_for(retriever, None)  # type: ignore[arg-type]
    if expected is None:
        assert resolved == -math.inf
    else:
        assert resolved == expected
    assert threshold_for(retriever, 0.123) == 0.123  # type: ignore[arg-type]


def test_the_models_threshold_was_chosen_on_held_out_folds() -> None:
    info = default_ranker().info
    target = info["declined_answerable_target"]
    assert info["held_out"]["answerable_declined"] <= target
