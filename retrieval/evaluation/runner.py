"""Replays questions through the engine's own ``answer`` and times each call.

Every question is asked once with no decline threshold (so the quotes and relevance are always
there) and the configured threshold is then applied with ``apply_threshold``, the very rule
``Engine.answer`` uses: what is measured is what users get, and the threshold trade-off can be
computed from the same calls.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Protocol

from tqdm import tqdm

from retrieval.answer.answering import apply_threshold
from retrieval.config import Retriever
from retrieval.evaluation.metrics import QuestionResult
from retrieval.evaluation.questions import Question
from retrieval.search.ranker import Ranker
from retrieval.types import Answer

#: The threshold that never declines, so every answer keeps its quotes.
NO_THRESHOLD = float("-inf")
#: Milliseconds in a second.
MS_PER_S = 1000.0


class Answerer(Protocol):
    """What the runner needs of an engine: ``Engine.answer``'s signature."""

    def answer(
        self,
        question: str,
        *,
        top_k: int | None = None,
        offset: int = 0,
        retriever: Retriever | None = None,
        min_relevance: float | None = None,
        ranker: Ranker | None = None,
    ) -> Answer: ...


def run_questions(
    engine: Answerer,
    questions: Sequence[Question],
    *,
    retriever: Retriever,
    top_k: int,
    min_relevance: float,
    progress: bool = True,
    ranker_for: Callable[[Question], Ranker] | None = None,
) -> list[QuestionResult]:
    """Ask every question with ``retriever`` and ``top_k`` and score-ready results, in order.

    One untimed warm-up call comes first, so the latencies are those of a warm engine. The
    latency is the wall time of the ``answer`` call alone. The progress bar goes to stderr.
    ``ranker_for`` gives the model that scores each question (held-out folds,
    ``retrieval.evaluation.folds``) in place of the shipped one.
    """
    if not questions:
        return []
    engine.answer(
        questions[0].question, top_k=top_k, retriever=retriever, min_relevance=NO_THRESHOLD
    )
    results: list[QuestionResult] = []
    bar = tqdm(questions, desc=f"eval {retriever}", unit="q", disable=not progress, leave=False)
    for question in bar:
        started = time.perf_counter()
        raw = engine.answer(
            question.question,
            top_k=top_k,
            retriever=retriever,
            min_relevance=NO_THRESHOLD,
            ranker=ranker_for(question) if ranker_for is not None else None,
        )
        latency_ms = (time.perf_counter() - started) * MS_PER_S
        answer = apply_threshold(raw, min_relevance)
        results.append(QuestionResult(question, answer, raw, latency_ms))
    return results
