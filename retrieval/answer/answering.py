"""The one answering function shared by the command line, the bot and the harness.

``answer`` turns a question into an :class:`Answer`: the best candidates (``retrieval.search``)
cut into quotes (``retrieval.answer.quotes``), each with its citation, or a decline naming the
closest topics the corpus covers. It has no side effects.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import ExitStack

import numpy as np

from retrieval.answer.meanwhile import meanwhile
from retrieval.answer.quotes import LEARNED_RELATIVE_FLOOR, RELATIVE_FLOOR, choose
from retrieval.config import Retriever
from retrieval.index.view import IndexView, OpenIndex
from retrieval.search.answer_type import expected_type, holds, question_words
from retrieval.search.candidates import search
from retrieval.search.features import lexical_side
from retrieval.search.followup import in_context, leans_on
from retrieval.search.query import prepare
from retrieval.search.ranker import Ranker, default_ranker
from retrieval.types import Answer, PriorTurn

NOT_FOUND_MESSAGE = "I couldn't find this in the articles."
CLOSEST_TOPICS = 3
MAX_OFFSET = 100


def answer(
    question: str,
    index: OpenIndex,
    *,
    top_k: int,
    min_relevance: float,
    offset: int = 0,
    retriever: Retriever = "hybrid",
    context: PriorTurn | None = None,
    ranker: Ranker | None = None,
) -> Answer:
    """Answer ``question`` from ``index`` with up to ``top_k`` quotes after the first ``offset``.

    ``context`` is the question asked just before and its quotes: a follow-up that leans on
    it ("when did he die?") is answered in that context and says so (``context_question``);
    a question with names of its own ignores it. Bad questions come back as
    ``invalid_question`` with a message, never as an exception. With ``min_relevance=-inf``
    it never declines (the harness uses that, then :func:`apply_threshold`, which is exactly
    the rule applied here). ``ranker`` replaces the shipped model of the ``hybrid`` retriever
    (the harness scores each article with a model trained without it).
    """
    prepared = prepare(question, index.language)
    shown = prepared.text or (question if isinstance(question, str) else "")
    if prepared.problem:
        return Answer(question=shown[:200], status="invalid_question", message=prepared.problem)
    offset = max(0, min(int(offset), MAX_OFFSET))
    leaning = context is not None and leans_on(prepared, context)
    if leaning and context is not None:
        prepared = in_context(prepared, context)
    hybrid = retriever in ("hybrid", "hand")
    with ExitStack() as stack:
        reader = stack.enter_context(index.reader())
        if retriever != "dense":  # a store that reads over the network reads them meanwhile
            reader.read_ahead(prepared.looked_up)
        # the question's words are looked up on another core while it is encoded (a vector at
        # hand needs no encoding, and handing work to a thread for nothing cost 0.2 ms)
        encoding = not all(map(index.encoder.remembers, prepared.encoded))
        lexical = (
            stack.enter_context(meanwhile(lexical_side, reader, prepared))
            if hybrid and encoding
            else None
        )
        query_vector = index.encoder.encode_one(prepared.text)
        context_vector = (
            index.encoder.encode_one(prepared.context_text) if prepared.context_text else None
        )
        place_vector = query_vector if context_vector is None else context_vector
        ranked = search(
            reader,
            prepared,
            query_vector,
            retriever,
            context_vector=context_vector,
            ranker=ranker,
            lexical=lexical.result() if lexical is not None else None,
        )
        quotes = choose(
            reader,
            ranked.candidates,
            offset + top_k + 1,
            relative=hybrid,
            floor_share=LEARNED_RELATIVE_FLOOR if retriever == "hybrid" else RELATIVE_FLOOR,
            merge_scores=ranked.merge_scores,
            wants=answer_type_check(prepared.text, prepared.known) if hybrid else None,
        )
        relevance = -math.inf
        if quotes:
            relevance = quotes[0].score if ranked.relevance is None else ranked.relevance
        # Topics are shown on a decline; the harness's raw answers (no threshold) keep them for
        # the declines apply_threshold makes later. An answer given needs none (at 1M
        # sentences their passages and documents cost 0.5 ms an answer).
        declined = not quotes or relevance < min_relevance or not math.isfinite(min_relevance)
        topics = closest_topics(reader, place_vector) if declined else ()
    unsure_below = (ranker or default_ranker()).unsure_below if retriever == "hybrid" else None
    result = Answer(
        question=shown,
        status="answered" if quotes else "not_found",
        quotes=tuple(quotes[offset : offset + top_k]),
        closest_topics=topics,
        relevance=relevance if math.isfinite(relevance) else 0.0,
        offset=offset,
        has_more=len(quotes) > offset + top_k,
        message=None if quotes else NOT_FOUND_MESSAGE,
        context_question=context.question if leaning and context is not None else None,
        uncertain=bool(quotes) and unsure_below is not None and relevance < unsure_below,
    )
    return apply_threshold(result, min_relevance)


def apply_threshold(result: Answer, min_relevance: float) -> Answer:
    """A decline when the answer's relevance is under ``min_relevance``; else ``result``.

    Only the answer's relevance decides: the quotes after the first were already cut to those
    scoring close to it (``choose``'s relative floor), and a hybrid answer's relevance is the
    answerability model's, on another scale than its quotes' sentence probabilities.
    """
    if result.status == "invalid_question":
        return result
    if result.status == "answered" and result.relevance >= min_relevance:
        # topics are for declines: a raw answer (no threshold) keeps them for a later one
        if result.closest_topics and math.isfinite(min_relevance):
            return result.model_copy(update={"closest_topics": ()})
        return result
    return result.model_copy(
        update={
            "status": "not_found",
            "quotes": (),
            "has_more": False,
            "message": NOT_FOUND_MESSAGE,
            "uncertain": False,
        }
    )


def answer_type_check(question: str, known: tuple[str, ...] = ()) -> Callable[[str], bool] | None:
    """A test of whether a sentence holds the kind of answer ``question`` asks for.

    ``known`` are further words the asker has said (a follow-up's earlier question): a
    sentence holding only those has nothing new.
    """
    kind = expected_type(question)
    if kind is None:
        return None
    words = question_words(question) | set(known)
    return lambda sentence: holds(sentence, kind, words)


def closest_topics(reader: IndexView, query_vector: np.ndarray) -> tuple[str, ...]:
    """Titles (or ids) of the documents whose passages are nearest the question."""
    hits = reader.dense("passages", query_vector, 10 * CLOSEST_TOPICS)
    rows = reader.passages([pos for pos, _ in hits])
    reader.documents([r.doc for r in rows.values() if r is not None])
    topics: list[str] = []
    for pos, _score in hits:
        row = rows[pos]
        if row is None:
            continue
        source = reader.document(row.doc).source
        topic = source.title or source.id
        if topic not in topics:
            topics.append(topic)
        if len(topics) == CLOSEST_TOPICS:
            break
    return tuple(topics)
