"""Stand-in engines, for tests of the bot that do not depend on what the answers say."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

from retrieval.engine import Engine
from retrieval.search.followup import leans_on
from retrieval.search.query import prepare
from retrieval.types import Answer, PriorTurn

#: Longer questions are declined by the real engine ("at most ... characters").
LONG_QUESTION_CHARS = 4096


class CannedEngine:
    """Answers with real answers computed once, so a test can send thousands of questions.

        ``answer`` returns one of the real engine's answers to ``questions`` (picked by a hash of
        the question, so the same question gets the same answer), or the real engine's answer to
        an empty or an overlong question for those, cut to ``top_k`` quotes if asked; "More" (an
    offset) asks the real engine. A follow-up in a context gets a canned answer that names the
    context when the real engine would take it. All
        else (sources, context, info, example questions) is the real engine's.
    """

    def __init__(self, real: Engine, questions: Sequence[str]) -> None:
        self._real = real
        self._answers = [real.answer(q) for q in questions]
        self._empty = real.answer(" ")
        self._long = real.answer("x" * (LONG_QUESTION_CHARS + 1))

    def answer(
        self, question: str, *, offset: int = 0, top_k: int | None = None, **options: Any
    ) -> Answer:
        context: PriorTurn | None = options.pop("context", None)
        if offset or options:
            return self._real.answer(
                question, offset=offset, top_k=top_k, context=context, **options
            )
        if not question.strip():
            chosen = self._empty
        elif len(question) > LONG_QUESTION_CHARS:
            chosen = self._long
        else:
            digest = zlib.crc32(question.encode("utf-8", "surrogatepass"))
            chosen = self._answers[digest % len(self._answers)]
        quotes = chosen.quotes[:top_k] if top_k is not None else chosen.quotes
        # a follow-up names its context as the real engine would, with the canned quotes
        leaned = context is not None and leans_on(prepare(question), context)
        taken = context.question if leaned and context is not None else None
        return chosen.model_copy(
            update={"question": question, "quotes": quotes, "context_question": taken}
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)
