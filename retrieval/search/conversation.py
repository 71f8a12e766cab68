"""Where a conversation stands: a follow-up's answer is often next to the last one.

People ask on from what they have just read ("Who was its spokesman?" after "...the UN rights
office highlighted concerns..."), and articles say the next thing in the next sentence,
sometimes across a passage boundary. So a follow-up's candidates include the sentences right
around the earlier answer's quote, and those take the quote's place evidence (its passage's
similarity, coverage and names) where theirs is weaker. Their own words and vectors still decide
whether they answer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from retrieval.index.rows import SentenceRow
from retrieval.index.view import IndexView
from retrieval.search.query import Prepared

#: Sentences on each side of the earlier answer that stand where it stands: the one before
#: and the one after (on the first follow-up set 1, 2 and 3 gave the same hits, 0 fewer).
NEAR_ANSWERED = 1


def answered_positions(reader: IndexView, prepared: Prepared) -> list[tuple[int, int]]:
    """The positions (first, last) of the earlier answer's quotes that the index still holds.

    A document removed since, or changed so that the quote's ordinals run past its end, lends
    no place.
    """
    found: list[tuple[int, int]] = []
    for doc_id, first, last in prepared.answered_at:
        doc = reader.document_by_id(doc_id)
        if doc is None or not 0 <= first <= last < doc.sentence_count:
            continue
        found.append((doc.first_sentence + first, doc.first_sentence + last))
    return found


def around(answered: Sequence[tuple[int, int]]) -> set[int]:
    """The positions of the earlier answers and their neighbours (candidates of a follow-up)."""
    return {
        pos
        for first, last in answered
        for pos in range(first - NEAR_ANSWERED, last + NEAR_ANSWERED + 1)
        if pos >= 0
    }


def share_place(
    rows: Sequence[SentenceRow],
    answered: Sequence[tuple[int, int]],
    higher_is_nearer: Sequence[np.ndarray],
    lower_is_nearer: Sequence[np.ndarray],
) -> None:
    """Give the rows around each earlier answer the better of their place values and the
    answer's own (its first sentence's), in place: of ``higher_is_nearer`` the larger, of
    ``lower_is_nearer`` the smaller. Rows of another document are left alone."""
    slot = {r.pos: i for i, r in enumerate(rows)}
    for first, last in answered:
        anchor = slot.get(first)
        if anchor is None:
            continue
        doc = rows[anchor].doc
        for pos in range(first - NEAR_ANSWERED, last + NEAR_ANSWERED + 1):
            i = slot.get(pos)
            if i is None or i == anchor or rows[i].doc != doc:
                continue
            for values in higher_is_nearer:
                values[i] = max(values[i], values[anchor])
            for values in lower_is_nearer:
                values[i] = min(values[i], values[anchor])
