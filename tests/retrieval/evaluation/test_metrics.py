"""Metrics on hand-made answers, with the expected values worked out by hand."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from retrieval.evaluation.metrics import (
    QuestionResult,
    answerable_metrics,
    by_question_type,
    cites,
    counts,
    hit_rank,
    latency_metrics,
    relevance_metrics,
    retrieval_metrics,
    unanswerable_metrics,
)
from retrieval.evaluation.questions import Question
from retrieval.types import Answer, Quote

QuoteFactory = Callable[..., Quote]
ResultFactory = Callable[..., QuestionResult]


def test_hit_rank_is_the_first_quote_holding_a_gold_answer(make_quote: QuoteFactory) -> None:
    quotes = [make_quote("No.", "a"), make_quote("It was 426.", "b"), make_quote("426!", "c")]
    assert hit_rank(quotes, ["426"]) == 2
    assert hit_rank(quotes, ["no"]) == 1
    assert hit_rank(quotes, ["427"]) is None
    assert hit_rank([], ["426"]) is None


@pytest.mark.parametrize(
    ("source", "also_in", "gold", "expected"),
    [
        ("a", (), ["a"], True),
        ("a", (), ["b"], False),
        ("a", ("b", "c"), ["c"], True),
        ("a", ("b",), ["c", "d"], False),
        ("a", (), [], False),
    ],
)
def test_cites_counts_agreeing_extracts(
    source: str, also_in: tuple[str, ...], gold: list[str], expected: bool, make_quote: QuoteFactory
) -> None:
    assert cites(make_quote("text", source, also_in=also_in), gold) is expected


def test_answerable_metrics_by_hand(make_result: ResultFactory, make_quote: QuoteFactory) -> None:
    results = [
        # hit at 1, cites the gold source
        make_result("q1", ["Maalouf"], [make_quote("said Maalouf", "d1")], sources=["d1"]),
        # hit at 2; the hitting quote is from d9 but d1 agrees with it
        make_result(
            "q2",
            ["426"],
            [make_quote("nothing", "d1"), make_quote("426 killed", "d9", also_in=["d1"])],
            sources=["d1"],
        ),
        # hit at 3 from the wrong document: not cited
        make_result(
            "q3",
            ["July"],
            [make_quote("a", "d2"), make_quote("b", "d2"), make_quote("in july", "d3")],
            sources=["d2"],
        ),
        # wrongly declined
        make_result("q4", ["x"], [], sources=["d1"]),
        # answered, but no quote holds the gold answer, and marked unsure
        make_result("q5", ["zebra"], [make_quote("a horse", "d1")], sources=["d1"], uncertain=True),
        # hit at 1 but no gold sources: left out of citation accuracy only
        make_result("q6", ["horse"], [make_quote("a horse", "d1")]),
        # unanswerable ones are ignored here
        make_result("u1", [], [make_quote("a horse", "d1")]),
    ]
    metrics = answerable_metrics(results)
    assert metrics["hit_at_1"] == pytest.approx(2 / 6)
    assert metrics["hit_at_k"] == pytest.approx(4 / 6)
    assert metrics["mrr"] == pytest.approx((1 + 1 / 2 + 1 / 3 + 0 + 0 + 1) / 6)
    assert metrics["citation_accuracy"] == pytest.approx(2 / 5)
    assert metrics["declined"] == pytest.approx(1 / 6)
    assert metrics["uncertain"] == pytest.approx(1 / 6)
    assert set(metrics) == {
        "hit_at_1",
        "hit_at_k",
        "mrr",
        "citation_accuracy",
        "declined",
        "uncertain",
    }


def test_unanswerable_metrics_count_invalid_questions_as_declined(
    make_result: ResultFactory, make_quote: QuoteFactory
) -> None:
    results = [
        make_result("u1", [], []),
        make_result("u2", [], [make_quote("something", "d1")]),
        make_result("u3", [], [], status="invalid_question"),
        make_result("u4", [], [make_quote("more", "d2")], uncertain=True),
        make_result("a1", ["x"], [], uncertain=True),
    ]
    assert unanswerable_metrics(results) == {
        "declined": pytest.approx(2 / 4),
        "uncertain": pytest.approx(1 / 4),
    }
    assert counts(results) == {
        "questions": 5,
        "answerable": 1,
        "unanswerable": 4,
        "with_sources": 0,
        "answered": 2,
        "not_found": 2,
        "invalid_question": 1,
    }


def test_metrics_over_no_questions_are_none(make_result: ResultFactory) -> None:
    only_unanswerable = [make_result("u1", [], [])]
    assert set(answerable_metrics(only_unanswerable).values()) == {None}
    assert unanswerable_metrics([make_result("a", ["x"], [])]) == {
        "declined": None,
        "uncertain": None,
    }


def test_latency_percentiles_interpolate() -> None:
    summary = latency_metrics([40.0, 10.0, 30.0, 20.0])
    # sorted 10, 20, 30, 40: p50 halfway between 20 and 30; p95 at 0.95 * 3 = 2.85 -> 30 + 8.5
    assert summary == {
        "p50": pytest.approx(25.0),
        "p95": pytest.approx(38.5),
        "mean": pytest.approx(25.0),
        "max": pytest.approx(40.0),
    }
    assert set(latency_metrics([]).values()) == {None}


def test_retrieval_metrics_score_the_quotes_found_before_the_threshold(
    make_quote: QuoteFactory, make_answer: Callable[..., Answer]
) -> None:
    declined_question = Question("1", "Q?", ("x",), ())
    found = make_answer("Q?", [make_quote("no", "d"), make_quote("x!", "d")])
    declined = QuestionResult(declined_question, make_answer("Q?", []), found, 1.0)
    shown = make_answer("R?", [make_quote("y", "d")])
    answered = QuestionResult(Question("2", "R?", ("y",), ()), shown, shown, 1.0)
    off_topic = make_answer("S?", [make_quote("z", "d")])
    unanswerable = QuestionResult(Question("3", "S?"), off_topic, off_topic, 1.0)
    results = [declined, answered, unanswerable]

    assert retrieval_metrics(results) == {
        "hit_at_1": pytest.approx(1 / 2),
        "hit_at_k": pytest.approx(2 / 2),
        "mrr": pytest.approx((1 / 2 + 1) / 2),
    }
    shown_metrics = answerable_metrics(results)
    assert shown_metrics["hit_at_1"] == pytest.approx(1 / 2)
    assert shown_metrics["hit_at_k"] == pytest.approx(1 / 2)
    assert shown_metrics["declined"] == pytest.approx(1 / 2)


def test_by_question_type_counts_answerable_questions_of_each_kind(
    make_quote: QuoteFactory, make_answer: Callable[..., Answer]
) -> None:
    def result(question: str, gold: tuple[str, ...], quotes: list[str]) -> QuestionResult:
        answer = make_answer(question, [make_quote(text, "d") for text in quotes])
        return QuestionResult(Question(question, question, gold), answer, answer, 1.0)

    results = [
        result("Who wrote it?", ("Ann",), ["Ann wrote it."]),
        result("Whose idea was it?", ("Bob",), ["Not his.", "Bob had it."]),
        result("How many died?", ("426",), ["426 died."]),
        result("In what year did it end?", ("1953",), []),  # declined: a miss
        result("Who is the owl king?", (), ["Nobody."]),  # unanswerable: not counted
    ]
    table = by_question_type(results)
    assert list(table) == ["who", "when", "how many", "where", "what", "why", "other"]
    assert table["who"] == {"answerable": 2, "hit_at_1": 0.5, "hit_at_k": 1.0}
    assert table["how many"] == {"answerable": 1, "hit_at_1": 1.0, "hit_at_k": 1.0}
    assert table["when"] == {"answerable": 1, "hit_at_1": 0.0, "hit_at_k": 0.0}
    assert table["why"] == {"answerable": 0, "hit_at_1": None, "hit_at_k": None}


def test_relevance_auroc_puts_answerable_questions_first(make_result: ResultFactory) -> None:
    results = [
        make_result("a1", ["x"], [], relevance=0.9),
        make_result("a2", ["x"], [], relevance=0.4),
        make_result("u1", [], [], relevance=0.5),
        make_result("u2", [], [], relevance=0.4),
        make_result("u3", [], [], status="invalid_question"),  # left out
    ]
    # pairs (a, u): (0.9, 0.5) 1, (0.9, 0.4) 1, (0.4, 0.5) 0, (0.4, 0.4) a tie, 1/2
    assert relevance_metrics(results) == {"auroc": pytest.approx(2.5 / 4)}
    assert relevance_metrics(results[:2]) == {"auroc": None}
    assert relevance_metrics(results[2:]) == {"auroc": None}
