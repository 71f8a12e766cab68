"""One answer's view of the embedded store: one SQLite snapshot, its vectors, rows read once.

:class:`Reader` is the embedded store's :class:`~retrieval.index.view.IndexView`. Rows come
from this answer's cache, else the index's (``Shared``), else the row files (``row_files``) or,
for a store without them, SQLite in one query.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np

from retrieval.index import store, store_read
from retrieval.index.mapped import VectorState, nearest, reads_rows, vector_rows
from retrieval.index.rows import DocumentRow, PassageRow, SentenceRow, Stats, TermFacts
from retrieval.index.shared import ROW_CACHE_ROWS, Shared
from retrieval.index.view import Kind, TermCaches
from retrieval.split.language import Language

#: Dense searches find at least this many, kept for the rest of the answer.
DENSE_MIN = 32


class Reader:
    """Rows, vectors, text and term statistics for one answer, each read once."""

    def __init__(
        self,
        shared: Shared,
        conn: sqlite3.Connection,
        state: VectorState,
        dimension: int,
        language: Language,
    ) -> None:
        """``language`` is the index's: its full-text tables hold ``language.fts_text``."""
        self.shared = shared
        self.language = language
        self.conn = conn
        self.state = state
        self.dimension = dimension
        self._sentences: dict[int, SentenceRow | None] = {}
        self._passages: dict[int, PassageRow | None] = {}
        self._documents: dict[int, DocumentRow] = {}
        self._dense: dict[tuple[str, int], list[tuple[int, float]]] = {}
        self._dense_limit: dict[tuple[str, int], int] = {}
        self._queries: list[np.ndarray] = []  # keeps ids in ``_dense`` keys unique
        self._vectors: dict[Kind, dict[int, np.ndarray]] = {"sentences": {}, "passages": {}}

    @property
    def current(self) -> bool:
        """Whether this reader reads the index's current version (so may fill its caches)."""
        return self.state is self.shared.state

    # -- search ------------------------------------------------------------------------------

    def dense(self, kind: Kind, query: np.ndarray, limit: int) -> list[tuple[int, float]]:
        """Nearest live sentences or passages: ``(position, cosine)`` best first.

        At least ``DENSE_MIN`` are found and kept for the answer, so a second, smaller search
        with the same query (the decline's closest topics) costs nothing.
        """
        key = (kind, id(query))
        if not any(q is query for q in self._queries):
            self._queries.append(query)
        found = self._dense.get(key)
        if found is None or (len(found) < limit and len(found) == self._dense_limit[key]):
            wanted = max(limit, DENSE_MIN)
            found = self._search(kind, query, wanted)
            self._dense[key] = found
            self._dense_limit[key] = wanted
        return found[:limit]

    def _search(self, kind: Kind, query: np.ndarray, limit: int) -> list[tuple[int, float]]:
        found = nearest(
            self.state, kind, query, limit, self.dimension, lambda at: self._vector_rows(kind, at)
        )
        fetch = self.sentences if kind == "sentences" else self.passages
        live = fetch([pos for pos, _ in found])
        seen: set[int] = set()
        result: list[tuple[int, float]] = []
        for pos, score in found:
            if pos in seen or live.get(pos) is None:
                continue
            seen.add(pos)
            result.append((pos, score))
            if len(result) == limit:
                break
        return result

    def lexical(self, kind: Kind, terms: Sequence[str], limit: int) -> list[tuple[int, float]]:
        """BM25 matches of live sentences or passages, best first."""
        query = store_read.fts_query(self.language.fts_terms(terms))
        return store_read.lexical(self.conn, kind, query, limit)

    def postings(self, kind: Kind, terms: Sequence[str]) -> np.ndarray:
        """Positions of the live sentences or passages holding any of ``terms`` (unranked)."""
        query = store_read.fts_query(self.language.fts_terms(terms))
        return store_read.postings(self.conn, kind, query)

    def read_ahead(self, terms: Sequence[str]) -> None:
        """Nothing to do: SQLite reads are local and as quick now as later."""

    # -- statistics --------------------------------------------------------------------------

    @property
    def stats(self) -> Stats:
        return self.state.stats

    @property
    def index_type(self) -> str:
        return "flat" if self.state.sentence_ann is None else "ivf"

    def updated_at(self) -> str | None:
        return store.get_meta(self.conn, "updated_at")

    def term_facts(self, stems: Sequence[str]) -> dict[str, TermFacts]:
        return store_read.term_facts(self.conn, stems)

    def term_frequencies(self, terms: Sequence[str]) -> dict[str, tuple[int, int]]:
        return store_read.term_frequencies(self.conn, terms)

    def terms_with_prefix(self, prefix: str, *, longest: int) -> list[str]:
        return store_read.terms_with_prefix(self.conn, prefix, longest=longest)

    def shared_term_caches(self) -> TermCaches | None:
        """The index's caches of term variants and facts, or None for an older snapshot.

        Search fills them (``retrieval.search.coverage``); only what is read at the index's
        current version may be shared. Each is emptied past ``ROW_CACHE_ROWS`` entries.
        """
        current = self.current
        if len(self.shared.variants) > ROW_CACHE_ROWS:
            self.shared.variants.clear()
        if len(self.shared.facts) > ROW_CACHE_ROWS:
            self.shared.facts.clear()
        return (self.shared.variants, self.shared.facts) if current else None

    # -- rows --------------------------------------------------------------------------------

    def sentences(self, positions: Sequence[int]) -> dict[int, SentenceRow | None]:
        """Rows of ``positions`` (None for a removed or unknown one)."""
        files = self.state.rows
        read = files.sentences if files else partial(store_read.sentence_rows, self.conn)
        return self._rows_at(positions, self._sentences, self.shared.sentences, read)

    def _rows_at(
        self,
        positions: Sequence[int],
        known: dict[int, Any],
        shared: dict[int, Any],
        read: Callable[[Sequence[int]], Sequence[Any]],
    ) -> dict[int, Any]:
        """Rows from this answer's cache, else the index's, else ``read`` (the row files or
        one SQLite query)."""
        missing = []
        for pos in positions:
            if pos not in known:
                row = shared.get(pos)
                if row is None:
                    missing.append(pos)
                else:
                    known[pos] = row
        if missing:
            found = {row.pos: row for row in read(missing)}
            self._share(shared, found)
            for pos in missing:
                known[pos] = found.get(pos)
        return {p: known[p] for p in positions}

    def _share(self, shared: dict[int, Any], found: dict[int, Any]) -> None:
        # Only rows read at the index's current version may be shared: an older snapshot may
        # still hold rows that a newer version removed.
        if not self.current:
            return
        if len(shared) + len(found) > ROW_CACHE_ROWS:
            shared.clear()
        shared.update(found)

    def sentence(self, pos: int) -> SentenceRow | None:
        if pos not in self._sentences:
            self.sentences([pos])
        return self._sentences[pos]

    def passages(self, positions: Sequence[int]) -> dict[int, PassageRow | None]:
        """Rows of ``positions`` (None for a removed or unknown one)."""
        files = self.state.rows
        read = files.passages if files else partial(store_read.passage_rows, self.conn)
        return self._rows_at(positions, self._passages, self.shared.passages, read)

    def document(self, idx: int) -> DocumentRow:
        row = self._documents.get(idx)
        if row is None:
            for found in store_read.document_rows(self.conn, [idx]):
                self._documents[found.idx] = found
            row = self._documents.get(idx)
            if row is None:
                raise KeyError(idx)
        return row

    def documents(self, indexes: Sequence[int]) -> None:
        """Read the rows of ``indexes`` in one query (warms :meth:`document`)."""
        missing = [i for i in dict.fromkeys(indexes) if i not in self._documents]
        for found in store_read.document_rows(self.conn, missing):
            self._documents[found.idx] = found

    def document_by_id(self, doc_id: str) -> DocumentRow | None:
        return store_read.document_by_id(self.conn, doc_id)

    def all_documents(self, *, limit: int | None = None) -> list[DocumentRow]:
        return store_read.all_documents(self.conn, limit=limit)

    def text(self, idx: int) -> str:
        return self.shared.text(self.conn, idx)

    def sentence_vectors(self, positions: Sequence[int]) -> np.ndarray:
        return self._vector_rows("sentences", positions)

    def passage_vectors(self, positions: Sequence[int]) -> np.ndarray:
        return self._vector_rows("passages", positions)

    def _vector_rows(self, kind: Kind, positions: Sequence[int] | np.ndarray) -> np.ndarray:
        """Vectors at ``positions``. Where the file is read row by row (a large index), each
        row is read once per answer: the dense search's re-scoring and the candidates' features
        want many of the same rows (at a million sentences about 70 of some 460 reads)."""
        if not reads_rows(self.state, kind):
            return vector_rows(self.state, kind, positions, self.dimension)
        kept = self._vectors[kind]
        wanted = [int(p) for p in positions]
        missing = [p for p in dict.fromkeys(wanted) if p not in kept]
        if missing:
            read = vector_rows(self.state, kind, missing, self.dimension)
            kept.update(zip(missing, read, strict=True))
        if not wanted:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([kept[p] for p in wanted])

    def same_passage(self, a: int, b: int) -> bool:
        """Whether sentence positions ``a`` and ``b`` are live and in one passage."""
        ra, rb = self.sentence(a), self.sentence(b) if b >= 0 else None
        return ra is not None and rb is not None and ra.passage == rb.passage
