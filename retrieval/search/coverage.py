"""Coverage: how much of a question each candidate holds, weighed by IDF.

:class:`QueryTerms` weighs the question's terms by IDF against one store version and measures,
for each candidate, the weighted share present. A term is present in a sentence that holds it,
that holds an acronym whose long name contains it, or (for an acronym asked about) that holds
its whole long name. What each row holds was stored at build time (``retrieval.split.terms``).
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from retrieval.index.rows import TermFacts
from retrieval.index.view import IndexView

#: Name variants: "iraq" and "iraqi", "syria" and "syrian" differ by at most this many letters.
VARIANT_EXTRA_LETTERS = 2
VARIANT_MIN_LENGTH = 4


def idf(df: int, total: int) -> float:
    """BM25-style IDF; a term the corpus never uses gets the highest weight."""
    return math.log(1.0 + (total - df + 0.5) / (df + 0.5))


def query_terms(
    reader: IndexView, terms: Sequence[str], forms: Mapping[str, Sequence[str]] | None = None
) -> QueryTerms:
    """``terms`` weighed against ``reader``'s snapshot, sharing the index's caches if current.

    ``forms`` maps a term to other stems that count as it (irregular forms: "blown", "blew").
    """
    stats = reader.stats
    shared = reader.shared_term_caches()
    return QueryTerms(
        reader,
        terms,
        sentences=stats.sentences,
        passages=stats.passages,
        variants_cache=shared[0] if shared else None,
        facts_cache=shared[1] if shared else None,
        forms=forms,
    )


class QueryTerms:
    """A question's terms, weighed against one view of an index, ready to score candidates."""

    def __init__(
        self,
        view: IndexView,
        terms: Iterable[str],
        *,
        sentences: int,
        passages: int,
        variants_cache: dict[str, frozenset[str]] | None = None,
        facts_cache: dict[str, TermFacts] | None = None,
        forms: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        """The caches may be shared between questions over one store version. ``forms``
        maps a term to other stems present in place of it (see :func:`query_terms`). Words
        are stemmed in the index's language (``view.language``)."""
        stem = self._stem = view.language.stem
        self.stems = list(dict.fromkeys(stem(t) for t in terms))
        # tuples in the order given, not sets: the order of ``other_forms`` decides ties in
        # the lexical candidate search, and set order changes from run to run
        self._forms = {
            stem(t): tuple(dict.fromkeys(stem(f) for f in fs)) for t, fs in (forms or {}).items()
        }
        self.other_forms = tuple(
            dict.fromkeys(f for s in self.stems for f in self._forms.get(s, ()))
        )
        self._view = view
        facts = {} if facts_cache is None else facts_cache
        looked_up = list(dict.fromkeys([*self.stems, *self.other_forms]))
        missing = [s for s in looked_up if s not in facts]
        if missing:
            facts.update(view.term_facts(missing))
        frequencies = {s: facts[s].frequencies for s in looked_up}
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
        known = self._frequencies.get(self._stem(word))
        return known[0] if known is not None else 0

    def weight(self, word: str, *, passages: bool = False) -> float:
        """The IDF of ``word`` among sentences (or passages); 0 for a word not asked about."""
        known = self._frequencies.get(self._stem(word))
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
                self._view.terms_with_prefix(term, longest=len(term) + VARIANT_EXTRA_LETTERS)
            )
            shorter = [
                term[:-cut]
                for cut in range(1, VARIANT_EXTRA_LETTERS + 1)
                if len(term) - cut >= VARIANT_MIN_LENGTH
            ]
            held = self._view.term_frequencies(shorter)
            found.update(p for p in shorter if held.get(p, (0, 0))[1] > 0)
        result = frozenset(found)
        self._variants[term] = result
        return result

    def _present(self, term: str, names: frozenset[str], rows: _Joined) -> list[int]:
        """The rows whose term string holds ``term`` (spelled as any of ``names``)."""
        found: set[int] = set()
        for name in names:
            found.update(rows.holding(name))
        for acronym in self._by_term.get(term, ()):
            found.update(rows.holding(acronym))
        long_name = list(self._by_key.get(term, ()))
        if long_name:
            every = set(rows.holding(long_name[0]))
            for word in long_name[1:]:
                every.intersection_update(rows.holding(word))
            found |= every
        return list(found)

    def coverage(
        self,
        term_sets: Sequence[str],
        *,
        passages: bool = False,
        variants: bool = False,
        only: Sequence[str] | None = None,
    ) -> np.ndarray:
        """IDF-weighted share of the question's terms (or of ``only``) in each term string (0..1).

        ``term_sets`` are rows' terms as :func:`retrieval.index.rows.term_string` keeps them.
        """
        found, weights = self.presence(term_sets, passages=passages, variants=variants, only=only)
        if not found.shape[1] or not term_sets or weights.sum() <= 0:
            return np.zeros(len(term_sets), dtype=np.float64)
        return (found @ weights) / weights.sum()

    def presence(
        self,
        term_sets: Sequence[str],
        *,
        passages: bool = False,
        variants: bool = False,
        only: Sequence[str] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Which of the question's terms (or of ``only``) each term string holds, and their IDFs.

        A (rows × terms) 0/1 matrix and the terms' weights, in the order of :attr:`stems`.
        """
        chosen = self.stems
        weights = self.passage_weights if passages else self.sentence_weights
        if only is not None:
            wanted = {self._stem(t) for t in only}
            keep = [i for i, s in enumerate(self.stems) if s in wanted]
            chosen = [self.stems[i] for i in keep]
            weights = weights[keep] if keep else np.zeros(0)
        found = np.zeros((len(term_sets), len(chosen)), dtype=np.float64)
        rows = _Joined(term_sets)
        for column, term in enumerate(chosen):
            names = self.variants(term) if variants else frozenset((term,))
            names |= set(self._forms.get(term, ()))
            found[self._present(term, names, rows), column] = 1.0
        return found, weights


class _Joined:
    """Term strings joined into one, so that finding a term in all of them is one scan.

    Testing ``" term " in row`` row by row cost 0.59 ms an answer over SQuAD questions (some
    100 rows and 13 terms a call); ``str.find`` over the joined rows, 0.40 ms.
    """

    def __init__(self, term_sets: Sequence[str]) -> None:
        # a newline is never in a term: no match runs from one row into the next
        self._text = "\n".join(term_sets)
        self._starts = list(itertools.accumulate((len(held) + 1 for held in term_sets), initial=0))

    def holding(self, term: str) -> list[int]:
        """Indexes of the rows whose term string holds ``term``, in order."""
        needle = f" {term} "
        text, starts = self._text, self._starts
        rows: list[int] = []
        at = text.find(needle)
        while at >= 0:
            rows.append(bisect.bisect_right(starts, at) - 1)
            at = text.find(needle, at + 1)
        return rows
