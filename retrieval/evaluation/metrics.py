"""Scoring answers against gold: hits, ranks, citations, declines, relevance and latency.

All shares are fractions 0–1; a share over no questions is ``None`` (nothing was measured).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from retrieval.evaluation.matching import contains_answer
from retrieval.evaluation.question_type import QUESTION_TYPES, question_type
from retrieval.evaluation.questions import Question
from retrieval.evaluation.separation import auroc
from retrieval.types import Answer, Quote

#: Latency percentiles reported, by name.
LATENCY_PERCENTILES = {"p50": 50.0, "p95": 95.0}


@dataclass(frozen=True)
class QuestionResult:
    """One question replayed: the answer users would get, the undeclined one, and the time.

    ``answer`` has the decline threshold applied; ``raw`` was asked with no threshold, so its
    quotes and ``relevance`` are there even where ``answer`` declines.
    """

    question: Question
    answer: Answer
    raw: Answer
    latency_ms: float

    @property
    def hit_rank(self) -> int | None:
        """Rank (1-based) of the first shown quote holding a gold answer; None if none does."""
        return hit_rank(self.answer.quotes, self.question.answers)

    @property
    def declined(self) -> bool:
        """Whether the user got no quotes (a decline or an invalid question)."""
        return not self.answer.answered


def hit_rank(quotes: Sequence[Quote], answers: Sequence[str]) -> int | None:
    """Rank (1-based) of the first quote whose text holds a gold answer, or None.

    "Holds" is ``matching.contains_answer``: whole words after SQuAD's normalisation.
    """
    for rank, quote in enumerate(quotes, start=1):
        if contains_answer(quote.text, answers):
            return rank
    return None


def cites(quote: Quote, sources: Sequence[str]) -> bool:
    """Whether ``quote`` cites a gold source: its own document or an agreeing ``also_in`` one."""
    gold = set(sources)
    return quote.source.id in gold or any(extract.source.id in gold for extract in quote.also_in)


def answerable_metrics(results: Sequence[QuestionResult]) -> dict[str, float | None]:
    """Metrics over questions that have gold answers (others in ``results`` are ignored).

    - ``hit_at_1``: share whose first quote holds a gold answer.
    - ``hit_at_k``: share where any quote shown holds one.
    - ``mrr``: mean of 1/rank of the first quote holding one (0 when none does).
    - ``citation_accuracy``: over the answerable questions that name gold ``sources``, the share
      whose first hitting quote cites one of them (its own document, or an agreeing extract in
      ``also_in``). A question with no hitting quote counts as not cited, so this is at most
      ``hit_at_k`` on the same questions. ``None`` when no question names sources.
    - ``declined``: share wrongly declined (no quotes shown).
    - ``uncertain``: share answered with the mark of an unsure answer (``Answer.uncertain``).

    A declined question has no quotes, so it is a miss for every hit metric.
    """
    scored = [result for result in results if result.question.answerable]
    ranks = [result.hit_rank for result in scored]
    with_sources = [result for result in scored if result.question.sources]
    cited = [_first_hit_cited(result) for result in with_sources]
    return {
        "hit_at_1": share([rank == 1 for rank in ranks]),
        "hit_at_k": share([rank is not None for rank in ranks]),
        "mrr": _mean([1.0 / rank if rank else 0.0 for rank in ranks]),
        "citation_accuracy": share(cited),
        "declined": share([result.declined for result in scored]),
        "uncertain": share([result.answer.uncertain for result in scored]),
    }


def retrieval_metrics(results: Sequence[QuestionResult]) -> dict[str, float | None]:
    """``hit_at_1``, ``hit_at_k`` and ``mrr`` of answerable questions with no decline threshold.

    Scored on the quotes the engine found before the threshold, so they measure the ranking
    alone: the fair comparison between retrievers whose scores lie on different scales.
    """
    ranks = [
        hit_rank(result.raw.quotes, result.question.answers)
        for result in results
        if result.question.answerable
    ]
    return {
        "hit_at_1": share([rank == 1 for rank in ranks]),
        "hit_at_k": share([rank is not None for rank in ranks]),
        "mrr": _mean([1.0 / rank if rank else 0.0 for rank in ranks]),
    }


def unanswerable_metrics(results: Sequence[QuestionResult]) -> dict[str, float | None]:
    """Metrics over questions with no gold answer: ``declined`` is the rightly declined share,
    ``uncertain`` the share answered with the mark of an unsure answer."""
    scored = [result for result in results if not result.question.answerable]
    return {
        "declined": share([result.declined for result in scored]),
        "uncertain": share([result.answer.uncertain for result in scored]),
    }


def by_question_type(results: Sequence[QuestionResult]) -> dict[str, dict[str, float | None]]:
    """``answerable`` (how many), ``hit_at_1`` and ``hit_at_k`` per kind of answerable question.

    Kinds are ``question_type.QUESTION_TYPES`` in their order, each present (a kind with no
    questions has count 0 and None shares). Hits are of the quotes shown, as in
    ``answerable_metrics``: a decline is a miss.
    """
    ranks: dict[str, list[int | None]] = {kind: [] for kind in QUESTION_TYPES}
    for result in results:
        if result.question.answerable:
            ranks[question_type(result.question.question)].append(result.hit_rank)
    return {
        kind: {
            "answerable": len(found),
            "hit_at_1": share([rank == 1 for rank in found]),
            "hit_at_k": share([rank is not None for rank in found]),
        }
        for kind, found in ranks.items()
    }


def relevance_metrics(results: Sequence[QuestionResult]) -> dict[str, float | None]:
    """``auroc``: how well the undeclined answer's relevance tells answerable questions (which
    should score higher) from unanswerable ones; None without both kinds.

    Invalid questions are left out: their relevance says nothing about the corpus.
    """
    valid = [result for result in results if result.raw.status != "invalid_question"]
    return {
        "auroc": auroc(
            [result.raw.relevance for result in valid if result.question.answerable],
            [result.raw.relevance for result in valid if not result.question.answerable],
        )
    }


def latency_metrics(latencies_ms: Sequence[float]) -> dict[str, float | None]:
    """``p50``, ``p95``, ``mean`` and ``max`` of latencies in ms (percentiles interpolated)."""
    if not latencies_ms:
        return {name: None for name in (*LATENCY_PERCENTILES, "mean", "max")}
    values = np.asarray(latencies_ms, dtype=float)
    summary: dict[str, float | None] = {
        name: float(np.percentile(values, q)) for name, q in LATENCY_PERCENTILES.items()
    }
    summary["mean"] = float(values.mean())
    summary["max"] = float(values.max())
    return summary


def counts(results: Sequence[QuestionResult]) -> dict[str, int]:
    """How many questions there were, of each kind, and how they came back."""
    statuses = [result.answer.status for result in results]
    answerable = sum(result.question.answerable for result in results)
    return {
        "questions": len(results),
        "answerable": answerable,
        "unanswerable": len(results) - answerable,
        "with_sources": sum(
            bool(result.question.answerable and result.question.sources) for result in results
        ),
        "answered": statuses.count("answered"),
        "not_found": statuses.count("not_found"),
        "invalid_question": statuses.count("invalid_question"),
    }


def _first_hit_cited(result: QuestionResult) -> bool:
    rank = result.hit_rank
    if rank is None:
        return False
    return cites(result.answer.quotes[rank - 1], result.question.sources)


def share(flags: Sequence[bool]) -> float | None:
    """The share of true flags, or None for no flags."""
    return sum(flags) / len(flags) if flags else None


def _mean(values: Sequence[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None
