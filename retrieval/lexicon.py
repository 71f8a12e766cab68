"""Which question terms each sentence and passage holds, for IDF-weighted term coverage.

Built in memory when an index is loaded (stemmed tokens per sentence, postings per term), so
answering scores a hundred candidates in microseconds instead of issuing a query per term.
SQLite's FTS5 still does the BM25 candidate search; this only measures coverage.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np
import snowballstemmer

from retrieval.query import STOPWORDS

_WORD = re.compile(r"\w+", re.UNICODE)
_STEMMER = snowballstemmer.stemmer("english")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """The Snowball (Porter 2) stem of a lower-cased word."""
    return str(_STEMMER.stemWord(word))


def terms_of(text: str) -> set[str]:
    """Stemmed content words of ``text`` (stopwords and underscores dropped)."""
    return {stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS and w.strip("_")}


class Lexicon:
    """Postings of stemmed terms over sentence and passage positions, with IDF weights."""

    def __init__(
        self,
        sentence_texts: Sequence[str],
        sentence_passage: Sequence[int],
        passage_extra: Sequence[str],
    ) -> None:
        """``passage_extra`` holds text every sentence of a passage shares (its title)."""
        self.sentences: dict[str, set[int]] = {}
        self.passages: dict[str, set[int]] = {}
        for pos, text in enumerate(sentence_texts):
            for term in terms_of(text):
                self.sentences.setdefault(term, set()).add(pos)
                self.passages.setdefault(term, set()).add(int(sentence_passage[pos]))
        for passage, text in enumerate(passage_extra):
            for term in terms_of(text):
                self.passages.setdefault(term, set()).add(passage)
        self.n_sentences = max(1, len(sentence_texts))
        self.n_passages = max(1, len(passage_extra))

    def idf(self, term: str, *, passages: bool = False) -> float:
        """BM25-style IDF; a term the corpus never uses gets the highest weight."""
        postings = (self.passages if passages else self.sentences).get(term, ())
        total = self.n_passages if passages else self.n_sentences
        df = len(postings)
        return math.log(1.0 + (total - df + 0.5) / (df + 0.5))

    def coverage(
        self, terms: Iterable[str], positions: Sequence[int], *, passages: bool = False
    ) -> np.ndarray:
        """IDF-weighted share of ``terms`` present at each position (0..1)."""
        stems = list(dict.fromkeys(stem(t) for t in terms))
        result = np.zeros(len(positions), dtype=np.float64)
        if not stems or not positions:
            return result
        postings = self.passages if passages else self.sentences
        weights = np.array([self.idf(s, passages=passages) for s in stems])
        for weight, term in zip(weights, stems, strict=True):
            holders = postings.get(term)
            if not holders:
                continue
            found = np.fromiter((p in holders for p in positions), bool, len(positions))
            result += weight * found
        return result / weights.sum()
