"""The Milvus store opened for answering: every read goes to the Milvus server.

:class:`MilvusIndex` is an :class:`~retrieval.index.view.OpenIndex`; each answer's
:class:`~retrieval.index.milvus_reader.MilvusReader` reads the published ``meta`` row once and
sees that version only (see ``retrieval.index.milvus_sync``).

Every read is a round trip to the server, so an answer makes few: ``meta`` is read once per
question (``replaced`` reads it, the reader takes that read); term frequencies, the terms
under a prefix and acronyms are held in memory per version (``milvus_term_table``); a dense
hit comes with its row and vector; the search of passages runs beside the search of
sentences, and the posting lists of the question's words are read in one call, in the
background, before search asks for them. Posting lists, rows, vectors, documents and the
results of dense searches (by query vector) are kept between answers while the version
stands (bounded: past its bound a cache drops its oldest quarter), so a question asked again
reads ``meta`` alone.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from embeddings import Encoder
from retrieval.config import EngineSettings, new_encoder
from retrieval.errors import IndexMismatchError, IndexMissingError
from retrieval.index import milvus_schema as ms
from retrieval.index.loaded import check_compatible, index_language, one_blas_thread
from retrieval.index.manifest import Manifest
from retrieval.index.milvus_consistency import STRONG, Consistency, LeveledClient
from retrieval.index.milvus_reader import MilvusReader
from retrieval.index.milvus_sync import published_here, read_meta
from retrieval.index.milvus_term_table import TermTables

#: Entries of each cache kept between answers; past its bound a cache drops its oldest ones.
CACHE_ROWS = 200_000
#: The share of a cache's entries dropped when it outgrows its bound (the oldest first).
CACHE_DROP = 0.25
#: Milvus's error code for a collection that is not loaded (released, as after a restart).
COLLECTION_NOT_LOADED = 101
CACHE_BOUNDS = {"sv": 50_000, "pv": 50_000, "tok": 20_000, "dense": 5_000}
CACHES = (
    *("sentences", "passages", "texts", "v", "f", "sv", "pv"),
    *("docs", "dockeys", "tok", "dense"),
)
#: A ``meta`` read this recent serves ``replaced`` (asked before each question) and the reader.
META_REUSE_SECONDS = 0.5
#: Threads that run reads beside the answer's own (the passage search, posting lists).
BACKGROUND_THREADS = 4


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
        #: The last ``meta`` read: when, what, and ``published_here()`` then.
        self._meta: tuple[float, dict | None, int] | None = None
        self.metric = ms.VECTOR_METRIC
        self.pool = ThreadPoolExecutor(BACKGROUND_THREADS, thread_name_prefix="milvus-read")
        self.terms = TermTables(self.names, self.call)
        self.consistency = Consistency()

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
        encoder = encoder or new_encoder(settings)
        one_blas_thread()
        index = cls(index_dir, settings, client, meta, encoder)
        index.load()
        index.terms.at(int(meta["version"]), LeveledClient(client, STRONG))
        index.metric = ms.guarded(settings.milvus_uri, lambda: vector_metric(client, index.names))
        encoder.load(questions=True)  # what answering encodes with
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
            self._meta = None  # after a failed call, the next answer asks the server first
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
                    _drop_oldest(cache, CACHE_DROP)
            return self.caches

    def read_meta(self, *, reuse: bool) -> dict | None:
        """The published ``meta``; with ``reuse``, a read of the last META_REUSE_SECONDS
        if this process has published nothing since."""
        held, published = self._meta, published_here()
        if (
            reuse
            and held is not None
            and time.monotonic() - held[0] < META_REUSE_SECONDS
            and held[2] == published
        ):
            return held[1]
        meta = self.call(lambda: read_meta(self.client, self.prefix, known=True))
        self._meta = (time.monotonic(), meta, published)
        return meta

    @contextlib.contextmanager
    def reader(self) -> Iterator[MilvusReader]:
        nested = getattr(self._local, "view", None)
        if nested is not None:
            yield nested
            return
        meta = self.read_meta(reuse=True)
        if meta is not None and int(meta["version"]) < self.terms.version:
            meta = self.read_meta(reuse=False)  # a reused read older than the term table
        if meta is None or meta["generation"] != self.tag:
            raise ReplacedError(f"the index under {self.prefix} was replaced or removed")
        view = MilvusReader(self, meta)
        self._local.view = view
        try:
            yield view
        finally:
            self._local.view = None

    def replaced(self) -> bool:
        """Whether a new generation was published, by a ``meta`` read of at most the last
        META_REUSE_SECONDS: the engine asks before every question, and a process answering
        many reads ``meta`` (a Strong read, costly on a cluster) at most twice a second
        instead of once per answer. An answer then reads a version another process published
        at most that long ago, as its reader already allowed (what this process publishes is
        read at once); the versions before stay readable far longer
        (``milvus_sync.RETIRED_GRACE_SECONDS``)."""
        meta = self.read_meta(reuse=True)
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


def _drop_oldest(cache: dict[Any, Any], share: float) -> None:
    """Drop the oldest ``share`` of ``cache``'s entries (dicts keep insertion order).

    Answers in other threads may be adding entries: ``list`` copies the keys in one step
    under the GIL, and ``pop`` tolerates a key gone meanwhile.
    """
    for key in list(cache)[: int(len(cache) * share)]:
        cache.pop(key, None)


def _released(exc: Exception) -> bool:
    """Whether ``exc`` says a collection is not loaded (as after the server restarted)."""
    return getattr(exc, "code", None) == COLLECTION_NOT_LOADED or "call load()" in str(exc)


def _read_loaded_meta(client: Any, settings: EngineSettings) -> dict | None:
    """The published meta row, its collection loaded first (a restarted server holds none)."""
    collection = settings.milvus_prefix + ms.META
    if client.has_collection(collection):
        client.load_collection(collection)
    return read_meta(client, settings.milvus_prefix)
