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

from retrieval.config import Retriever
from retrieval.index.loaded import LoadedIndex, Reader
from retrieval.search.answer_type import expected_type, holds, question_words
from retrieval.search.candidates import Scored, search
from retrieval.search.query import prepare
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
    hybrid = retriever == "hybrid"
    with index.reader() as reader:
        ranked = search(reader, prepared, query_vector, retriever)
        quotes = _choose(
            reader,
            ranked,
            offset + top_k + 1,
            relative=hybrid,
            wants=answer_type_check(prepared.text) if hybrid else None,
        )
        relevance = quotes[0].score if quotes else -math.inf
        topics = closest_topics(reader, query_vector)
    result = Answer(
        question=shown,
        status="answered" if quotes else "not_found",
        quotes=tuple(quotes[offset : offset + top_k]),
        closest_topics=topics,
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


def closest_topics(reader: Reader, query_vector: np.ndarray) -> tuple[str, ...]:
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


def extract(reader: Reader, first: int, last: int) -> Extract:
    """The verbatim text from sentence position ``first`` to ``last`` (same document)."""
    rows = reader.sentences([first, last])
    row_a, row_b = rows[first], rows[last]
    if row_a is None or row_b is None or row_a.doc != row_b.doc:
        raise ValueError(f"sentences {first}..{last} are not one live document's")
    text = reader.text(row_a.doc)
    return Extract(
        text=text[row_a.start : row_b.end],
        start=row_a.start,
        end=row_b.end,
        source=reader.document(row_a.doc).source,
        first_sentence=row_a.ordinal,
        last_sentence=row_b.ordinal,
    )


def _text(reader: Reader, pos: int) -> str:
    row = reader.sentence(pos)
    return row.text if row is not None else ""


def quote_span(
    reader: Reader,
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
    reader.sentences([pos - 2, pos - 1, pos, pos + 1, pos + 2])
    same = reader.same_passage
    first = last = pos
    if _LEANS_BACK.match(_text(reader, pos)) and same(pos, pos - 1):
        first = pos - 1
    if wants is not None and not wants(_text(reader, pos)):
        if same(pos, last + 1) and wants(_text(reader, last + 1)):
            last += 1
        elif same(pos, first - 1) and wants(_text(reader, first - 1)):
            first -= 1
    if scores:
        bar = scores.get(pos, 0.0) * MERGE_SHARE
        if (
            last - first + 1 < MAX_QUOTE_SENTENCES
            and same(pos, last + 1)
            and (scores.get(last + 1, -math.inf) >= bar)
        ):
            last += 1
        if (
            last - first + 1 < MAX_QUOTE_SENTENCES
            and same(pos, first - 1)
            and (scores.get(first - 1, -math.inf) >= bar)
        ):
            first -= 1
    while (
        _span_chars(reader, first, last) < MIN_QUOTE_CHARS
        and last - first + 1 < MAX_QUOTE_SENTENCES
        and same(pos, last + 1)
    ):
        last += 1
    return first, last


def _span_chars(reader: Reader, first: int, last: int) -> int:
    a, b = reader.sentence(first), reader.sentence(last)
    return 0 if a is None or b is None else b.end - a.start


def _choose(
    reader: Reader,
    ranked: list[Scored],
    limit: int,
    *,
    relative: bool,
    wants: Callable[[str], bool] | None = None,
) -> list[Quote]:
    """Pick quotes best first: no overlaps, no repeats, agreement folded into ``also_in``."""
    chosen: list[tuple[Quote, np.ndarray, int, list[Extract]]] = []
    covered: set[int] = set()
    floor = ranked[0].score * RELATIVE_FLOOR if ranked and relative else -math.inf
    scores = {c.position: c.score for c in ranked} if relative else None
    for cand in ranked:
        if cand.score < floor:
            break
        if cand.position in covered:
            continue
        row = reader.sentence(cand.position)
        if row is None:
            continue
        vector = reader.sentence_vectors([cand.position])[0]
        doc = row.doc
        folded = False
        for _quote, anchor_vector, anchor_doc, agreeing in chosen:
            similarity = float(anchor_vector @ vector)
            if anchor_doc == doc and similarity >= DUPLICATE_SIMILARITY:
                folded = True
            elif anchor_doc != doc and similarity >= AGREEMENT_SIMILARITY:
                doc_id = reader.document(doc).source.id
                if all(e.source.id != doc_id for e in agreeing):
                    agreeing.append(extract(reader, *quote_span(reader, cand.position)))
                folded = True
            if folded:
                break
        if folded:
            covered.add(cand.position)
            continue
        if len(chosen) >= limit:
            continue
        first, last = quote_span(reader, cand.position, scores, wants)
        if any(p in covered for p in range(first, last + 1)):
            first = last = cand.position
        covered.update(range(first, last + 1))
        base = extract(reader, first, last)
        chosen.append((Quote(**base.model_dump(), score=round(cand.score, 6)), vector, doc, []))
    return [
        quote.model_copy(update={"also_in": tuple(agreeing)}) if agreeing else quote
        for quote, _vector, _doc, agreeing in chosen
    ]
