"""What search asks of an index view about terms, over a bare SQLite store (no vectors).

For tests of term weighing and the lexical candidate search on a store written directly,
without building a whole index folder.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import numpy as np

from retrieval.index import store_read
from retrieval.index.rows import TermFacts
from retrieval.split.language import ENGLISH, Language


class StoreTerms:
    """The term statistics and postings of :class:`retrieval.index.view.IndexView`."""

    def __init__(self, conn: sqlite3.Connection, language: Language = ENGLISH) -> None:
        self.conn = conn
        self.language = language

    def term_facts(self, stems: Sequence[str]) -> dict[str, TermFacts]:
        return store_read.term_facts(self.conn, stems)

    def term_frequencies(self, terms: Sequence[str]) -> dict[str, tuple[int, int]]:
        return store_read.term_frequencies(self.conn, terms)

    def terms_with_prefix(self, prefix: str, *, longest: int) -> list[str]:
        return store_read.terms_with_prefix(self.conn, prefix, longest=longest)

    def postings(self, kind: str, terms: Sequence[str]) -> np.ndarray:
        query = store_read.fts_query(self.language.fts_terms(terms))
        return store_read.postings(self.conn, kind, query)
