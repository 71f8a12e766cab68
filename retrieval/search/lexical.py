"""The lexical candidate search: rows holding the most IDF weight of a question's words.

Each word's posting list is read unranked from the store and summed in numpy, so a question
costs a few index lookups whatever the corpus size (``selective`` keeps the cost bounded).
"""

from __future__ import annotations

import numpy as np

from retrieval.index.view import IndexView, Kind
from retrieval.search.coverage import QueryTerms

#: Postings the lexical candidate search may scan per question (see ``selective``).
LEXICAL_BUDGET = 4000


def selective(terms: QueryTerms, words: tuple[str, ...]) -> tuple[str, ...]:
    """The question's words the lexical candidate search can afford, rarest first.

    That search reads the posting list of every word, so a common word costs a scan of tens
    of thousands of rows at a million sentences while adding almost nothing to the ranking.
    Words are taken from the rarest up while their postings add up to at most
    ``LEXICAL_BUDGET``; the two rarest are always taken. On a corpus the size of SQuAD's
    almost every question keeps all its words.
    """
    frequency = {w: terms.sentence_frequency(w) for w in words}
    kept: set[str] = set()
    spent = 0
    for rank, word in enumerate(sorted(words, key=lambda w: frequency[w])):
        if rank >= 2 and spent + frequency[word] > LEXICAL_BUDGET:
            break
        kept.add(word)
        spent += frequency[word]
    return tuple(w for w in words if w in kept)


def matching(
    reader: IndexView, terms: QueryTerms, words: tuple[str, ...], kind: Kind, limit: int
) -> list[int]:
    """The ``limit`` sentences (or passages) holding the most IDF weight of ``words``.

    This is the lexical candidate search of the hybrid: each word's posting list is read
    unranked and a row scores the summed IDF of the words it holds, the same weighing that
    coverage scores candidates by afterwards. Ties go to the earlier position.
    """
    found: list[np.ndarray] = []
    weights: list[float] = []
    for word in dict.fromkeys(words):
        found.append(reader.postings(kind, (word,)))
        weights.append(terms.weight(word, passages=kind == "passages"))
    sizes = [len(f) for f in found]
    if not sum(sizes):
        return []
    rows, inverse = np.unique(np.concatenate(found), return_inverse=True)
    score = np.bincount(inverse, weights=np.repeat(weights, sizes), minlength=len(rows))
    top = np.argsort(-score, kind="stable")[:limit]
    return rows[top].tolist()
