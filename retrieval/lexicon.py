"""Terms: what each sentence and passage is about, and how much of a question it covers.

At build time each sentence gets its stemmed content words plus the acronyms it spells out in
capitals ("SDF"); a passage gets the union of its sentences' terms and its title's. The store
keeps them with every term's document frequency and the acronyms the articles define
("Syrian Democratic Forces (SDF)"), so answering reads only the few rows it scores.

At question time :class:`QueryTerms` weighs the question's terms by IDF and measures, for each
candidate, the weighted share present. A term is present in a sentence that holds it, that
holds an acronym whose long name contains it, or (for an acronym asked about) that holds its
whole long name.
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import snowballstemmer

from retrieval import store
from retrieval.query import STOPWORDS

_WORD = re.compile(r"\w+", re.UNICODE)
_STEMMER = snowballstemmer.stemmer("english")
#: "Syrian Democratic Forces (SDF)": a capitalised name and its acronym in brackets.
_DEFINITION = re.compile(r"((?:[A-Z][\w'’]*(?:-[A-Za-z][\w'’]*)*\s+){1,7})\(([A-Z]{2,8})\)")
#: Acronyms are kept in capitals among a sentence's terms (stems are lower case).
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


def sentence_terms(text: str) -> frozenset[str]:
    """What a sentence is indexed under: its stems and the acronyms it writes in capitals."""
    return frozenset(terms_of(text) | set(_ACRONYM.findall(text)))


def acronym_key(acronym: str) -> str:
    """How a question's term spells ``acronym`` ("SDF" -> "sdf")."""
    return stem(acronym.lower())


def acronyms(texts: Iterable[str]) -> dict[str, frozenset[str]]:
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
    return {acronym: frozenset(name) for acronym, name in found.items() if name}


def idf(df: int, total: int) -> float:
    """BM25-style IDF; a term the corpus never uses gets the highest weight."""
    return math.log(1.0 + (total - df + 0.5) / (df + 0.5))


@dataclass(frozen=True)
class TermFacts:
    """What the store says of one stem: (sentence, passage) frequency and acronym links."""

    frequencies: tuple[int, int]
    #: Acronyms whose long name holds the stem.
    spelled_by: frozenset[str]
    #: The long-name stems of the acronym the stem spells (empty when it spells none).
    long_name: frozenset[str]


class QueryTerms:
    """A question's terms, weighed against one store, ready to score candidates."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        terms: Iterable[str],
        *,
        sentences: int,
        passages: int,
        variants_cache: dict[str, frozenset[str]] | None = None,
        facts_cache: dict[str, TermFacts] | None = None,
    ) -> None:
        """The caches may be shared between questions over one store version."""
        self.stems = list(dict.fromkeys(stem(t) for t in terms))
        self._conn = conn
        facts = {} if facts_cache is None else facts_cache
        missing = [s for s in self.stems if s not in facts]
        if missing:
            df = store.term_frequencies(conn, missing)
            by_term, by_key = store.acronyms_for(conn, missing)
            for s in missing:
                facts[s] = TermFacts(
                    df.get(s, (0, 0)), frozenset(by_term.get(s, ())), frozenset(by_key.get(s, ()))
                )
        frequencies = {s: facts[s].frequencies for s in self.stems}
        self._frequencies = frequencies
        total_s, total_p = max(1, sentences), max(1, passages)
        self._totals = (total_s, total_p)
        self.sentence_weights = np.array(
            [idf(frequencies.get(s, (0, 0))[0], total_s) for s in self.stems]
        )
        self.passage_weights = np.array(
            [idf(frequencies.get(s, (0, 0))[1], total_p) for s in self.stems]
        )
        self._by_term = {s: facts[s].spelled_by for s in self.stems if facts[s].spelled_by}
        self._by_key = {s: facts[s].long_name for s in self.stems if facts[s].long_name}
        self._variants: dict[str, frozenset[str]] = {} if variants_cache is None else variants_cache

    def sentence_frequency(self, word: str) -> int:
        """How many sentences hold ``word`` (after stemming; 0 for a word not asked about)."""
        known = self._frequencies.get(stem(word))
        return known[0] if known is not None else 0

    def weight(self, word: str, *, passages: bool = False) -> float:
        """The IDF of ``word`` among sentences (or passages); 0 for a word not asked about."""
        known = self._frequencies.get(stem(word))
        if known is None:
            return 0.0
        total = self._totals[1] if passages else self._totals[0]
        return idf(known[1] if passages else known[0], total)

    def variants(self, term: str) -> frozenset[str]:
        """Stored terms that are ``term`` or differ from it by a short ending (iraq, iraqi)."""
        cached = self._variants.get(term)
        if cached is not None:
            return cached
        found = {term}
        if len(term) >= VARIANT_MIN_LENGTH:
            found.update(
                store.terms_with_prefix(self._conn, term, longest=len(term) + VARIANT_EXTRA_LETTERS)
            )
            shorter = [
                term[:-cut]
                for cut in range(1, VARIANT_EXTRA_LETTERS + 1)
                if len(term) - cut >= VARIANT_MIN_LENGTH
            ]
            held = store.term_frequencies(self._conn, shorter)
            found.update(p for p in shorter if held.get(p, (0, 0))[1] > 0)
        result = frozenset(found)
        self._variants[term] = result
        return result

    def _present(self, term: str, names: frozenset[str], term_sets: Sequence[str]) -> np.ndarray:
        """Whether ``term`` (spelled as any of ``names``) is in each term string."""
        padded = [f" {name} " for name in names]
        if len(padded) == 1:
            one = padded[0]
            found = [one in held for held in term_sets]
        else:
            found = [any(p in held for p in padded) for held in term_sets]
        spelled = [f" {a} " for a in self._by_term.get(term, ())]
        long_name = [f" {w} " for w in self._by_key.get(term, ())]
        if spelled or long_name:
            for i, held in enumerate(term_sets):
                if not found[i]:
                    found[i] = any(a in held for a in spelled) or bool(
                        long_name and all(w in held for w in long_name)
                    )
        return np.array(found, dtype=bool)

    def coverage(
        self,
        term_sets: Sequence[str],
        *,
        passages: bool = False,
        variants: bool = False,
        only: Sequence[str] | None = None,
    ) -> np.ndarray:
        """IDF-weighted share of the question's terms (or of ``only``) in each term string (0..1).

        ``term_sets`` are rows' terms as :func:`retrieval.store.term_string` keeps them.
        """
        result = np.zeros(len(term_sets), dtype=np.float64)
        chosen = self.stems
        weights = self.passage_weights if passages else self.sentence_weights
        if only is not None:
            wanted = {stem(t) for t in only}
            keep = [i for i, s in enumerate(self.stems) if s in wanted]
            chosen = [self.stems[i] for i in keep]
            weights = weights[keep] if keep else np.zeros(0)
        if not chosen or not term_sets or weights.sum() <= 0:
            return result
        for weight, term in zip(weights, chosen, strict=True):
            names = self.variants(term) if variants else frozenset((term,))
            result += weight * self._present(term, names, term_sets)
        return result / weights.sum()
