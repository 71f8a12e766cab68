"""How the decline threshold trades answerable hits against right declines.

Each candidate threshold is applied with ``apply_threshold`` to the undeclined answers the runner
kept, so every row is exactly what users would have got with that threshold.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from retrieval.answer.answering import apply_threshold
from retrieval.evaluation.metrics import QuestionResult, hit_rank, share

#: Percentiles of the observed relevances tried as thresholds (the deciles, both ends included).
THRESHOLD_PERCENTILES = tuple(range(0, 101, 10))


def candidate_thresholds(results: Sequence[QuestionResult], configured: float) -> list[float]:
    """The deciles of the relevances observed on valid questions, plus ``configured``, sorted.

    Invalid questions are left out: their relevance says nothing about the corpus.
    """
    relevances = [r.raw.relevance for r in results if r.raw.status != "invalid_question"]
    thresholds = {float(configured)}
    if relevances:
        values = np.percentile(np.asarray(relevances, dtype=float), THRESHOLD_PERCENTILES)
        thresholds.update(float(value) for value in values)
    return sorted(thresholds)


def threshold_tradeoff(
    results: Sequence[QuestionResult], configured: float, thresholds: Sequence[float] | None = None
) -> list[dict[str, float | bool | None]]:
    """One row per threshold (default: ``candidate_thresholds``), lowest first.

    Row keys: ``min_relevance``; ``configured`` (the threshold this run used);
    ``answerable_hit_at_1`` and ``answerable_hit_at_k`` (a decline is a miss);
    ``answerable_declined`` (wrongly declined share); ``unanswerable_declined`` (rightly
    declined share). Shares over no questions are ``None``.
    """
    if thresholds is None:
        thresholds = candidate_thresholds(results, configured)
    answerable = [r for r in results if r.question.answerable]
    unanswerable = [r for r in results if not r.question.answerable]
    rows: list[dict[str, float | bool | None]] = []
    for threshold in thresholds:
        shown = [apply_threshold(r.raw, threshold) for r in answerable]
        ranks = [
            hit_rank(a.quotes, r.question.answers) for a, r in zip(shown, answerable, strict=True)
        ]
        declined = [not apply_threshold(r.raw, threshold).answered for r in unanswerable]
        rows.append(
            {
                "min_relevance": float(threshold),
                "configured": threshold == configured,
                "answerable_hit_at_1": share([rank == 1 for rank in ranks]),
                "answerable_hit_at_k": share([rank is not None for rank in ranks]),
                "answerable_declined": share([not answer.answered for answer in shown]),
                "unanswerable_declined": share(declined),
            }
        )
    return rows
