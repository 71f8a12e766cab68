"""One answer's view of the Milvus store: dense search, rows and vectors by position.

:class:`MilvusReader` reads the version its ``meta`` row published (positions below its
high-water marks, nothing of a retired document; see ``retrieval.index.milvus_sync``). Dense
search is Milvus's exact (FLAT) search by inner product of the unit vectors (cosine; an index
written with COSINE is read so too); it returns positions only, the hits' rows and vectors
come from those kept or one read by key, and hits are re-scored with the vectors as the
embedded store scores them. Rows are read by primary key (a point read), with their
vectors, and kept for the answer and between answers while the version stands. Vectors come
back as float32 arrays, each a row of one array per read (``strict_float32``: pymilvus
converts the reply's floats at once instead of into a Python list per row; the values are
the same).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

import numpy as np

from retrieval.index import milvus_schema as ms
from retrieval.index.milvus_consistency import LeveledClient
from retrieval.index.milvus_docs import MilvusDocuments
from retrieval.index.milvus_protocol import OpenMilvusIndex
from retrieval.index.milvus_term_table import TermTable
from retrieval.index.milvus_terms import MilvusTermReads
from retrieval.index.rows import DocumentRow, PassageRow, SentenceRow, Stats
from retrieval.index.view import Kind, TermCaches

#: Dense searches find at least this many, kept for the rest of the answer (an answer asks
#: for 30 passages: ``answering.closest_topics``).
DENSE_MIN = 32
#: Passages read with a sentence: its own and its neighbours (``candidates._focus_nearby``).
CONTEXT = (-1, 0, 1)
ROW_FIELDS = {
    "sentences": ["pos", "doc", "ordinal", "passage", "start", "end", "text", "terms"],
    "passages": ["pos", "doc", "ordinal", "start", "end", "first", "last", "terms"],
}


def make_row(kind: Kind, stored: dict[str, Any]) -> SentenceRow | PassageRow:
    """The row a Milvus record (or a search hit's entity) of ``kind`` holds."""
    values = {f: stored[f] for f in ROW_FIELDS[kind]}
    values["terms"] = ms.unpack(values["terms"])
    if kind == "sentences":
        values["text"] = ms.unpack(values["text"])
        return SentenceRow(**values)
    return PassageRow(**values)


class MilvusReader(MilvusDocuments, MilvusTermReads):
    """One answer's view of the published version: rows read once, by position or key."""

    index: OpenMilvusIndex

    def __init__(self, index: OpenMilvusIndex, meta: dict) -> None:
        self.index = index
        self.language = index.language
        self.version = int(meta["version"])
        # the meta was read Strong within META_REUSE_SECONDS; rows at the level its version allows
        self.client = LeveledClient(index.client, index.consistency.level(self.version))
        self.names = index.names
        self.meta = meta
        self._stats = Stats(version=self.version, **meta["stats"])
        retired = meta["retired"]
        self.retired_docs = frozenset(retired["documents"])
        self.retired = {k: [(a, a + n) for a, n in retired[k]] for k in ("sentences", "passages")}
        self.high = {"sentences": self._stats.sentence_rows, "passages": self._stats.passage_rows}
        self.shared = index.shared(self.version)
        self._rows: dict[str, dict[int, Any]] = {"sentences": {}, "passages": {}}
        self._vectors: dict[str, dict[int, np.ndarray]] = {"sentences": {}, "passages": {}}
        self._documents: dict[int, DocumentRow] = {}
        self._keys: dict[int, str] = {}
        self._dense: dict[tuple[str, int], tuple[int, list[tuple[int, float]]]] = {}
        self._searching: dict[tuple[str, int], tuple[int, Future[Any]]] = {}
        self._queries: list[np.ndarray] = []
        self._tokens: dict[str, np.ndarray] = {}
        self._reading: list[Future[dict[str, np.ndarray]]] = []
        self._ahead: set[str] = set()
        self._table: TermTable | None = None

    def table(self) -> TermTable:
        if self._table is None:
            self._table = self.index.terms.at(self.version, self.client)
        return self._table

    def cache(self, name: str) -> dict[Any, Any]:
        """The cache ``name`` shared by answers over this version (a throwaway one if none)."""
        return self.shared[name] if self.shared is not None else {}

    def _live(self, kind: str, pos: int) -> bool:
        return 0 <= pos < self.high[kind] and not any(a <= pos < b for a, b in self.retired[kind])

    def _visible(self, kind: str) -> str:
        rule = f"pos < {self.high[kind]}"
        for a, b in self.retired[kind]:
            rule += f" and (pos < {a} or pos >= {b})"
        return rule

    # -- candidates ------------------------------------------------------------------------

    def dense(self, kind: Kind, query: np.ndarray, limit: int) -> list[tuple[int, float]]:
        """Searches once per query vector and kind; asked for sentences, it searches passages
        beside (hybrid search asks for both). Results are kept while the version stands."""
        key = (kind, id(query))
        if not any(q is query for q in self._queries):
            self._queries.append(query)  # keeps id(query) from being reused in this answer
        if key in self._searching:
            wanted, future = self._searching.pop(key)
            self._dense[key] = (wanted, self._take(kind, query, future.result(), wanted))
        wanted, found = self._dense.get(key) or self._remembered(kind, query, limit)
        if wanted < limit and (not wanted or len(found) == wanted):
            beside = ("passages", id(query))
            if (
                kind == "sentences"
                and beside not in self._dense
                and beside not in self._searching
                and not self._remembered("passages", query, DENSE_MIN)[0]
            ):
                ahead = self.index.pool.submit(self._search, "passages", query, DENSE_MIN)
                self._searching[beside] = (DENSE_MIN, ahead)
            wanted = max(limit, DENSE_MIN)
            found = self._take(kind, query, self._search(kind, query, wanted), wanted)
        self._dense[key] = (wanted, found)
        return found[:limit]

    def _remembered(
        self, kind: Kind, query: np.ndarray, limit: int
    ) -> tuple[int, list[tuple[int, float]]]:
        """A search of ``query`` among ``kind`` an earlier answer made, if it found enough."""
        wanted, found = self.cache("dense").get((kind, query.tobytes()), (0, []))
        return (wanted, found) if wanted >= limit or len(found) < wanted else (0, [])

    def _search(
        self, kind: Kind, query: np.ndarray, limit: int
    ) -> tuple[list[int], list[dict[str, Any]]]:
        """Positions of the ``limit`` nearest visible rows, and the records (rows with
        vectors) of those not kept yet. May run in a background thread: it only reads the
        shared caches.

        The search asks for positions only: Milvus Lite spends about 65 µs a hit, and the
        client as much, on each returned vector, and the rows of nearby sentences are mostly
        kept from earlier answers. It runs without a filter first: when every hit is visible
        they are the nearest visible ones (as they almost always are), and the server is
        spared evaluating the filter over every row; otherwise (a sync is writing, or rows
        are retired) it runs again with the filter.
        """
        found = self._search_once(kind, query, limit, "")
        if not all(self._live(kind, pos) for pos in found):
            found = self._search_once(kind, query, limit, self._visible(kind))
        rows, vectors = self.cache(kind), self.cache(kind[0] + "v")
        return found, self._fetch(kind, [p for p in found if p not in rows or p not in vectors])

    def _search_once(self, kind: Kind, query: np.ndarray, limit: int, rule: str) -> list[int]:
        hits = self.index.call(
            lambda: self.client.search(
                self.names[kind],
                data=[query.astype(np.float32).tolist()],
                limit=limit,
                filter=rule,
                output_fields=["pos"],
                search_params={"metric_type": self.index.metric},
            )
        )[0]
        return [int(hit["entity"]["pos"]) for hit in hits]

    def _take(
        self,
        kind: Kind,
        query: np.ndarray,
        searched: tuple[list[int], list[dict[str, Any]]],
        wanted: int,
    ) -> list[tuple[int, float]]:
        """Hits re-scored with their vectors as the embedded store scores, best first."""
        positions, records = searched
        for record in records:
            self._keep(kind, record)
        self._rows_at(kind, positions)
        vectors = self._vector_rows(kind, positions)
        found = [(pos, float(vectors[i] @ query)) for i, pos in enumerate(positions)]
        found.sort(key=lambda h: (-h[1], h[0]))
        self.cache("dense")[(kind, query.tobytes())] = (wanted, found)
        return found

    # -- rows ------------------------------------------------------------------------------

    def _keep(self, kind: Kind, stored: dict[str, Any]) -> SentenceRow | PassageRow:
        """Keep the row and vector of a Milvus record for the answer and the version."""
        row = make_row(kind, stored)
        vector = np.asarray(stored["vector"], dtype=np.float32)
        self._rows[kind][row.pos] = self.cache(kind)[row.pos] = row
        self._vectors[kind][row.pos] = self.cache(kind[0] + "v")[row.pos] = vector
        return row

    def _rows_at(self, kind: Kind, positions: Sequence[int]) -> dict[int, Any]:
        known, vectors = self._rows[kind], self._vectors[kind]
        shared, shared_vectors = self.cache(kind), self.cache(kind[0] + "v")
        missing = []
        for pos in positions:
            if pos in known:
                continue
            row = shared.get(pos)
            if row is not None:
                known[pos] = row
                vector = shared_vectors.get(pos)
                if vector is not None:
                    vectors.setdefault(pos, vector)
            elif not self._live(kind, pos):
                known[pos] = None
            else:
                missing.append(int(pos))
        for record in self._fetch(kind, missing):
            self._keep(kind, record)
        for pos in missing:
            known.setdefault(pos, None)
        return {p: known[p] for p in positions}

    def _fetch(self, kind: Kind, positions: Sequence[int]) -> list[dict[str, Any]]:
        """The records (row fields and vector) at ``positions``, read by primary key."""
        records: list[dict[str, Any]] = []
        for chunk in ms.chunks(sorted(set(positions))):
            records.extend(
                self.index.call(
                    lambda chunk=chunk: self.client.query(  # type: ignore[misc]
                        self.names[kind],
                        filter=f"pos in {chunk}",
                        output_fields=[*ROW_FIELDS[kind], "vector"],
                        limit=len(chunk),
                        strict_float32=True,
                    )
                )
            )
        return records

    def sentences(self, positions: Sequence[int]) -> dict[int, SentenceRow | None]:
        """Rows at ``positions``; their passages and the passages either side are read with
        them, in one more call (ranking reads a sentence with its passage and neighbours)."""
        rows = self._rows_at("sentences", positions)
        around = {r.passage + step for r in rows.values() if r is not None for step in CONTEXT}
        self._rows_at("passages", sorted(around))
        return rows

    def sentence(self, pos: int) -> SentenceRow | None:
        return self._rows_at("sentences", [pos])[pos]

    def passages(self, positions: Sequence[int]) -> dict[int, PassageRow | None]:
        return self._rows_at("passages", positions)

    def same_passage(self, a: int, b: int) -> bool:
        ra, rb = self.sentence(a), self.sentence(b) if b >= 0 else None
        return ra is not None and rb is not None and ra.passage == rb.passage

    def _vector_rows(self, kind: Kind, positions: Sequence[int]) -> np.ndarray:
        dim = self.index.manifest.model.dimension
        known, shared = self._vectors[kind], self.cache(kind[0] + "v")
        missing = []
        for pos in sorted({int(p) for p in positions if int(p) not in known}):
            vector = shared.get(pos)
            if vector is not None:
                known[pos] = vector
            else:
                missing.append(pos)
        for chunk in ms.chunks(missing):
            rows = self.index.call(
                lambda chunk=chunk: self.client.query(  # type: ignore[misc]
                    self.names[kind],
                    filter=f"pos in {chunk}",
                    output_fields=["pos", "vector"],
                    limit=len(chunk),
                    strict_float32=True,
                )
            )
            for r in rows:
                known[int(r["pos"])] = np.asarray(r["vector"], dtype=np.float32)
        zero = np.zeros(dim, dtype=np.float32)
        if not len(positions):
            return np.zeros((0, dim), dtype=np.float32)
        return np.stack([known.get(int(p), zero) for p in positions])

    def sentence_vectors(self, positions: Sequence[int]) -> np.ndarray:
        return self._vector_rows("sentences", positions)

    def passage_vectors(self, positions: Sequence[int]) -> np.ndarray:
        return self._vector_rows("passages", positions)

    # -- statistics ------------------------------------------------------------------------

    @property
    def stats(self) -> Stats:
        return self._stats

    @property
    def index_type(self) -> str:
        return "flat"

    def updated_at(self) -> str | None:
        return str(self.meta.get("updated_at")) if self.meta.get("updated_at") else None

    def shared_term_caches(self) -> TermCaches | None:
        if self.shared is None:
            return None
        return (self.shared["v"], self.shared["f"])
