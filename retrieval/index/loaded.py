"""An index directory opened for answering: cheap to open, whatever the corpus size.

Opening checks the manifest, maps the vector files and reads the ANN index when there is one;
nothing else is read until a question needs it. :meth:`LoadedIndex.reader` gives each answer a
:class:`Reader`: one consistent SQLite snapshot with caches of the rows it has read.

A writer may update the store in place while the index is open (``verbatim index`` in another
process); a reader notices the new version and maps the new rows first, so a running bot
answers from the new articles without a restart.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embeddings import Encoder, EncoderError, model_fingerprint
from retrieval.config import EngineSettings
from retrieval.errors import IndexCorruptError, IndexMismatchError, rebuild_hint
from retrieval.index import manifest as mf
from retrieval.index import store, vectors

#: Document texts kept in memory for cutting quotes (most recently used first out).
TEXT_CACHE_CHARS = 8_000_000
#: Sentence and passage rows kept between questions (each about half a KiB). Rows never
#: change at a position; the cache is emptied when the store's version changes (removals).
ROW_CACHE_ROWS = 200_000
#: Dense searches find at least this many, kept for the rest of the answer.
DENSE_MIN = 32


@dataclass(frozen=True)
class VectorState:
    """What one store version maps: vector rows and the ANN indexes covering a prefix."""

    version: int
    stats: store.Stats
    sentence_vectors: np.ndarray
    passage_vectors: np.ndarray
    sentence_ann: Any
    passage_ann: Any
    sentence_ann_rows: int
    passage_ann_rows: int
    sentence_ann_file: str | None
    passage_ann_file: str | None
    #: Open descriptors of the vector files, for reading scattered rows without the map.
    sentence_fd: int
    passage_fd: int


def check_compatible(index_dir: Path, manifest: mf.Manifest, settings: EngineSettings) -> None:
    """Refuse an index built with another model, encoder or chunking (with the rebuild hint)."""
    hint = rebuild_hint(str(index_dir), manifest.corpus)
    try:
        fingerprint = model_fingerprint(settings.model)
    except EncoderError:
        fingerprint = None
    if manifest.model.name != settings.model or (
        fingerprint is not None and manifest.model.fingerprint != fingerprint
    ):
        msg = (
            f"The index at {index_dir} was built with the model {manifest.model.name!r} "
            f"but the model configured now is {settings.model!r}. Rebuild it with: {hint}"
        )
        raise IndexMismatchError(msg)
    variant = Encoder(settings.model, backend=settings.encoder).variant
    if manifest.model.variant != variant:
        msg = (
            f"The index at {index_dir} was built with the {manifest.model.variant} encoder but "
            f"the encoder configured now is {variant} (VERBATIM_ENCODER). Rebuild it with: {hint}"
        )
        raise IndexMismatchError(msg)
    if manifest.chunking != mf.Chunking(passage_sentences=settings.passage_sentences):
        msg = (
            f"The index at {index_dir} was built with other chunking settings "
            f"({manifest.chunking}). Rebuild it with: {hint}"
        )
        raise IndexMismatchError(msg)


def _one_blas_thread() -> None:
    """Keep numpy's BLAS to one thread in an answering process (FAISS: ``vectors.load``).

    Its products here are small and memory-bound; a second BLAS thread only competes with the
    encoder's worker threads for the cores (on 2 cores: warm p50 21 ms with two, 12 ms with one,
    on the SQuAD corpus).
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


class LoadedIndex:
    """What answering reads. Thread-safe: each thread has its own read-only connection."""

    def __init__(
        self,
        index_dir: Path,
        generation: Path,
        manifest: mf.Manifest,
        encoder: Encoder,
    ) -> None:
        self.index_dir = index_dir
        self.generation = generation
        self.manifest = manifest
        self.encoder = encoder
        self.dimension = manifest.model.dimension
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._texts: OrderedDict[int, str] = OrderedDict()
        self._text_chars = 0
        self.sentence_cache: dict[int, store.SentenceRow] = {}
        self.passage_cache: dict[int, store.PassageRow] = {}
        self.variants_cache: dict[str, frozenset[str]] = {}
        self.facts_cache: dict[str, store.TermFacts] = {}
        self._state: VectorState | None = None

    @classmethod
    def open(
        cls, index_dir: Path, settings: EngineSettings, *, encoder: Encoder | None = None
    ) -> LoadedIndex:
        """Open ``index_dir``; raise IndexMissing/Mismatch/CorruptError with a rebuild hint."""
        manifest = mf.read(index_dir)
        check_compatible(index_dir, manifest, settings)
        generation = mf.generation_dir(index_dir, manifest)
        hint = rebuild_hint(str(index_dir), manifest.corpus)
        encoder = encoder or Encoder(
            settings.model, batch_size=settings.batch_size, backend=settings.encoder
        )
        try:
            if not (generation / store.STORE_FILE).is_file():
                raise FileNotFoundError(f"missing {store.STORE_FILE}")
            loaded = cls(index_dir, generation, manifest, encoder)
            loaded.refresh()
        except (IndexCorruptError, IndexMismatchError):
            raise
        except Exception as exc:  # sqlite3, faiss (RuntimeError), numpy: all mean "damaged"
            msg = (
                f"The index at {index_dir} is damaged or incomplete ({type(exc).__name__}: "
                f"{exc}). Rebuild it with: {hint}"
            )
            raise IndexCorruptError(msg) from exc
        encoder.load()
        _one_blas_thread()
        if encoder.identity.dimension != manifest.model.dimension:
            raise IndexMismatchError(
                f"The index at {index_dir} holds {manifest.model.dimension}-dimensional vectors "
                f"but the model makes {encoder.identity.dimension}. Rebuild it with: {hint}"
            )
        return loaded

    # -- connections and versions ---------------------------------------------------------

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's read-only connection to the store."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = store.connect(self.generation / store.STORE_FILE, readonly=True)
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    @property
    def state(self) -> VectorState:
        if self._state is None:
            self.refresh()
        if self._state is None:
            raise RuntimeError(f"the index at {self.index_dir} did not load its vectors")
        return self._state

    def refresh(self) -> VectorState:
        """Map the rows the store's current version counts (a no-op when nothing changed)."""
        conn = self.conn
        current = store.stats(conn)
        state = self._state
        if state is not None and state.version == current.version:
            return state
        with self._lock:
            state = self._state
            if state is not None and state.version == current.version:
                return state
            self._state = self._read_state(conn, current, state)
            self._texts.clear()
            self._text_chars = 0
            self.sentence_cache.clear()
            self.passage_cache.clear()
            self.variants_cache.clear()
            self.facts_cache.clear()
            return self._state

    def _read_state(
        self, conn: sqlite3.Connection, current: store.Stats, old: VectorState | None
    ) -> VectorState:
        generation, dim = self.generation, self.dimension
        if old is None:
            missing = store.missing_tables(conn)
            if missing:
                raise IndexCorruptError(
                    f"The index at {self.index_dir} is damaged: its store lacks "
                    f"{', '.join(missing)}. Rebuild it with: "
                    f"{rebuild_hint(str(self.index_dir), self.manifest.corpus)}"
                )
        anns: dict[str, tuple[Any, int, str | None]] = {}
        for kind in ("sentence", "passage"):
            name = store.get_meta(conn, f"{kind}_ann")
            rows = int(store.get_meta(conn, f"{kind}_ann_rows") or 0)
            previous = getattr(old, f"{kind}_ann_file", None) if old else None
            if name and old is not None and previous == name:
                anns[kind] = (getattr(old, f"{kind}_ann"), rows, name)
            elif name:
                if "/" in name or name.startswith("."):
                    raise IndexCorruptError(f"The store names an ANN file outside it: {name!r}")
                anns[kind] = (vectors.load(generation / name), rows, name)
            else:
                anns[kind] = (None, 0, None)
        return VectorState(
            version=current.version,
            stats=current,
            sentence_vectors=vectors.open_rows(
                generation / vectors.SENTENCES_FILE, current.sentence_rows, dim
            ),
            passage_vectors=vectors.open_rows(
                generation / vectors.PASSAGES_FILE, current.passage_rows, dim
            ),
            sentence_ann=anns["sentence"][0],
            sentence_ann_rows=anns["sentence"][1],
            sentence_ann_file=anns["sentence"][2],
            passage_ann=anns["passage"][0],
            passage_ann_rows=anns["passage"][1],
            passage_ann_file=anns["passage"][2],
            sentence_fd=self._fd(generation / vectors.SENTENCES_FILE),
            passage_fd=self._fd(generation / vectors.PASSAGES_FILE),
        )

    def _fd(self, path: Path) -> int:
        fds = self.__dict__.setdefault("_fds", {})
        if path not in fds:
            fds[path] = os.open(path, os.O_RDONLY) if path.exists() else -1
        return int(fds[path])

    @contextlib.contextmanager
    def reader(self) -> Iterator[Reader]:
        """A consistent view for one answer: one read transaction, rows cached."""
        conn = self.conn
        if conn.in_transaction:  # nested in another reader of this thread: share its snapshot
            yield Reader(self, conn, self.state)
            return
        conn.execute("BEGIN")
        try:
            state = self.refresh()
            yield Reader(self, conn, state)
        finally:
            conn.execute("COMMIT")

    def document_text(self, conn: sqlite3.Connection, idx: int) -> str:
        """A document's stored text (cached, bounded)."""
        with self._lock:
            text = self._texts.get(idx)
            if text is not None:
                self._texts.move_to_end(idx)
                return text
        text = store.document_text(conn, idx)
        if text is None:
            raise KeyError(idx)
        with self._lock:
            self._texts[idx] = text
            self._text_chars += len(text)
            while self._text_chars > TEXT_CACHE_CHARS and len(self._texts) > 1:
                _old, dropped = self._texts.popitem(last=False)
                self._text_chars -= len(dropped)
        return text

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._connections.clear()
            for fd in self.__dict__.get("_fds", {}).values():
                if fd >= 0:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self.__dict__["_fds"] = {}
        self._local = threading.local()


class Reader:
    """Rows, vectors, text and term statistics for one answer, each read once."""

    def __init__(self, index: LoadedIndex, conn: sqlite3.Connection, state: VectorState) -> None:
        self.index = index
        self.conn = conn
        self.state = state
        self._sentences: dict[int, store.SentenceRow | None] = {}
        self._passages: dict[int, store.PassageRow | None] = {}
        self._documents: dict[int, store.DocumentRow] = {}
        self._dense: dict[tuple[str, int], list[tuple[int, float]]] = {}
        self._dense_limit: dict[tuple[str, int], int] = {}
        self._queries: list[np.ndarray] = []  # keeps ids in ``_dense`` keys unique

    # -- search ------------------------------------------------------------------------------

    def dense(self, kind: str, query: np.ndarray, limit: int) -> list[tuple[int, float]]:
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

    def _search(self, kind: str, query: np.ndarray, limit: int) -> list[tuple[int, float]]:
        s = self.state
        matrix = s.sentence_vectors if kind == "sentences" else s.passage_vectors
        ann = s.sentence_ann if kind == "sentences" else s.passage_ann
        covered = s.sentence_ann_rows if kind == "sentences" else s.passage_ann_rows
        found = vectors.exact_search(matrix[covered:], query, limit, offset=covered)
        if ann is not None:
            # Approximate hits are re-scored with their exact vectors: 8-bit codes find the
            # neighbourhood, the float32 rows decide the order.
            approximate = np.sort([pos for pos, _ in vectors.ann_search(ann, query, limit)])
            if len(approximate):
                rows = self._rows(kind, approximate)
                found += list(zip(approximate.tolist(), (rows @ query).tolist(), strict=True))
        found.sort(key=lambda hit: -hit[1])
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

    def lexical(self, kind: str, fts_query: str, limit: int) -> list[tuple[int, float]]:
        """BM25 matches of live sentences or passages, best first."""
        return store.lexical(self.conn, kind, fts_query, limit)

    def postings(self, kind: str, fts_query: str) -> np.ndarray:
        """Positions of the live sentences or passages matching ``fts_query`` (unranked)."""
        return store.postings(self.conn, kind, fts_query)

    def shared_term_caches(
        self,
    ) -> tuple[dict[str, frozenset[str]], dict[str, store.TermFacts]] | None:
        """The index's caches of term variants and facts, or None for an older snapshot.

        Search fills them (``retrieval.search.coverage``); only what is read at the index's
        current version may be shared. Each is emptied past ``ROW_CACHE_ROWS`` entries.
        """
        current = self.state is self.index._state
        if len(self.index.variants_cache) > ROW_CACHE_ROWS:
            self.index.variants_cache.clear()
        if len(self.index.facts_cache) > ROW_CACHE_ROWS:
            self.index.facts_cache.clear()
        return (self.index.variants_cache, self.index.facts_cache) if current else None

    # -- rows --------------------------------------------------------------------------------

    def sentences(self, positions: Sequence[int]) -> dict[int, store.SentenceRow | None]:
        """Rows of ``positions`` (None for a removed or unknown one)."""
        return self._rows_at(
            positions, self._sentences, self.index.sentence_cache, store.sentence_rows
        )

    def _rows_at(
        self,
        positions: Sequence[int],
        known: dict[int, Any],
        shared: dict[int, Any],
        read: Callable[[sqlite3.Connection, Sequence[int]], Sequence[Any]],
    ) -> dict[int, Any]:
        """Rows from this answer's cache, else the index's, else the store (one query)."""
        missing = []
        for pos in positions:
            if pos not in known:
                row = shared.get(pos)
                if row is None:
                    missing.append(pos)
                else:
                    known[pos] = row
        if missing:
            found = {row.pos: row for row in read(self.conn, missing)}
            self._share(shared, found)
            for pos in missing:
                known[pos] = found.get(pos)
        return {p: known[p] for p in positions}

    def _share(self, shared: dict[int, Any], found: dict[int, Any]) -> None:
        # Only rows read at the index's current version may be shared: an older snapshot may
        # still hold rows that a newer version removed.
        if self.state is not self.index._state:
            return
        if len(shared) + len(found) > ROW_CACHE_ROWS:
            shared.clear()
        shared.update(found)

    def sentence(self, pos: int) -> store.SentenceRow | None:
        if pos not in self._sentences:
            self.sentences([pos])
        return self._sentences[pos]

    def passages(self, positions: Sequence[int]) -> dict[int, store.PassageRow | None]:
        """Rows of ``positions`` (None for a removed or unknown one)."""
        return self._rows_at(
            positions, self._passages, self.index.passage_cache, store.passage_rows
        )

    def document(self, idx: int) -> store.DocumentRow:
        row = self._documents.get(idx)
        if row is None:
            for found in store.document_rows(self.conn, [idx]):
                self._documents[found.idx] = found
            row = self._documents.get(idx)
            if row is None:
                raise KeyError(idx)
        return row

    def documents(self, indexes: Sequence[int]) -> None:
        """Read the rows of ``indexes`` in one query (warms :meth:`document`)."""
        missing = [i for i in dict.fromkeys(indexes) if i not in self._documents]
        for found in store.document_rows(self.conn, missing):
            self._documents[found.idx] = found

    def text(self, idx: int) -> str:
        return self.index.document_text(self.conn, idx)

    def _rows(self, kind: str, positions: Sequence[int] | np.ndarray) -> np.ndarray:
        s = self.state
        matrix = s.sentence_vectors if kind == "sentences" else s.passage_vectors
        at = np.asarray(positions, dtype=np.int64)
        if len(at) == 0:
            return np.zeros((0, self.index.dimension), dtype=np.float32)
        fd = s.sentence_fd if kind == "sentences" else s.passage_fd
        if len(matrix) < vectors.PREAD_MIN_ROWS or fd < 0:
            return np.asarray(matrix[at])
        if int(at.max()) >= len(matrix):
            raise IndexError(f"vector row {int(at.max())} is past the {len(matrix)} mapped")
        return vectors.read_rows(fd, at, self.index.dimension)

    def sentence_vectors(self, positions: Sequence[int]) -> np.ndarray:
        return self._rows("sentences", positions)

    def passage_vectors(self, positions: Sequence[int]) -> np.ndarray:
        return self._rows("passages", positions)

    def same_passage(self, a: int, b: int) -> bool:
        """Whether sentence positions ``a`` and ``b`` are live and in one passage."""
        ra, rb = self.sentence(a), self.sentence(b) if b >= 0 else None
        return ra is not None and rb is not None and ra.passage == rb.passage
