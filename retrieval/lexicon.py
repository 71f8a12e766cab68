"""Which question terms each sentence and passage holds, for IDF-weighted term coverage.

Built in memory when an index is loaded (stemmed tokens per sentence, postings per term), so
answering scores a hundred candidates in microseconds instead of issuing a query per term.
SQLite's FTS5 still does the BM25 candidate search; this only measures coverage.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np
import snowballstemmer

from retrieval.query import STOPWORDS

_WORD = re.compile(r"\w+", re.UNICODE)
_STEMMER = snowballstemmer.stemmer("english")
#: "Syrian Democratic Forces (SDF)": a capitalised name and its acronym in brackets.
_DEFINITION = re.compile(r"((?:[A-Z][\w'’]*(?:-[A-Za-z][\w'’]*)*\s+){1,7})\(([A-Z]{2,8})\)")
_ACRONYM = re.compile(r"\b[A-Z]{2,8}\b")
#: Name variants: "iraq" and "iraqi", "syria" and "syrian" differ by at most this many letters.
VARIANT_EXTRA_LETTERS = 2
VARIANT_MIN_LENGTH = 4


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """The Snowball (Porter 2) stem of a lower-cased word."""
    return str(_STEMMER.stemWord(word))


def terms_of(text: str) -> set[str]:
    """Stemmed content words of ``text`` (stopwords and underscores dropped)."""
    return {stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS and w.strip("_")}


def acronyms(texts: Iterable[str]) -> dict[str, set[str]]:
    """Acronyms the texts define, mapped to the stemmed words of their long names.

    Only definitions whose initials spell the acronym count ("Counter-Terrorism Service
    (CTS)"); the long name is the shortest run of capitalised words before the bracket that
    does.
    """
    found: dict[str, set[str]] = {}
    for text in texts:
        for match in _DEFINITION.finditer(text):
            words = match.group(1).split()
            acronym = match.group(2)
            if acronym.lower() in STOPWORDS:
                continue
            for first in range(len(words) - 1, -1, -1):
                name = words[first:]
                initials = "".join(p[0] for w in name for p in w.split("-") if p)
                if initials.upper() == acronym:
                    found.setdefault(acronym, set()).update(terms_of(" ".join(name)))
                    break
    return found


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
        defined = acronyms(sentence_texts)
        for pos, text in enumerate(sentence_texts):
            terms = terms_of(text)
            for acronym in set(_ACRONYM.findall(text)) & defined.keys():
                terms |= defined[acronym]
            for acronym, name in defined.items():
                if name <= terms:
                    terms.add(stem(acronym.lower()))
            for term in terms:
                self.sentences.setdefault(term, set()).add(pos)
                self.passages.setdefault(term, set()).add(int(sentence_passage[pos]))
        for passage, text in enumerate(passage_extra):
            for term in terms_of(text):
                self.passages.setdefault(term, set()).add(passage)
        self.n_sentences = max(1, len(sentence_texts))
        self.n_passages = max(1, len(passage_extra))
        self._vocabulary = sorted(self.passages)

    def variants(self, term: str) -> list[str]:
        """Indexed terms that are ``term`` or differ from it by a short ending (iraq, iraqi)."""
        if len(term) < VARIANT_MIN_LENGTH:
            return [term]
        found = {term}
        start = bisect.bisect_left(self._vocabulary, term)
        for other in self._vocabulary[start:]:
            if not other.startswith(term):
                break
            if len(other) - len(term) <= VARIANT_EXTRA_LETTERS:
                found.add(other)
        for cut in range(1, VARIANT_EXTRA_LETTERS + 1):
            prefix = term[:-cut]
            if len(prefix) >= VARIANT_MIN_LENGTH and prefix in self.passages:
                found.add(prefix)
        return sorted(found)

    def idf(self, term: str, *, passages: bool = False) -> float:
        """BM25-style IDF; a term the corpus never uses gets the highest weight."""
        postings = (self.passages if passages else self.sentences).get(term, ())
        total = self.n_passages if passages else self.n_sentences
        df = len(postings)
        return math.log(1.0 + (total - df + 0.5) / (df + 0.5))

    def coverage(
        self,
        terms: Iterable[str],
        positions: Sequence[int],
        *,
        passages: bool = False,
        variants: bool = False,
    ) -> np.ndarray:
        """IDF-weighted share of ``terms`` present at each position (0..1).

        With ``variants`` a term also counts as present through its name variants.
        """
        stems = list(dict.fromkeys(stem(t) for t in terms))
        result = np.zeros(len(positions), dtype=np.float64)
        if not stems or not positions:
            return result
        postings = self.passages if passages else self.sentences
        weights = np.array([self.idf(s, passages=passages) for s in stems])
        for weight, term in zip(weights, stems, strict=True):
            holders = postings.get(term)
            if variants:
                holders = set().union(*(postings.get(v, ()) for v in self.variants(term)))
            if not holders:
                continue
            found = np.fromiter((p in holders for p in positions), bool, len(positions))
            result += weight * found
        return result / weights.sum()
