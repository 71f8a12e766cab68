"""Hand-made answers and results for the metric, trade-off and report tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from retrieval.evaluation.metrics import QuestionResult
from retrieval.evaluation.questions import Question
from retrieval.types import Answer, Extract, Quote, Source


def _quote(text: str, source: str, score: float = 0.5, also_in: Sequence[str] = ()) -> Quote:
    """A quote of ``text`` from document ``source``, agreeing with the ``also_in`` documents."""
    agreeing = tuple(
        Extract(
            text=f"{text} (as {other} says)",
            start=0,
            end=len(text),
            source=Source(id=other),
            first_sentence=0,
            last_sentence=0,
        )
        for other in also_in
    )
    return Quote(
        text=text,
        start=0,
        end=len(text),
        source=Source(id=source, title=source.title()),
        first_sentence=0,
        last_sentence=0,
        score=score,
        also_in=agreeing,
    )


def _answer(question: str, quotes: Sequence[Quote], relevance: float | None = None) -> Answer:
    """An answered question, or a decline when there are no quotes."""
    if relevance is None:
        relevance = quotes[0].score if quotes else 0.0
    return Answer(
        question=question,
        status="answered" if quotes else "not_found",
        quotes=tuple(quotes),
        relevance=relevance,
        message=None if quotes else "I couldn't find this in the articles.",
    )


@pytest.fixture
def make_quote() -> Callable[..., Quote]:
    """Build a quote: ``make_quote(text, source, score=0.5, also_in=())``."""
    return _quote


@pytest.fixture
def make_answer() -> Callable[..., Answer]:
    """Build an answer: ``make_answer(question, quotes, relevance=None)``."""
    return _answer


@pytest.fixture
def make_result() -> Callable[..., QuestionResult]:
    """Build a QuestionResult whose shown answer equals its raw one (no threshold applied)."""

    def build(
        qid: str,
        answers: Sequence[str],
        quotes: Sequence[Quote],
        *,
        sources: Sequence[str] = (),
        latency_ms: float = 10.0,
        status: str | None = None,
        relevance: float | None = None,
        uncertain: bool = False,
    ) -> QuestionResult:
        question = Question(qid, f"question {qid}?", tuple(answers), tuple(sources))
        answer = _answer(question.question, quotes, relevance)
        if uncertain:
            answer = answer.model_copy(update={"uncertain": True})
        if status == "invalid_question":
            answer = Answer(
                question=question.question, status="invalid_question", message="empty question"
            )
        return QuestionResult(question, answer, answer, latency_ms)

    return build
