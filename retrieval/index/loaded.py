"""The embedded store opened for answering: FAISS + SQLite in the index folder, cheap to open.

Opening checks the manifest, maps the vector files and reads the ANN index when there is one;
nothing else is read until a question needs it. :meth:`LoadedIndex.reader` gives each answer a
:class:`~retrieval.index.reader.Reader`: one consistent SQLite snapshot with caches of the rows
it has read. ``LoadedIndex`` is the embedded :class:`~retrieval.index.view.OpenIndex`.

A writer may update the store in place while the index is open (``verbatim index`` in another
process); a reader notices the new version and maps the new rows first, so a running bot
answers from the new articles without a restart. A rebuild writes a new generation and replaces
the manifest: :meth:`LoadedIndex.replaced` tells the engine to open it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from embeddings import Encoder, EncoderError, model_fingerprint
from retrieval.config import EngineSettings, new_encoder
from retrieval.errors import IndexCorruptError, IndexMismatchError, rebuild_hint
from retrieval.index import manifest as mf
from retrieval.index import store
from retrieval.index.mapped import VectorState, read_state
from retrieval.index.reader import Reader
from retrieval.index.shared import Shared
from retrieval.index.store_check import store_problem
from retrieval.split.language import Language, LanguageError, language_of


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


def check_language(index_dir: Path, manifest: mf.Manifest, settings: EngineSettings) -> None:
    """Refuse to update an index built for another corpus language (with the rebuild hint).

    Only indexing asks: answering reads an index in the language its manifest records. No
    language configured means the index's own.
    """
    if settings.language is not None and manifest.language != settings.language:
        msg = (
            f"The index at {index_dir} was built for the language {manifest.language!r} but the "
            f"language configured now is {settings.language!r} (VERBATIM_LANGUAGE or "
            f"--language). Rebuild it with: {rebuild_hint(str(index_dir), manifest.corpus)}"
        )
        raise IndexMismatchError(msg)


def index_language(index_dir: Path, manifest: mf.Manifest) -> Language:
    """The language an open index answers in: its manifest's, whatever the settings say."""
    try:
        return language_of(manifest.language)
    except LanguageError as exc:
        msg = (
            f"The index at {index_dir} was built for a language this Verbatim cannot read "
            f"({exc}). Rebuild it with: {rebuild_hint(str(index_dir), manifest.corpus)}"
        )
        raise IndexMismatchError(msg) from exc


def one_blas_thread() -> None:
    """Keep numpy's BLAS to one thread in an answering process (FAISS: ``vectors.load``).

    Its products here are small and memory-bound; a second BLAS thread only competes with the
    encoder's worker threads for the cores (on 2 cores: warm p50 21 ms with two, 12 ms with one,
    on the SQuAD corpus). The Milvus store's answering process calls it too.
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
        *,
        stamp: tuple[int, int] | None = None,
    ) -> None:
        """``stamp`` is the manifest's :func:`manifest_stamp` from before it was read."""
        self.index_dir = index_dir
        self.generation = generation
        self.manifest = manifest
        self.language = index_language(index_dir, manifest)
        self.encoder = encoder
        self.dimension = manifest.model.dimension
        self.shared = Shared()
        self._stamp = stamp
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = self.shared.lock
        self._fds: dict[Path, int] = {}

    @classmethod
    def open(
        cls, index_dir: Path, settings: EngineSettings, *, encoder: Encoder | None = None
    ) -> LoadedIndex:
        """Open ``index_dir``; raise IndexMissing/Mismatch/CorruptError with a rebuild hint."""
        stamp = manifest_stamp(index_dir)
        manifest = mf.read(index_dir)
        check_compatible(index_dir, manifest, settings)
        index_language(index_dir, manifest)
        generation = mf.generation_dir(index_dir, manifest)
        hint = rebuild_hint(str(index_dir), manifest.corpus)
        encoder = encoder or new_encoder(settings)
        try:
            if not (generation / store.STORE_FILE).is_file():
                raise FileNotFoundError(f"missing {store.STORE_FILE}")
            loaded = cls(index_dir, generation, manifest, encoder, stamp=stamp)
            loaded.refresh()
        except (IndexCorruptError, IndexMismatchError):
            raise
        except Exception as exc:  # sqlite3, faiss (RuntimeError), numpy: all mean "damaged"
            msg = (
                f"The index at {index_dir} is damaged or incomplete ({type(exc).__name__}: "
                f"{exc}). Rebuild it with: {hint}"
            )
            raise IndexCorruptError(msg) from exc
        encoder.load(questions=True)  # what answering encodes with
        one_blas_thread()
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
        if self.shared.state is None:
            self.refresh()
        if self.shared.state is None:
            raise RuntimeError(f"the index at {self.index_dir} did not load its vectors")
        return self.shared.state

    def refresh(self) -> VectorState:
        """Map the rows the store's current version counts (a no-op when nothing changed)."""
        conn = self.conn
        current = store.stats(conn)
        state = self.shared.state
        if state is not None and state.version == current.version:
            return state
        with self._lock:
            state = self.shared.state
            if state is not None and state.version == current.version:
                return state
            if state is None:
                self._check_tables(conn)
            fresh = read_state(conn, self.generation, self.dimension, current, state, self._fd)
            self.shared.move_to(fresh)
            return fresh

    def _check_tables(self, conn: sqlite3.Connection) -> None:
        missing = store.missing_tables(conn)
        if missing:
            raise IndexCorruptError(
                f"The index at {self.index_dir} is damaged: its store lacks "
                f"{', '.join(missing)}. Rebuild it with: "
                f"{rebuild_hint(str(self.index_dir), self.manifest.corpus)}"
            )

    def _fd(self, path: Path) -> int:
        if path not in self._fds:
            self._fds[path] = os.open(path, os.O_RDONLY) if path.exists() else -1
        return self._fds[path]

    @contextlib.contextmanager
    def reader(self) -> Iterator[Reader]:
        """A consistent view for one answer: one read transaction, rows cached."""
        conn = self.conn
        if conn.in_transaction:  # nested in another reader of this thread: share its snapshot
            yield Reader(self.shared, conn, self.state, self.dimension, self.language)
            return
        conn.execute("BEGIN")
        try:
            state = self.refresh()
            yield Reader(self.shared, conn, state, self.dimension, self.language)
        finally:
            conn.execute("COMMIT")

    # -- replacement and damage ----------------------------------------------------------------

    def replaced(self) -> bool:
        """Whether the manifest now names another generation (a rebuild by another process).

        A stat per call; the manifest is read only when it was replaced. A manifest that cannot
        be read (half-visible or damaged) keeps this generation serving and is read again
        next time.
        """
        stamp = manifest_stamp(self.index_dir)
        if stamp == self._stamp:
            return False
        try:
            current = mf.read(self.index_dir).generation
        except Exception:
            return False
        if current != self.manifest.generation:
            return True
        self._stamp = stamp
        return False

    def store_failed(self, exc: Exception) -> bool:
        """Whether ``exc`` is SQLite failing (its generation may have been swapped and removed)."""
        return isinstance(exc, sqlite3.Error)

    def damage(self) -> str | None:
        """What SQLite's check and a walk over the rows find wrong with the store, if anything."""
        return store_problem(self.generation / store.STORE_FILE)

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._connections.clear()
            for fd in self._fds.values():
                if fd >= 0:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self._fds = {}
        self._local = threading.local()


def manifest_stamp(index_dir: Path) -> tuple[int, int] | None:
    """What changes when ``manifest.json`` is replaced (inode and modification time)."""
    with contextlib.suppress(OSError):
        info = (index_dir / mf.MANIFEST_FILE).stat()
        return (info.st_ino, info.st_mtime_ns)
    return None
