"""The decline threshold trade-off, worked out by hand on raw answers with known scores."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from retrieval.answer.answering import apply_threshold
from retrieval.evaluation.metrics import QuestionResult, answerable_metrics, unanswerable_metrics
from retrieval.evaluation.tradeoff import candidate_thresholds, threshold_tradeoff
from retrieval.types import Quote

ResultFactory = Callable[..., QuestionResult]
QuoteFactory = Callable[..., Quote]


@pytest.fixture
def results(make_result: ResultFactory, make_quote: QuoteFactory) -> list[QuestionResult]:
    return [
        make_result("a1", ["x"], [make_quote("x here", "d1", 0.9)]),
        make_result("a2", ["y"], [make_quote("nope", "d1", 0.6), make_quote("y here", "d2", 0.55)]),
        make_result("a3", ["z"], [make_quote("z!", "d3", 0.3)]),
        make_result("u1", [], [make_quote("foo", "d1", 0.4)]),
        make_result("u2", [], [make_quote("bar", "d2", 0.7)]),
        make_result("u3", [], [], status="invalid_question"),
    ]


def test_tradeoff_rows_by_hand(results: list[QuestionResult]) -> None:
    rows = threshold_tradeoff(results, 0.35, thresholds=[0.0, 0.35, 0.58, 0.8])
    table = [
        (
            row["min_relevance"],
            row["configured"],
            row["answerable_hit_at_1"],
            row["answerable_hit_at_k"],
            row["answerable_declined"],
            row["unanswerable_declined"],
        )
        for row in rows
    ]
    # only an answer's relevance decides: 0.58 keeps a2 whole, its hitting second quote too;
    # the invalid question u3 is declined whatever the threshold.
    assert table == [
        (0.0, False, 2 / 3, 3 / 3, 0 / 3, 1 / 3),
        (0.35, True, 1 / 3, 2 / 3, 1 / 3, 1 / 3),
        (0.58, False, 1 / 3, 2 / 3, 1 / 3, 2 / 3),
        (0.8, False, 1 / 3, 1 / 3, 2 / 3, 3 / 3),
    ]


def test_candidates_are_deciles_of_valid_relevances_plus_the_configured_one(
    results: list[QuestionResult],
) -> None:
    candidates = candidate_thresholds(results, 0.35)
    relevances = [0.9, 0.6, 0.3, 0.4, 0.7]  # u3 (invalid, relevance 0.0) is left out
    deciles = np.percentile(relevances, list(range(0, 101, 10)))
    assert candidates == sorted({0.35, *(float(value) for value in deciles)})
    assert candidates[0] == pytest.approx(0.3) and candidates[-1] == pytest.approx(0.9)


def test_default_rows_mark_exactly_the_configured_threshold(results: list[QuestionResult]) -> None:
    rows = threshold_tradeoff(results, 0.35)
    assert [row["min_relevance"] for row in rows] == candidate_thresholds(results, 0.35)
    assert [row["min_relevance"] for row in rows if row["configured"]] == [0.35]


@pytest.mark.parametrize("threshold", [0.0, 0.35, 0.5, 0.65, 1.0])
def test_the_configured_row_matches_the_run_metrics(
    results: list[QuestionResult], threshold: float
) -> None:
    shown = [
        QuestionResult(r.question, apply_threshold(r.raw, threshold), r.raw, r.latency_ms)
        for r in results
    ]
    (row,) = [row for row in threshold_tradeoff(shown, threshold) if row["configured"]]
    answerable = answerable_metrics(shown)
    assert row["answerable_hit_at_1"] == answerable["hit_at_1"]
    assert row["answerable_hit_at_k"] == answerable["hit_at_k"]
    assert row["answerable_declined"] == answerable["declined"]
    assert row["unanswerable_declined"] == unanswerable_metrics(shown)["declined"]
