"""The one answering function shared by the command line, the bot and the harness.

``answer`` turns a question into an :class:`Answer`: quotes cut verbatim from the stored
documents (never rewritten), each with its citation, agreement between articles folded into
one quote, or a decline naming the closest topics the corpus covers. It has no side effects.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np

from retrieval.answer_type import expected_type, holds, question_words
from retrieval.config import Retriever
from retrieval.loaded import P_DOC, S_DOC, S_END, S_ORD, S_PASSAGE, S_START, LoadedIndex
from retrieval.query import prepare
from retrieval.search import Scored, search
from retrieval.types import Answer, Extract, Quote

NOT_FOUND_MESSAGE = "I couldn't find this in the articles."
CLOSEST_TOPICS = 3
#: Later quotes must score at least this share of the first (hybrid scores are absolute).
RELATIVE_FLOOR = 0.7
#: Sentence vectors this similar say the same thing: shown once, as agreement.
AGREEMENT_SIMILARITY = 0.86
#: Sentences of one document this similar are repeats: the later one is dropped.
DUPLICATE_SIMILARITY = 0.92
#: A neighbouring sentence scoring at least this share of a quote's joins it (same passage).
MERGE_SHARE = 0.9
#: A quote shorter than this takes its neighbour along, so it reads on its own.
MIN_QUOTE_CHARS = 60
MAX_QUOTE_SENTENCES = 3
MAX_OFFSET = 100
#: Words that make a sentence lean on the one before it.
_LEANS_BACK = re.compile(
    r"^[\"'“‘(]*(he|she|it|they|this|these|those|his|her|its|their|such)\b",
    re.IGNORECASE,
)


def answer(
    question: str,
    index: LoadedIndex,
    *,
    top_k: int,
    min_relevance: float,
    offset: int = 0,
    retriever: Retriever = "hybrid",
) -> Answer:
    """Answer ``question`` from ``index`` with up to ``top_k`` quotes after the first ``offset``.

    Bad questions come back as ``invalid_question`` with a message, never as an exception.
    With ``min_relevance=-inf`` it never declines (the harness uses that, then
    :func:`apply_threshold`, which is exactly the rule applied here).
    """
    prepared = prepare(question)
    shown = prepared.text or (question if isinstance(question, str) else "")
    if prepared.problem:
        return Answer(question=shown[:200], status="invalid_question", message=prepared.problem)
    offset = max(0, min(int(offset), MAX_OFFSET))
    query_vector = index.encoder.encode_one(prepared.text)
    ranked = search(index, prepared, query_vector, retriever)
    hybrid = retriever == "hybrid"
    quotes = _choose(
        index,
        ranked,
        offset + top_k + 1,
        relative=hybrid,
        wants=answer_type_check(prepared.text) if hybrid else None,
    )
    relevance = quotes[0].score if quotes else -math.inf
    result = Answer(
        question=shown,
        status="answered" if quotes else "not_found",
        quotes=tuple(quotes[offset : offset + top_k]),
        closest_topics=closest_topics(index, query_vector),
        relevance=relevance if math.isfinite(relevance) else 0.0,
        offset=offset,
        has_more=len(quotes) > offset + top_k,
        message=None if quotes else NOT_FOUND_MESSAGE,
    )
    return apply_threshold(result, min_relevance)


def apply_threshold(result: Answer, min_relevance: float) -> Answer:
    """Drop quotes scoring under ``min_relevance``; none left (or a weak best) is a decline."""
    if result.status == "invalid_question":
        return result
    if result.status == "answered" and result.relevance >= min_relevance:
        kept = tuple(q for q in result.quotes if q.score >= min_relevance)
        if kept:
            return result.model_copy(
                update={
                    "quotes": kept,
                    "has_more": result.has_more and len(kept) == len(result.quotes),
                }
            )
    return result.model_copy(
        update={
            "status": "not_found",
            "quotes": (),
            "has_more": False,
            "message": NOT_FOUND_MESSAGE,
        }
    )


def answer_type_check(question: str) -> Callable[[str], bool] | None:
    """A test of whether a sentence holds the kind of answer ``question`` asks for."""
    kind = expected_type(question)
    if kind is None:
        return None
    words = question_words(question)
    return lambda sentence: holds(sentence, kind, words)


def closest_topics(index: LoadedIndex, query_vector: np.ndarray) -> tuple[str, ...]:
    """Titles (or ids) of the documents whose passages are nearest the question."""
    from retrieval import vectors

    topics: list[str] = []
    for pos, _score in vectors.search(index.passage_faiss, query_vector, 10 * CLOSEST_TOPICS):
        source = index.sources[int(index.passages[pos, P_DOC])]
        topic = source.title or source.id
        if topic not in topics:
            topics.append(topic)
        if len(topics) == CLOSEST_TOPICS:
            break
    return tuple(topics)


def extract(index: LoadedIndex, first: int, last: int) -> Extract:
    """The verbatim text from sentence position ``first`` to ``last`` (same document)."""
    row_a, row_b = index.sentences[first], index.sentences[last]
    document = index.documents[int(row_a[S_DOC])]
    start, end = int(row_a[S_START]), int(row_b[S_END])
    return Extract(
        text=document.text[start:end],
        start=start,
        end=end,
        source=index.sources[int(row_a[S_DOC])],
        first_sentence=int(row_a[S_ORD]),
        last_sentence=int(row_b[S_ORD]),
    )


def _same_passage(index: LoadedIndex, a: int, b: int) -> bool:
    if not (0 <= b < len(index.sentences)):
        return False
    ra, rb = index.sentences[a], index.sentences[b]
    return bool(ra[S_DOC] == rb[S_DOC] and ra[S_PASSAGE] == rb[S_PASSAGE])


def quote_span(
    index: LoadedIndex,
    pos: int,
    scores: dict[int, float] | None = None,
    wants: Callable[[str], bool] | None = None,
) -> tuple[int, int]:
    """Sentence positions a quote of sentence ``pos`` covers so it reads on its own.

    It takes the previous sentence when this one leans on it ("He said..."), neighbours that
    are nearly as relevant themselves (``scores``), the next (or else previous) sentence when
    this one lacks the kind of answer asked for and that one has it (``wants``), and a
    neighbour when it is very short.
    """
    first = last = pos
    if _LEANS_BACK.match(index.sentence_text(pos)) and _same_passage(index, pos, pos - 1):
        first = pos - 1
    if wants is not None and not wants(index.sentence_text(pos)):
        if _same_passage(index, pos, last + 1) and wants(index.sentence_text(last + 1)):
            last += 1
        elif _same_passage(index, pos, first - 1) and wants(index.sentence_text(first - 1)):
            first -= 1
    if scores:
        bar = scores.get(pos, 0.0) * MERGE_SHARE
        if (
            last - first + 1 < MAX_QUOTE_SENTENCES
            and _same_passage(index, pos, last + 1)
            and (scores.get(last + 1, -math.inf) >= bar)
        ):
            last += 1
        if (
            last - first + 1 < MAX_QUOTE_SENTENCES
            and _same_passage(index, pos, first - 1)
            and (scores.get(first - 1, -math.inf) >= bar)
        ):
            first -= 1
    while (
        _span_chars(index, first, last) < MIN_QUOTE_CHARS
        and last - first + 1 < MAX_QUOTE_SENTENCES
        and _same_passage(index, pos, last + 1)
    ):
        last += 1
    return first, last


def _span_chars(index: LoadedIndex, first: int, last: int) -> int:
    return int(index.sentences[last, S_END] - index.sentences[first, S_START])


def _choose(
    index: LoadedIndex,
    ranked: list[Scored],
    limit: int,
    *,
    relative: bool,
    wants: Callable[[str], bool] | None = None,
) -> list[Quote]:
    """Pick quotes best first: no overlaps, no repeats, agreement folded into ``also_in``."""
    chosen: list[tuple[Quote, int, int, list[Extract]]] = []
    covered: set[int] = set()
    floor = ranked[0].score * RELATIVE_FLOOR if ranked and relative else -math.inf
    scores = {c.position: c.score for c in ranked} if relative else None
    for cand in ranked:
        if cand.score < floor:
            break
        if cand.position in covered:
            continue
        vector = index.sentence_vectors[cand.position]
        doc = int(index.sentences[cand.position, S_DOC])
        folded = False
        for _quote, anchor, anchor_doc, agreeing in chosen:
            similarity = float(index.sentence_vectors[anchor] @ vector)
            if anchor_doc == doc and similarity >= DUPLICATE_SIMILARITY:
                folded = True
            elif anchor_doc != doc and similarity >= AGREEMENT_SIMILARITY:
                if all(e.source.id != index.sources[doc].id for e in agreeing):
                    agreeing.append(extract(index, *quote_span(index, cand.position)))
                folded = True
            if folded:
                break
        if folded:
            covered.add(cand.position)
            continue
        if len(chosen) >= limit:
            continue
        first, last = quote_span(index, cand.position, scores, wants)
        if any(p in covered for p in range(first, last + 1)):
            first = last = cand.position
        covered.update(range(first, last + 1))
        base = extract(index, first, last)
        chosen.append(
            (Quote(**base.model_dump(), score=round(cand.score, 6)), cand.position, doc, [])
        )
    return [
        quote.model_copy(update={"also_in": tuple(agreeing)}) if agreeing else quote
        for quote, _anchor, _doc, agreeing in chosen
    ]
