"""The Milvus store opened for answering: every read goes to the Milvus server.

:class:`MilvusIndex` is an :class:`~retrieval.index.view.OpenIndex`; each answer's
:class:`MilvusReader` reads the published ``meta`` row once and sees that version only
(positions below its high-water marks, rows added at or before it, nothing of a retired
document; see ``retrieval.index.milvus_sync``). Dense search is Milvus's exact (FLAT) cosine
search, re-scored with the returned vectors as the embedded store scores; posting lists are
the project's own (the FTS5 tokens of each row); rows, documents and texts are read by
position or key and cached for the answer, and between answers while the version stands.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from embeddings import Encoder
from retrieval.config import EngineSettings
from retrieval.errors import IndexMismatchError, IndexMissingError
from retrieval.index import milvus_schema as ms
from retrieval.index.loaded import check_compatible
from retrieval.index.manifest import Manifest
from retrieval.index.milvus_sync import query_all, read_meta
from retrieval.index.rows import DocumentRow, PassageRow, SentenceRow, Stats, TermFacts
from retrieval.index.view import Kind, TermCaches
from retrieval.types import Source

#: Dense searches find at least this many, kept for the rest of the answer.
DENSE_MIN = 32
#: Rows, texts and term facts kept between answers; emptied past this many.
CACHE_ROWS = 200_000
#: Milvus's error code for a collection that is not loaded (released, as after a restart).
COLLECTION_NOT_LOADED = 101
_ROW_FIELDS = {
    "sentences": ["pos", "doc", "ordinal", "passage", "start", "end", "text", "terms"],
    "passages": ["pos", "doc", "ordinal", "start", "end", "first", "last", "terms"],
}


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
        self.encoder = encoder
        self.tag = str(meta["generation"])
        self.names = {k: ms.name(self.prefix, self.tag, k) for k in ms.COLLECTIONS}
        self.tokenizer = ms.Tokenizer()
        self.lock = threading.Lock()
        self.cache_version = -1
        self.caches: dict[str, dict[Any, Any]] = {}
        self._local = threading.local()

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
                self.caches = {k: {} for k in ("sentences", "passages", "texts", "v", "f")}
            if version != self.cache_version:
                return None
            for cache in self.caches.values():
                if len(cache) > CACHE_ROWS:
                    cache.clear()
            return self.caches

    @contextlib.contextmanager
    def reader(self) -> Iterator[MilvusReader]:
        nested = getattr(self._local, "view", None)
        if nested is not None:
            yield nested
            return
        meta = self.call(lambda: read_meta(self.client, self.prefix))
        if meta is None or meta["generation"] != self.tag:
            raise ReplacedError(f"the index under {self.prefix} was replaced or removed")
        view = MilvusReader(self, meta)
        self._local.view = view
        try:
            yield view
        finally:
            self._local.view = None

    def replaced(self) -> bool:
        meta = self.call(lambda: read_meta(self.client, self.prefix))
        return meta is not None and meta["generation"] != self.tag

    def store_failed(self, exc: Exception) -> bool:
        from pymilvus.exceptions import MilvusException

        return isinstance(exc, ReplacedError | MilvusException)

    def damage(self) -> str | None:
        held = self.call(lambda: set(self.client.list_collections()))
        missing = [n for n in self.names.values() if n not in held]
        return f"Milvus lacks the collections {', '.join(missing)}" if missing else None

    def close(self) -> None:
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


class MilvusReader:
    """One answer's view of the published version: rows read once, by position or key."""

    def __init__(self, index: MilvusIndex, meta: dict) -> None:
        self.index = index
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
        self._queries: list[np.ndarray] = []

    def _live(self, kind: str, pos: int) -> bool:
        return pos < self.high[kind] and not any(a <= pos < b for a, b in self.retired[kind])

    def _visible(self, kind: str) -> str:
        rule = f"pos < {self.high[kind]}"
        for a, b in self.retired[kind]:
            rule += f" and (pos < {a} or pos >= {b})"
        return rule

    # -- candidates ------------------------------------------------------------------------

    def dense(self, kind: Kind, query: np.ndarray, limit: int) -> list[tuple[int, float]]:
        key = (kind, id(query))
        if not any(q is query for q in self._queries):
            self._queries.append(query)
        wanted, found = self._dense.get(key, (0, []))
        if wanted < limit and (not wanted or len(found) == wanted):
            wanted = max(limit, DENSE_MIN)
            found = self._search(kind, query, wanted)
            self._dense[key] = (wanted, found)
        return found[:limit]

    def _search(self, kind: Kind, query: np.ndarray, limit: int) -> list[tuple[int, float]]:
        hits = self.index.call(
            lambda: self.client.search(
                self.names[kind],
                data=[query.astype(np.float32).tolist()],
                limit=limit,
                filter=self._visible(kind),
                output_fields=["pos", "vector"],
                search_params={"metric_type": "COSINE"},
            )
        )[0]
        found = []
        for hit in hits:
            vector = np.asarray(hit["entity"]["vector"], dtype=np.float32)
            self._vectors[kind][int(hit["entity"]["pos"])] = vector
            found.append((int(hit["entity"]["pos"]), float(vector @ query)))
        found.sort(key=lambda h: (-h[1], h[0]))
        return found

    def _tokens_postings(self, kind: Kind, terms: Sequence[str]) -> dict[str, np.ndarray]:
        """Each term's positions: rows holding all its full-text tokens."""
        words = {t: self.index.tokenizer.word(t) for t in dict.fromkeys(terms)}
        tokens = sorted({tok for toks in words.values() for tok in toks})
        per_token: dict[str, list[int]] = {tok: [] for tok in tokens}
        prefix = kind[0]
        for chunk in ms.chunks(tokens):
            listed = ", ".join(ms.quoted(f"{prefix}:{t}") for t in chunk)
            rows = self.index.call(
                lambda listed=listed: query_all(  # type: ignore[misc]
                    self.client,
                    self.names["postings"],
                    f"token in [{listed}] and added <= {self.version}",
                    ["token", "dockey", "positions"],
                )
            )
            for row in rows:
                if row["dockey"] not in self.retired_docs:
                    per_token[str(row["token"])[2:]].extend(row["positions"])
        found: dict[str, np.ndarray] = {}
        for term, toks in words.items():
            if not toks:
                continue
            rows = np.asarray(per_token[toks[0]], dtype=np.int64)
            for tok in toks[1:]:  # a phrase: rows holding every token (FTS5 also wants order)
                rows = np.intersect1d(rows, np.asarray(per_token[tok], dtype=np.int64))
            found[term] = np.unique(rows)
        return found

    def postings(self, kind: Kind, terms: Sequence[str]) -> np.ndarray:
        found = list(self._tokens_postings(kind, terms).values())
        return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)

    def lexical(self, kind: Kind, terms: Sequence[str], limit: int) -> list[tuple[int, float]]:
        """Rows holding the most IDF weight of ``terms`` (term counts and lengths unweighed)."""
        live = max(self._stats.sentences if kind == "sentences" else self._stats.passages, 1)
        found = [f for f in self._tokens_postings(kind, terms).values() if len(f)]
        if not found:
            return []
        weights = [float(np.log(1 + (live - len(f) + 0.5) / (len(f) + 0.5))) for f in found]
        rows, inverse = np.unique(np.concatenate(found), return_inverse=True)
        sizes = [len(f) for f in found]
        score = np.bincount(inverse, weights=np.repeat(weights, sizes), minlength=len(rows))
        top = np.argsort(-score, kind="stable")[:limit]
        return [(int(rows[i]), float(score[i])) for i in top]

    # -- rows ------------------------------------------------------------------------------

    def _rows_at(self, kind: Kind, positions: Sequence[int]) -> dict[int, Any]:
        known = self._rows[kind]
        shared = self.shared[kind] if self.shared is not None else {}
        missing = []
        for pos in positions:
            if pos in known:
                continue
            if pos in shared:
                known[pos] = shared[pos]
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
                    output_fields=_ROW_FIELDS[kind],
                    limit=len(chunk),
                )
            )
            for r in rows:
                values = {f: r[f] for f in _ROW_FIELDS[kind]}
                values["terms"] = ms.unpack(values["terms"])
                if kind == "sentences":
                    values["text"] = ms.unpack(values["text"])
                row = make(**values)
                known[row.pos] = row
                if self.shared is not None:
                    shared[row.pos] = row
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
        known = self._vectors[kind]
        missing = sorted({int(p) for p in positions if int(p) not in known})
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
            found.append(doc)
        return found

    def documents(self, indexes: Sequence[int]) -> None:
        missing = sorted({int(i) for i in indexes if i not in self._documents})
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
        texts = self.shared["texts"] if self.shared is not None else {}
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

    def _latest_df(self, rule: str) -> dict[str, tuple[int, int]]:
        rows = self.index.call(
            lambda: query_all(
                self.client,
                self.names["term_df"],
                f"({rule}) and added <= {self.version}",
                ["term", "sentences", "passages", "added"],
            )
        )
        newest: dict[str, tuple[int, int, int]] = {}
        for r in rows:
            held = newest.get(r["term"])
            if held is None or r["added"] > held[0]:
                newest[r["term"]] = (int(r["added"]), int(r["sentences"]), int(r["passages"]))
        return {t: (s, p) for t, (_, s, p) in newest.items() if s > 0 or p > 0}

    def term_frequencies(self, terms: Sequence[str]) -> dict[str, tuple[int, int]]:
        found: dict[str, tuple[int, int]] = {}
        for chunk in ms.chunks(sorted(set(terms))):
            listed = ", ".join(ms.quoted(t) for t in chunk)
            found.update(self._latest_df(f"term in [{listed}]"))
        return found

    def terms_with_prefix(self, prefix: str, *, longest: int) -> list[str]:
        pattern = ms.quoted(prefix + "%")
        found = self._latest_df(f"term like {pattern}")
        return sorted(
            t for t, (_, p) in found.items() if t.startswith(prefix) and len(t) <= longest and p > 0
        )

    def term_facts(self, stems: Sequence[str]) -> dict[str, TermFacts]:
        df = self.term_frequencies(stems)
        by_term: dict[str, set[str]] = {}
        by_key: dict[str, set[str]] = {}
        if stems:
            listed = ", ".join(ms.quoted(s) for s in set(stems))
            rows = self.index.call(
                lambda: query_all(
                    self.client,
                    self.names["acronyms"],
                    f"(term in [{listed}] or akey in [{listed}]) and added <= {self.version}",
                    ["dockey", "acronym", "akey", "term"],
                )
            )
            asked = set(stems)
            for r in rows:
                if r["dockey"] in self.retired_docs:
                    continue
                if r["term"] in asked:
                    by_term.setdefault(r["term"], set()).add(r["acronym"])
                if r["akey"] in asked:
                    by_key.setdefault(r["akey"], set()).add(r["term"])
        return {
            s: TermFacts(
                df.get(s, (0, 0)), frozenset(by_term.get(s, ())), frozenset(by_key.get(s, ()))
            )
            for s in stems
        }

    def shared_term_caches(self) -> TermCaches | None:
        if self.shared is None:
            return None
        return (self.shared["v"], self.shared["f"])
