"""The Milvus store opened for answering: every read goes to the Milvus server.

:class:`MilvusIndex` is an :class:`~retrieval.index.view.OpenIndex`; each answer's
:class:`MilvusReader` reads the published ``meta`` row once and sees that version only
(positions below its high-water marks, rows added at or before it, nothing of a retired
document; see ``retrieval.index.milvus_sync``). Dense search is Milvus's exact (FLAT) search
by inner product of the unit vectors (cosine; an index written with COSINE is read so too),
re-scored with the returned vectors as the embedded store scores; posting lists are
the project's own (the FTS5 tokens of each row); rows, documents and texts are read by
position or key and cached for the answer, and between answers while the version stands.

Every read is a round trip to the server, so an answer makes few: ``meta`` is read once per
question (``replaced`` reads it, the reader takes that read), a row comes with its vector,
the search of passages runs beside the search of sentences, and the posting lists of the
question's words (named to :meth:`MilvusReader.term_facts`) are read in one call, in the
background, before search asks for them; posting lists, rows, vectors, documents, term
frequencies and the results of dense searches (by query vector) are kept between answers
while the version stands (bounded), so a question asked again reads ``meta`` alone.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from embeddings import Encoder
from retrieval.config import EngineSettings
from retrieval.errors import IndexMismatchError, IndexMissingError
from retrieval.index import milvus_schema as ms
from retrieval.index.loaded import check_compatible, index_language
from retrieval.index.manifest import Manifest
from retrieval.index.milvus_sync import query_all, read_meta
from retrieval.index.milvus_terms import MilvusTermReads
from retrieval.index.rows import DocumentRow, PassageRow, SentenceRow, Stats
from retrieval.index.view import Kind, TermCaches
from retrieval.types import Source

#: Dense searches find at least this many, kept for the rest of the answer.
DENSE_MIN = 32
#: Entries of each cache kept between answers; a cache is emptied past its bound.
CACHE_ROWS = 200_000
#: Milvus's error code for a collection that is not loaded (released, as after a restart).
COLLECTION_NOT_LOADED = 101
CACHE_BOUNDS = {"sv": 50_000, "pv": 50_000, "tok": 20_000, "prefix": 20_000, "dense": 5_000}
CACHES = (
    *("sentences", "passages", "texts", "v", "f", "sv", "pv"),
    *("docs", "dockeys", "tok", "df", "prefix", "dense"),
)
#: A ``meta`` read this recent (by ``replaced``, asked before each question) serves the reader.
META_REUSE_SECONDS = 0.5
#: Posting lists are read by key (per live document) for at most this many documents.
PROBE_DOCUMENTS = 2_000
#: Threads that run reads beside the answer's own (the passage search, posting lists).
BACKGROUND_THREADS = 4
_ROW_FIELDS = {
    "sentences": ["pos", "doc", "ordinal", "passage", "start", "end", "text", "terms"],
    "passages": ["pos", "doc", "ordinal", "start", "end", "first", "last", "terms"],
}


def vector_metric(client: Any, names: dict[str, str]) -> str:
    """The metric the sentence vectors were indexed with (the same for passages)."""
    found = client.describe_index(names["sentences"], "vector") or {}
    return str(found.get("metric_type") or ms.VECTOR_METRIC)


class ReplacedError(Exception):
    """The index in Milvus is now another generation: the engine reopens it."""


class MilvusIndex:
    """An index in Milvus opened for answering. Thread-safe (the client is)."""

    def __init__(
        self, index_dir: Path, settings: EngineSettings, client: Any, meta: dict, encoder: Encoder
    ) -> None:
        self.index_dir = index_dir
        self.uri = settings.milvus_uri
        self.prefix = settings.milvus_prefix
        self.client = client
        self.manifest = Manifest.model_validate(meta["manifest"])
        self.language = index_language(index_dir, self.manifest)
        self.encoder = encoder
        self.tag = str(meta["generation"])
        self.names = {k: ms.name(self.prefix, self.tag, k) for k in ms.COLLECTIONS}
        self.tokenizer = ms.Tokenizer(self.language)
        self.lock = threading.Lock()
        self.cache_version = -1
        self.caches: dict[str, dict[Any, Any]] = {}
        self._local = threading.local()
        self._meta: tuple[float, dict | None] | None = None
        self.metric = ms.VECTOR_METRIC
        self.pool = ThreadPoolExecutor(BACKGROUND_THREADS, thread_name_prefix="milvus-read")

    @classmethod
    def open(
        cls, index_dir: Path, settings: EngineSettings, *, encoder: Encoder | None = None
    ) -> MilvusIndex:
        client = ms.connect(settings.milvus_uri)
        meta = ms.guarded(settings.milvus_uri, lambda: _read_loaded_meta(client, settings))
        if meta is None:
            raise IndexMissingError(
                f"No index in the Milvus store at {settings.milvus_uri} (collections "
                f"{settings.milvus_prefix}*). Build one with: VERBATIM_STORE=milvus verbatim "
                f"index PATH/TO/ARTICLES --index {index_dir}"
            )
        manifest = Manifest.model_validate(meta["manifest"])
        check_compatible(index_dir, manifest, settings)
        encoder = encoder or Encoder(
            settings.model, batch_size=settings.batch_size, backend=settings.encoder
        )
        index = cls(index_dir, settings, client, meta, encoder)
        index.load()
        index.metric = ms.guarded(settings.milvus_uri, lambda: vector_metric(client, index.names))
        encoder.load()
        if encoder.identity.dimension != manifest.model.dimension:
            raise IndexMismatchError(
                f"The index in Milvus holds {manifest.model.dimension}-dimensional vectors but "
                f"the model makes {encoder.identity.dimension}. Rebuild it with VERBATIM_STORE="
                f"milvus verbatim index PATH/TO/ARTICLES --index {index_dir} --rebuild"
            )
        return index

    def call(self, work: Callable[[], Any]) -> Any:
        try:
            return ms.guarded(self.uri, work)
        except Exception as exc:
            if not _released(exc):
                raise
        self.load()  # a restarted server holds every collection released: load them, once
        return ms.guarded(self.uri, work)

    def load(self) -> None:
        """Load the meta collection and this generation's collections into the server."""
        names = [self.prefix + ms.META, *self.names.values()]
        ms.guarded(self.uri, lambda: [self.client.load_collection(n) for n in names])

    def shared(self, version: int) -> dict[str, dict[Any, Any]] | None:
        """The caches filled at ``version``, emptied when the version moves on."""
        with self.lock:
            if version > self.cache_version:
                self.cache_version = version
                self.caches = {k: {} for k in CACHES}
            if version != self.cache_version:
                return None
            for key, cache in self.caches.items():
                if len(cache) > CACHE_BOUNDS.get(key, CACHE_ROWS):
                    cache.clear()
            return self.caches

    def read_meta(self, *, reuse: bool) -> dict | None:
        """The published ``meta``; with ``reuse``, a read of the last META_REUSE_SECONDS."""
        held = self._meta
        if reuse and held is not None and time.monotonic() - held[0] < META_REUSE_SECONDS:
            return held[1]
        meta = self.call(lambda: read_meta(self.client, self.prefix, known=True))
        self._meta = (time.monotonic(), meta)
        return meta

    @contextlib.contextmanager
    def reader(self) -> Iterator[MilvusReader]:
        nested = getattr(self._local, "view", None)
        if nested is not None:
            yield nested
            return
        meta = self.read_meta(reuse=True)
        if meta is None or meta["generation"] != self.tag:
            raise ReplacedError(f"the index under {self.prefix} was replaced or removed")
        view = MilvusReader(self, meta)
        self._local.view = view
        try:
            yield view
        finally:
            self._local.view = None

    def replaced(self) -> bool:
        meta = self.read_meta(reuse=False)
        return meta is not None and meta["generation"] != self.tag

    def store_failed(self, exc: Exception) -> bool:
        from pymilvus.exceptions import MilvusException

        return isinstance(exc, ReplacedError | MilvusException)

    def damage(self) -> str | None:
        held = self.call(lambda: set(self.client.list_collections()))
        missing = [n for n in self.names.values() if n not in held]
        return f"Milvus lacks the collections {', '.join(missing)}" if missing else None

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        with contextlib.suppress(Exception):
            self.client.close()


def _released(exc: Exception) -> bool:
    """Whether ``exc`` says a collection is not loaded (as after the server restarted)."""
    return getattr(exc, "code", None) == COLLECTION_NOT_LOADED or "call load()" in str(exc)


def _read_loaded_meta(client: Any, settings: EngineSettings) -> dict | None:
    """The published meta row, its collection loaded first (a restarted server holds none)."""
    collection = settings.milvus_prefix + ms.META
    if client.has_collection(collection):
        client.load_collection(collection)
    return read_meta(client, settings.milvus_prefix)


class MilvusReader(MilvusTermReads):
    """One answer's view of the published version: rows read once, by position or key."""

    index: MilvusIndex

    def __init__(self, index: MilvusIndex, meta: dict) -> None:
        self.index = index
        self.language = index.language
        self.client = index.client
        self.names = index.names
        self.version = int(meta["version"])
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
        self._prefixes: dict[str, dict[str, tuple[int, int]]] = {}
        self._prefixing: list[Future[dict[str, dict[str, tuple[int, int]]]]] = []

    def cache(self, name: str) -> dict[Any, Any]:
        """The cache ``name`` shared by answers over this version (a throwaway one if none)."""
        return self.shared[name] if self.shared is not None else {}

    def document_keys(self) -> list[str] | None:
        """The keys of every live document (read once per version), or None when there are
        more than PROBE_DOCUMENTS (then posting lists are read by filter)."""
        if self._stats.documents > PROBE_DOCUMENTS:
            return None
        shared = self.cache("dockeys")
        keys = shared.get(self.version)
        if keys is None:
            keys = [self._keys[d.idx] for d in self._document_rows("idx >= 0")]
            shared[self.version] = keys
        return list(keys)

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

    def _search(self, kind: Kind, query: np.ndarray, limit: int) -> list[Any]:
        return list(
            self.index.call(
                lambda: self.client.search(
                    self.names[kind],
                    data=[query.astype(np.float32).tolist()],
                    limit=limit,
                    filter=self._visible(kind),
                    output_fields=["pos", "vector"],
                    search_params={"metric_type": self.index.metric},
                )
            )[0]
        )

    def _take(
        self, kind: Kind, query: np.ndarray, hits: list[Any], wanted: int
    ) -> list[tuple[int, float]]:
        """Hits re-scored with their vectors (kept), best first."""
        found = []
        shared = self.cache(kind[0] + "v")
        for hit in hits:
            pos, vector = int(hit["entity"]["pos"]), np.asarray(hit["entity"]["vector"], np.float32)
            self._vectors[kind][pos] = shared[pos] = vector
            found.append((pos, float(vector @ query)))
        found.sort(key=lambda h: (-h[1], h[0]))
        self.cache("dense")[(kind, query.tobytes())] = (wanted, found)
        return found

    # -- rows ------------------------------------------------------------------------------

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
        make = SentenceRow if kind == "sentences" else PassageRow
        for chunk in ms.chunks(sorted(set(missing))):
            rows = self.index.call(
                lambda chunk=chunk: self.client.query(  # type: ignore[misc]
                    self.names[kind],
                    filter=f"pos in {chunk}",
                    output_fields=[*_ROW_FIELDS[kind], "vector"],
                    limit=len(chunk),
                )
            )
            for r in rows:
                values = {f: r[f] for f in _ROW_FIELDS[kind]}
                values["terms"] = ms.unpack(values["terms"])
                if kind == "sentences":
                    values["text"] = ms.unpack(values["text"])
                row = make(**values)
                known[row.pos] = shared[row.pos] = row
                vector = np.asarray(r["vector"], dtype=np.float32)
                vectors.setdefault(row.pos, vector)
                shared_vectors[row.pos] = vector
        for pos in missing:
            known.setdefault(pos, None)
        return {p: known[p] for p in positions}

    def sentences(self, positions: Sequence[int]) -> dict[int, SentenceRow | None]:
        return self._rows_at("sentences", positions)

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

    # -- documents -------------------------------------------------------------------------

    def _document_rows(self, rule: str) -> list[DocumentRow]:
        rows = self.index.call(
            lambda: query_all(
                self.client,
                self.names["documents"],
                f"({rule}) and added <= {self.version}",
                ["key", "idx", "id", "body"],
            )
        )
        shared = self.cache("docs")
        found = []
        for r in rows:
            if r["key"] in self.retired_docs:
                continue
            body = json.loads(r["body"])
            doc = DocumentRow(
                idx=int(r["idx"]),
                source=Source(id=r["id"], title=body["title"], date=body["date"], url=body["url"]),
                chars=body["chars"],
                first_sentence=body["first_sentence"],
                sentence_count=body["sentence_count"],
                first_passage=body["first_passage"],
                passage_count=body["passage_count"],
                pages=tuple(body["pages"]),
            )
            self._documents[doc.idx] = doc
            self._keys[doc.idx] = str(r["key"])
            shared[doc.idx] = (doc, str(r["key"]))
            found.append(doc)
        return found

    def documents(self, indexes: Sequence[int]) -> None:
        shared = self.cache("docs")
        missing = []
        for idx in sorted({int(i) for i in indexes if i not in self._documents}):
            held = shared.get(idx)
            if held is not None:
                self._documents[idx], self._keys[idx] = held
            else:
                missing.append(idx)
        for chunk in ms.chunks(missing):
            self._document_rows(f"idx in {chunk}")

    def document(self, idx: int) -> DocumentRow:
        self.documents([idx])
        return self._documents[idx]

    def document_by_id(self, doc_id: str) -> DocumentRow | None:
        found = self._document_rows(f"id == {ms.quoted(doc_id)}")
        return found[0] if found else None

    def all_documents(self, *, limit: int | None = None) -> list[DocumentRow]:
        found = sorted(self._document_rows("idx >= 0"), key=lambda d: d.source.id)
        return found if limit is None else found[:limit]

    def text(self, idx: int) -> str:
        texts = self.cache("texts")
        if idx in texts:
            return str(texts[idx])
        self.document(idx)
        key = self._keys[idx]
        rows = self.index.call(
            lambda: query_all(
                self.client,
                self.names["doc_text"],
                f"dockey == {ms.quoted(key)}",
                ["chunk", "text"],
            )
        )
        text = "".join(r["text"] for r in sorted(rows, key=lambda r: r["chunk"]))
        texts[idx] = text
        return text

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
