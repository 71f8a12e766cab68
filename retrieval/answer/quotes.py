"""Quotes: candidate sentences cut into verbatim, self-contained quotes, best first.

A quote is a run of sentences of one passage, cut from the stored text by offsets and never
rewritten (``text == document text[start:end]``), with the pages it spans when its document
has pages (a PDF). It takes along what makes it read on its
own; quotes never overlap; a sentence that repeats one already chosen is dropped, and one that
says the same in another article is folded into the quote's ``also_in``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np

from retrieval.index.view import IndexView
from retrieval.search.candidates import Scored
from retrieval.types import Extract, Quote, page_range

#: Later quotes must score at least this share of the first: for the hand-set scores...
RELATIVE_FLOOR = 0.7
#: ...and for the learned ranker's probabilities, which spread further apart. Both show about
#: as many quotes per answer (2.4 and 2.3 on SQuAD 2.0 dev, held-out folds).
LEARNED_RELATIVE_FLOOR = 0.1
#: Sentence vectors this similar say the same thing: shown once, as agreement.
AGREEMENT_SIMILARITY = 0.86
#: Sentences of one document this similar are repeats: the later one is dropped.
DUPLICATE_SIMILARITY = 0.92
#: A neighbouring sentence scoring at least this share of a quote's joins it (same passage).
MERGE_SHARE = 0.9
#: A quote shorter than this takes its neighbour along, so it reads on its own.
MIN_QUOTE_CHARS = 60
MAX_QUOTE_SENTENCES = 3
#: Words that make a sentence lean on the one before it.
_LEANS_BACK = re.compile(
    r"^[\"'“‘(]*(he|she|it|they|this|these|those|his|her|its|their|such)\b",
    re.IGNORECASE,
)


def extract(reader: IndexView, first: int, last: int) -> Extract:
    """The verbatim text from sentence position ``first`` to ``last`` (same document)."""
    rows = reader.sentences([first, last])
    row_a, row_b = rows[first], rows[last]
    if row_a is None or row_b is None or row_a.doc != row_b.doc:
        raise ValueError(f"sentences {first}..{last} are not one live document's")
    text = reader.text(row_a.doc)
    document = reader.document(row_a.doc)
    return Extract(
        text=text[row_a.start : row_b.end],
        start=row_a.start,
        end=row_b.end,
        source=document.source,
        first_sentence=row_a.ordinal,
        last_sentence=row_b.ordinal,
        pages=page_range(document.pages, row_a.start, row_b.end),
    )


def _text(reader: IndexView, pos: int) -> str:
    row = reader.sentence(pos)
    return row.text if row is not None else ""


def quote_span(
    reader: IndexView,
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


def _span_chars(reader: IndexView, first: int, last: int) -> int:
    a, b = reader.sentence(first), reader.sentence(last)
    return 0 if a is None or b is None else b.end - a.start


def choose(
    reader: IndexView,
    ranked: list[Scored],
    limit: int,
    *,
    relative: bool,
    floor_share: float = RELATIVE_FLOOR,
    merge_scores: dict[int, float] | None = None,
    wants: Callable[[str], bool] | None = None,
) -> list[Quote]:
    """Pick quotes best first: no overlaps, no repeats, agreement folded into ``also_in``.

    ``merge_scores`` decide which neighbours join a quote (default: the ranking's scores).
    """
    chosen: list[tuple[Quote, np.ndarray, int, list[Extract]]] = []
    covered: set[int] = set()
    floor = ranked[0].score * floor_share if ranked and relative else -math.inf
    scores = None
    if relative:
        scores = merge_scores or {c.position: c.score for c in ranked}
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
