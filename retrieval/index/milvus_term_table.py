"""The Milvus store's term statistics held in the client: read once per published version.

Document frequencies and acronyms are constants of a version, and search asks for them on
every question (the question's stems, and the terms under a prefix for spelling variants).
Milvus Lite answers any filter but ``key in [...]`` by reading every row of a collection, so
those reads cost more than the rest of an answer; :class:`TermTable` holds a version's
frequencies (terms sorted, so a prefix is two binary searches) and its acronyms instead.

The first table is read whole when the index opens. A later version is read as a change:
every term whose frequencies a sync changed gets a new ``term_df`` row at the new version
(``(0, 0)`` when no row holds it any more, see ``milvus_sync``), so the rows added after the
table's version and at or before the new one say everything that changed. Acronym rows of
removed documents are deleted, not superseded, so acronyms are read whole on each new
version (a few per document). Readers filter retired documents' acronyms themselves.

Memory: a term costs its string (49 bytes + its length in CPython), a list slot and two
int32 counts: about 70 bytes. See docs/scale-out.md for a million sentences.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from retrieval.index.milvus_sync import query_all

#: Sorts after every character a term may hold: the end of a prefix's range.
_PREFIX_END = "\U0010ffff"
#: ``(dockey, word)`` pairs: the acronym a term is spelled by, or a long name's stem.
Links = dict[str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class TermTable:
    """Frequencies and acronyms of one published version (only terms some row holds)."""

    version: int
    #: Terms, sorted; ``sentences[i]``/``passages[i]`` are the frequencies of ``terms[i]``.
    terms: list[str]
    sentences: np.ndarray
    passages: np.ndarray
    #: term -> the acronyms whose long name holds it; acronym stem -> its long name's stems.
    spelled_by: Links
    long_name: Links

    def frequencies(self, term: str) -> tuple[int, int] | None:
        """(sentence, passage) frequency of ``term``, or None when no row holds it."""
        at = bisect.bisect_left(self.terms, term)
        if at < len(self.terms) and self.terms[at] == term:
            return int(self.sentences[at]), int(self.passages[at])
        return None

    def with_prefix(self, prefix: str) -> list[tuple[str, int, int]]:
        """The terms starting with ``prefix``: ``(term, sentences, passages)``, in order."""
        lo = bisect.bisect_left(self.terms, prefix)
        hi = bisect.bisect_left(self.terms, prefix + _PREFIX_END, lo)
        return [
            (self.terms[i], int(self.sentences[i]), int(self.passages[i])) for i in range(lo, hi)
        ]

    def changed(self, version: int, rows: Iterable[dict], acronyms: Iterable[dict]) -> TermTable:
        """This table moved on to ``version``: ``rows`` are the ``term_df`` rows added after
        it (at most at ``version``), ``acronyms`` every acronym row of ``version``.

        Counts change in copies of the arrays; the term list is rebuilt only when terms come
        or go, by slices around the places found by binary search (a sync touches a few
        thousand of a million sentences' terms).
        """
        terms, sentences, passages = self.terms, self.sentences.copy(), self.passages.copy()
        gone: list[int] = []
        new: dict[str, tuple[int, int]] = {}
        for term, (s, p) in _newest(rows).items():
            at = bisect.bisect_left(terms, term)
            if at < len(terms) and terms[at] == term:
                if s or p:
                    sentences[at], passages[at] = s, p
                else:
                    gone.append(at)
            elif s or p:
                new[term] = (s, p)
        if gone:
            keep = np.ones(len(terms), dtype=bool)
            keep[gone] = False
            terms = [t for t, kept in zip(terms, keep.tolist(), strict=True) if kept]
            sentences, passages = sentences[keep], passages[keep]
        if new:
            added = sorted(new)
            places = [bisect.bisect_left(terms, t) for t in added]
            merged: list[str] = []
            start = 0
            for place, term in zip(places, added, strict=True):
                merged.extend(terms[start:place])
                merged.append(term)
                start = place
            merged.extend(terms[start:])
            terms = merged
            sentences = np.insert(sentences, places, [new[t][0] for t in added])
            passages = np.insert(passages, places, [new[t][1] for t in added])
        return _table(version, terms, sentences, passages, acronyms)


def empty(version: int = 0) -> TermTable:
    none = np.zeros(0, dtype=np.int32)
    return _table(version, [], none, none, [])


def _table(
    version: int,
    terms: list[str],
    sentences: np.ndarray,
    passages: np.ndarray,
    acronyms: Iterable[dict],
) -> TermTable:
    spelled_by: dict[str, list[tuple[str, str]]] = {}
    long_name: dict[str, list[tuple[str, str]]] = {}
    for r in acronyms:
        spelled_by.setdefault(str(r["term"]), []).append((str(r["dockey"]), str(r["acronym"])))
        long_name.setdefault(str(r["akey"]), []).append((str(r["dockey"]), str(r["term"])))
    return TermTable(
        version=version,
        terms=terms,
        sentences=sentences.astype(np.int32, copy=False),
        passages=passages.astype(np.int32, copy=False),
        spelled_by={k: tuple(v) for k, v in spelled_by.items()},
        long_name={k: tuple(v) for k, v in long_name.items()},
    )


def _newest(rows: Iterable[dict]) -> dict[str, tuple[int, int]]:
    """Each term's frequencies from its newest row ((0, 0) included: a term no longer held)."""
    newest: dict[str, tuple[int, int, int]] = {}
    for r in rows:
        held = newest.get(r["term"])
        if held is None or r["added"] > held[0]:
            newest[str(r["term"])] = (int(r["added"]), int(r["sentences"]), int(r["passages"]))
    return {t: (s, p) for t, (_, s, p) in newest.items()}


class TermTables:
    """The term table of an open index, kept at the newest version a reader asked for.

    Thread-safe: the first reader of a new version reads the change while later ones wait
    for it; a reader holds the table it got, so moving on never changes an answer midway.
    """

    def __init__(self, names: dict[str, str], call: Callable[[Any], Any]) -> None:
        self._names = names
        self._call = call
        self._lock = threading.Lock()
        self._table: TermTable | None = None

    @property
    def version(self) -> int:
        """The version the table holds (0 before the first read)."""
        table = self._table
        return table.version if table is not None else 0

    def at(self, version: int, client: Any) -> TermTable:
        """The table of ``version``: the held one, moved on to it if older (read through
        ``client``). A reader of a version older than the held one (a publish raced its
        ``meta`` read) gets a table of its own, read whole."""
        with self._lock:
            table = self._table
            if table is None or table.version < version:
                table = self._table = self._read(client, version, table)
        if table.version == version:
            return table
        return self._read(client, version, None)

    def _read(self, client: Any, version: int, since: TermTable | None) -> TermTable:
        def query(kind: str, rule: str, fields: list[str]) -> list[dict]:
            return list(self._call(lambda: query_all(client, self._names[kind], rule, fields)))

        acronyms = query("acronyms", f"added <= {version}", ["dockey", "acronym", "akey", "term"])
        fields = ["term", "sentences", "passages", "added"]
        if since is None:
            rows = query("term_df", f"added <= {version}", fields)
            return empty().changed(version, rows, acronyms)
        rows = query("term_df", f"added > {since.version} and added <= {version}", fields)
        return since.changed(version, rows, acronyms)
