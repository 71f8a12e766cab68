"""Build or update an index directory: incremental, in proportion to the change, crash-safe.

An update changes the current generation in place, in one SQLite transaction: removed and
changed documents are deleted, only new and changed ones are segmented and embedded, their
vectors appended to the vector files (made durable before the commit that counts them). A
crash or kill at any point leaves the last committed state, which loads and answers; the next
writer cuts off whatever vectors the crash left uncounted. Corpus files whose size and
modification time are unchanged, as are those of their source sidecars (or their absence),
are not even read; a document re-read whose content hash differs is indexed again (a changed
url too: its document is re-embedded, which keeps the Milvus mirror, keyed by positions, true).

The manifest records the version of the reading and splitting rules (``READERS_VERSION``) the
index was built under. An update under another version (or an index that never recorded one)
re-reads every file, size and mtime ignored: documents whose hash changed are indexed again,
and those whose hash did not are segmented again and compared with what the store holds
(``resplit``), so a splitter change reaches the index too; nothing else is embedded.

A new generation (first build, ``--rebuild``, another model or chunking) is written into a new
folder and becomes current when ``manifest.json`` is replaced, in one rename.

After the commit the vector index is kept fit for the size: exact search for small corpora; an
IVF index past ``vectors.ANN_MIN_ROWS`` rows, rebuilt when enough rows were added or removed
since it was built (as search engines merge segments).

This module holds the lock, chooses between an update and a new generation, and turns a
failure into a message; the parts lie beside it: ``build_changes`` (what changed),
``build_embed`` (segmenting and embedding into rows), ``build_write`` (the update's transaction
and a new generation), ``build_compact``, ``build_ann`` (the vector index kept fit),
``build_generations`` (folders, publishing, clean-up) and ``build_report``.
"""

from __future__ import annotations

import contextlib
import fcntl
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from embeddings import Encoder
from retrieval.config import EngineSettings, new_encoder
from retrieval.errors import (
    IndexCorruptError,
    IndexPathError,
    IndexWriteError,
    VerbatimError,
    not_a_folder,
    rebuild_hint,
)
from retrieval.index import manifest as mf
from retrieval.index import row_files, store
from retrieval.index.build_generations import remove_stale
from retrieval.index.build_report import BuildReport, Log
from retrieval.index.build_write import new_generation, update_in_place
from retrieval.index.loaded import check_compatible, check_language
from retrieval.index.store_check import store_problem
from retrieval.types import Document

LOCK_FILE = ".lock"
#: SQLite error names (prefixes) that mean the disk or the folder refused a write.
_WRITE_REFUSED = (
    "SQLITE_FULL",
    "SQLITE_IOERR",
    "SQLITE_READONLY",
    "SQLITE_CANTOPEN",
    "SQLITE_PERM",
)
#: SQLite error names (prefixes) that mean another program holds the store.
_HELD = ("SQLITE_BUSY", "SQLITE_LOCKED")


@contextlib.contextmanager
def _build_lock(index_dir: Path) -> Iterator[None]:
    try:
        handle = (index_dir / LOCK_FILE).open("a")
    except OSError as exc:
        raise VerbatimError(f"Cannot write to the index folder {index_dir} ({exc}).") from exc
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            msg = (
                f"Another `verbatim index` is writing {index_dir}; wait for it to finish and "
                "try again."
            )
            raise VerbatimError(msg) from exc
        yield
    finally:
        handle.close()


def _current(index_dir: Path, settings: EngineSettings) -> tuple[mf.Manifest | None, str | None]:
    """The manifest whose generation this build may update in place, or why it can't."""
    try:
        current = mf.read(index_dir, migratable=True)
        check_compatible(index_dir, current, settings)
        check_language(index_dir, current, settings)
        generation = mf.generation_dir(index_dir, current)
    except VerbatimError as exc:
        exists = (index_dir / mf.MANIFEST_FILE).exists()
        return None, exc.message if exists else None
    if not (generation / store.STORE_FILE).is_file():
        return None, "the current generation's files are missing"
    try:
        with contextlib.closing(store.connect(generation / store.STORE_FILE)) as conn:
            conn.execute("SELECT COUNT(*) FROM meta").fetchone()
            if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                return None, "the store is damaged"
            if row_files.enabled(conn):
                damaged = row_files.problem(generation, store.stats(conn))
                if damaged:
                    return None, f"the row files are damaged ({damaged})"
    except (sqlite3.Error, ValueError) as exc:
        return None, f"the store is unreadable ({exc})"
    return current, None


def build_index(
    corpus: Path | Sequence[Document],
    index_dir: Path,
    settings: EngineSettings,
    *,
    rebuild: bool = False,
    encoder: Encoder | None = None,
    log: Log | None = None,
) -> BuildReport:
    """Index ``corpus`` (a folder, a file, or documents) into ``index_dir``.

    Raises CorpusError when the corpus holds nothing indexable, IndexPathError when the
    directory cannot hold an index, IndexCorruptError when the index to update is damaged,
    IndexWriteError when writing fails, and VerbatimError when another build holds the
    directory. The previous index stays whole in every case.
    """
    started = time.perf_counter()
    say = log or (lambda _message: None)
    if index_dir.exists() and not index_dir.is_dir():
        raise IndexPathError(not_a_folder(str(index_dir)))
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise IndexPathError(f"Cannot create the index folder {index_dir} ({exc}).") from exc
    mf.check_manifest_path(index_dir)
    with _build_lock(index_dir):
        report = _build_locked(corpus, index_dir, settings, rebuild, encoder, say, started)
        if settings.store == "milvus":
            from retrieval.index.milvus_sync import sync

            sync(index_dir, settings, say)
        return report


def _build_locked(
    corpus: Path | Sequence[Document],
    index_dir: Path,
    settings: EngineSettings,
    rebuild: bool,
    encoder: Encoder | None,
    say: Log,
    started: float,
) -> BuildReport:
    remove_stale(index_dir)
    current, reason = (None, "asked for a rebuild") if rebuild else _current(index_dir, settings)
    if reason:
        say(f"rebuilding from scratch: {reason}")
    encoder = encoder or new_encoder(settings)
    if current is None:
        try:
            return new_generation(
                corpus, index_dir, settings, encoder, reason, say, started, previous=None
            )
        except (OSError, sqlite3.Error) as exc:
            raise _write_failure(index_dir, exc) from exc
    generation = mf.generation_dir(index_dir, current)
    try:
        current = _migrate(index_dir, generation, current, say)
        return update_in_place(
            corpus, index_dir, generation, current, settings, encoder, say, started
        )
    except VerbatimError:
        raise
    except Exception as exc:
        named = str(corpus.resolve()) if isinstance(corpus, Path) else current.corpus
        failure = _update_failure(index_dir, generation, named, exc)
        if failure is None:
            raise  # not the store's fault: a bug, shown as it is
        raise failure from exc


def _migrate(index_dir: Path, generation: Path, current: mf.Manifest, say: Log) -> mf.Manifest:
    """Bring an index of an older schema (``mf.MIGRATABLE_SCHEMAS``) up to date in place.

    Opening its store for writing adds the new columns; the manifest then names the new
    schema. A crash between the two leaves a store that both versions read.
    """
    if current.schema_version == mf.SCHEMA_VERSION:
        return current
    with contextlib.closing(store.connect(generation / store.STORE_FILE)):
        pass
    migrated = current.model_copy(update={"schema_version": mf.SCHEMA_VERSION})
    mf.write(index_dir, migrated)
    say(
        f"updated the index from schema version {current.schema_version} to "
        f"{mf.SCHEMA_VERSION} in place (nothing re-embedded)"
    )
    return migrated


def _write_failure(index_dir: Path, exc: OSError | sqlite3.Error) -> IndexWriteError:
    why = f"{exc.strerror}: {exc.filename}" if isinstance(exc, OSError) else str(exc)
    if isinstance(exc, sqlite3.Error) and (exc.sqlite_errorname or "").startswith(_HELD):
        return IndexWriteError(
            f"The index store in {index_dir} is held by another program ({why}); close it and "
            "run `verbatim index` again."
        )
    return IndexWriteError(
        f"Writing the index at {index_dir} failed ({why}). The index is as it was before. Free "
        "disk space or fix the folder's permissions, then run `verbatim index` again."
    )


def _update_failure(
    index_dir: Path, generation: Path, corpus: str | None, exc: Exception
) -> VerbatimError | None:
    """What to tell about a failed update: damage or a refused write; None for a bug."""
    if isinstance(exc, OSError) or (
        isinstance(exc, sqlite3.Error)
        and (exc.sqlite_errorname or "").startswith(_WRITE_REFUSED + _HELD)
    ):
        return _write_failure(index_dir, exc)
    problem = store_problem(generation / store.STORE_FILE)
    if problem is None and isinstance(exc, sqlite3.Error):
        problem = f"{type(exc).__name__}: {exc}"
    if problem is None:
        return None
    return IndexCorruptError(
        f"The index at {index_dir} is damaged ({problem}); the update was not applied. "
        f"Rebuild it with: {rebuild_hint(str(index_dir), corpus)}"
    )
