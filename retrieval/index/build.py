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
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from embeddings import Encoder
from retrieval.config import EngineSettings
from retrieval.errors import (
    CorpusError,
    IndexCorruptError,
    IndexPathError,
    IndexWriteError,
    VerbatimError,
    not_a_folder,
    rebuild_hint,
)
from retrieval.index import manifest as mf
from retrieval.index import store, store_read, store_write, vectors
from retrieval.index.loaded import check_compatible, check_language
from retrieval.index.resplit import split_of, stored_split
from retrieval.index.rows import term_set
from retrieval.index.store_check import store_problem
from retrieval.read.readers import (
    READERS_VERSION,
    SkippedFile,
    content_hash,
    corpus_files,
    read_file,
    source_sidecar,
    source_sidecar_rel,
)
from retrieval.split.language import DEFAULT_LANGUAGE, ENGLISH, Language, language_of
from retrieval.split.language_check import language_warning
from retrieval.split.segment import MAX_RUN_ON_CHARS, segment
from retrieval.split.terms import acronym_key, acronyms, sentence_terms, terms_of
from retrieval.types import Document, Passage, Sentence

LOCK_FILE = ".lock"
TMP_SUFFIX = ".tmp"
#: Generations kept besides the current one, so a running bot can finish on the old files.
KEEP_PREVIOUS = 1
#: Passages are encoded up to the length the default model was trained on: as good for
#: ranking as its 256-token limit on SQuAD and the seeds, and about half the indexing time.
PASSAGE_TOKENS = 128
#: Documents are segmented, embedded and stored this many sentences at a time (bounded memory).
CHUNK_SENTENCES = 20_000
#: The language check (``split.language_check``) reads about this many of a build's new
#: sentences, at most ``SAMPLE_SENTENCES_PER_DOCUMENT`` from each document so that one long
#: article does not speak for the corpus.
SAMPLE_SENTENCES = 400
SAMPLE_SENTENCES_PER_DOCUMENT = 40
#: Texts go to the encoder at most about this many characters at a time: its tokenizer holds
#: every text of a call at once (a one-line 49 MB file went to it whole and took 23 GB).
#: A chunk of ordinary articles stays under it, so its texts are encoded as one call.
ENCODE_SLICE_CHARS = 8_000_000
#: Removed rows inside the ANN index past this share of it make the next update rebuild it.
ANN_DEAD_SHARE = 0.2
#: When removed rows (gaps) make up this share of all rows, the update ends by compacting the
#: store into a new generation: live rows copied with their vectors, nothing re-embedded.
COMPACT_DEAD_SHARE = 0.5
COMPACT_MIN_ROWS = 2_000
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

Log = Callable[[str], None]


@dataclass(frozen=True)
class BuildReport:
    """What a build did. ``wrote`` is false when nothing changed and nothing was written."""

    index_dir: Path
    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: int = 0
    skipped: tuple[SkippedFile, ...] = ()
    documents: int = 0
    sentences: int = 0
    passages: int = 0
    seconds: float = 0.0
    wrote: bool = False
    full_rebuild_reason: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: Problems the person should act on (a corpus language the model or setting does not fit).
    warnings: tuple[str, ...] = field(default_factory=tuple)


def passage_text(document: Document, passage: Passage) -> str:
    """What represents a passage to the encoder: title plus text."""
    body = document.text[passage.start : passage.end]
    return f"{document.title}\n{body}" if document.title else body


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


@dataclass
class _Plan:
    """What a build must do to the current generation (or a new one)."""

    todo: list[tuple[Document, str, str | None]]  # document, hash, source file
    drop: set[str]
    added: tuple[str, ...]
    updated: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: int
    skipped: tuple[SkippedFile, ...]
    files: dict[str, tuple[int, int]] | None  # files and source sidecars read: size, mtime
    corpus_name: str | None
    #: Documents read whose content hash is the stored one (document, hash, source file).
    same: list[tuple[Document, str, str | None]] = field(default_factory=list)


#: Said when an update re-reads the whole corpus because the reading rules changed.
REREAD_MESSAGE = (
    "reading rules changed since this index was built: re-reading every file; only documents "
    "whose text or sentences changed are encoded again"
)


def _plan(
    corpus: Path | Sequence[Document],
    conn: sqlite3.Connection | None,
    say: Log,
    *,
    reread: bool = False,
) -> _Plan:
    """Compare the corpus with the stored documents; read only files that changed (every
    file with ``reread``)."""
    skipped: list[SkippedFile] = []
    old_hashes = store_write.document_hashes(conn) if conn is not None else {}
    new: dict[str, tuple[Document, str, str | None]] = {}
    kept: set[str] = set()
    files: dict[str, tuple[int, int]] | None = None
    corpus_name: str | None = None
    if isinstance(corpus, Path):
        corpus_name = str(corpus.resolve())
        old_files = store_write.file_states(conn) if conn is not None else {}
        files = {}
        changed: list[tuple[Path, str]] = []
        same: list[str] = []
        sidecars: set[str] = set()
        for file, rel in corpus_files(corpus, skipped, sidecars):
            state, sidecar = _file_state(file), _sidecar_state(file, rel, sidecars)
            if (
                not reread
                and state is not None
                and old_files.get(rel) == state
                and _same(sidecar, old_files)
            ):
                same.append(rel)
                _record(files, rel, state, sidecar)
            else:
                changed.append((file, rel))
        if conn is not None and same:
            kept.update(store_write.documents_of_files(conn, same))
        for file, rel in changed:
            documents = read_file(file, rel, skipped)
            state = _file_state(file)
            if documents and state is not None:
                _record(files, rel, state, _sidecar_state(file, rel, sidecars))
            for doc in documents:
                if doc.id in new or doc.id in kept:
                    skipped.append(SkippedFile(rel, f"duplicate document id {doc.id!r}"))
                    continue
                new[doc.id] = (doc, content_hash(doc), rel)
    else:
        for doc in corpus:
            if doc.id in new:
                skipped.append(SkippedFile(doc.id, f"duplicate document id {doc.id!r}"))
                continue
            new[doc.id] = (doc, content_hash(doc), None)
    for item in skipped:
        say(f"skipped {item.path}: {item.reason}")
    if not new and not kept:
        where = corpus_name or "the documents given"
        raise CorpusError(f"Nothing to index in {where}.")
    added = tuple(sorted(i for i in new if i not in old_hashes))
    updated = tuple(sorted(i for i in new if i in old_hashes and new[i][1] != old_hashes[i]))
    present = kept | set(new)
    removed = tuple(sorted(i for i in old_hashes if i not in present))
    todo_ids = set(added) | set(updated)
    return _Plan(
        todo=[new[i] for i in sorted(todo_ids)],
        drop=set(updated) | set(removed),
        added=added,
        updated=updated,
        removed=removed,
        unchanged=len(present) - len(todo_ids),
        skipped=tuple(skipped),
        files=files,
        corpus_name=corpus_name,
        same=[new[i] for i in sorted(new) if i in old_hashes and new[i][1] == old_hashes[i]],
    )


def _resplit(
    plan: _Plan, conn: sqlite3.Connection, passage_sentences: int, language: Language
) -> _Plan:
    """``plan`` with the unchanged documents that today's rules split otherwise moved to
    ``updated`` (see ``resplit``): the content hash does not cover sentences."""

    def key(acronym: str) -> str:
        return acronym_key(acronym, language)

    def quiet(_message: str) -> None:
        """``partly indexed`` was said when the document was first indexed."""

    split_again = [
        (doc, digest, source_file)
        for doc, digest, source_file in plan.same
        if split_of(_prepare(doc, digest, source_file, passage_sentences, quiet, language), key)
        != stored_split(conn, doc.id)
    ]
    if not split_again:
        return plan
    ids = {doc.id for doc, _h, _f in split_again}
    return replace(
        plan,
        todo=sorted([*plan.todo, *split_again], key=lambda item: item[0].id),
        drop=plan.drop | ids,
        updated=tuple(sorted({*plan.updated, *ids})),
        unchanged=plan.unchanged - len(ids),
        same=[item for item in plan.same if item[0].id not in ids],
    )


FileState = tuple[int, int]


def _file_state(file: Path) -> FileState | None:
    """Size and modification time of ``file``; None when it cannot be looked at."""
    try:
        info = file.stat()
    except OSError:
        return None
    return int(info.st_size), int(info.st_mtime_ns)


def _sidecar_state(file: Path, rel: str, present: set[str]) -> tuple[str, FileState | None] | None:
    """The relative path and state of the source sidecar the reader of ``file`` consults
    (state None: there is none; only those in ``present`` are looked at); None when its
    reader consults none (JSONL).

    The sidecar's url is part of the document (and its content hash), so a change to the
    sidecar alone must make the article be read again.
    """
    sidecar = source_sidecar_rel(rel)
    if sidecar is None or sidecar not in present:
        return None if sidecar is None else (sidecar, None)
    return sidecar, _file_state(source_sidecar(file))


def _same(sidecar: tuple[str, FileState | None] | None, old: dict[str, FileState]) -> bool:
    """Whether a sidecar is as the last build recorded it (absent then and now included)."""
    return sidecar is None or old.get(sidecar[0]) == sidecar[1]


def _record(
    files: dict[str, FileState],
    rel: str,
    state: FileState,
    sidecar: tuple[str, FileState | None] | None,
) -> None:
    """Note an article file as read: its state, and its sidecar's when there is one."""
    files[rel] = state
    if sidecar is not None and sidecar[1] is not None:
        files[sidecar[0]] = sidecar[1]


def _kept_language(index_dir: Path) -> str:
    """The language of the index being replaced (none configured keeps it), else English."""
    try:
        return mf.read(index_dir, migratable=True).language
    except VerbatimError:
        return DEFAULT_LANGUAGE


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
    except sqlite3.Error as exc:
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
    _remove_stale(index_dir)
    current, reason = (None, "asked for a rebuild") if rebuild else _current(index_dir, settings)
    if reason:
        say(f"rebuilding from scratch: {reason}")
    encoder = encoder or Encoder(
        settings.model, batch_size=settings.batch_size, backend=settings.encoder
    )
    if current is None:
        try:
            return _new_generation(
                corpus, index_dir, settings, encoder, reason, say, started, previous=None
            )
        except (OSError, sqlite3.Error) as exc:
            raise _write_failure(index_dir, exc) from exc
    generation = mf.generation_dir(index_dir, current)
    try:
        current = _migrate(index_dir, generation, current, say)
        return _update(corpus, index_dir, generation, current, settings, encoder, say, started)
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


def _update(
    corpus: Path | Sequence[Document],
    index_dir: Path,
    generation: Path,
    current: mf.Manifest,
    settings: EngineSettings,
    encoder: Encoder,
    say: Log,
    started: float,
) -> BuildReport:
    language = language_of(current.language)
    published = current
    conn = store.connect(generation / store.STORE_FILE, language=language)
    sample: list[str] = []
    try:
        _remove_orphans(conn, generation)
        reread = current.readers_version != READERS_VERSION
        if reread:
            say(REREAD_MESSAGE)
        plan = _plan(corpus, conn, say, reread=reread)
        if reread:
            plan = _resplit(plan, conn, settings.passage_sentences, language)
        common = _common(index_dir, plan, None)
        changed = bool(plan.todo or plan.drop)
        files_changed = plan.files is not None and plan.files != store_write.file_states(conn)
        dim = current.model.dimension
        if changed or files_changed:
            before = store.stats(conn)
            for name, rows in (
                (vectors.SENTENCES_FILE, before.sentence_rows),
                (vectors.PASSAGES_FILE, before.passage_rows),
            ):
                vectors.truncate(generation / name, rows, dim)
            conn.execute("BEGIN IMMEDIATE")
            try:
                removed = store_write.delete_documents(conn, sorted(plan.drop), language=language)
                sample = _store_documents(
                    conn, generation, plan.todo, settings, encoder, say, language
                )
                if plan.files is not None:
                    store_write.replace_files(conn, plan.files)
                store.set_meta(conn, updated_at=_now())
                _note_dead(conn, removed)
                store_write.bump_version(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            vectors.blank(generation / vectors.SENTENCES_FILE, removed.sentence_positions, dim)
            vectors.blank(generation / vectors.PASSAGES_FILE, removed.passage_positions, dim)
        final = store.stats(conn)
        gaps = final.sentence_rows - final.sentences
        compact = gaps >= COMPACT_MIN_ROWS and gaps >= COMPACT_DEAD_SHARE * final.sentence_rows
        notes = [] if compact else _fit_vector_index(conn, generation, settings, dim, say)
        # after the commit: a crash before it leaves the old version, and the next build
        # re-reads again
        current = current.model_copy(
            update={
                "corpus": plan.corpus_name or current.corpus,
                "readers_version": READERS_VERSION,
            }
        )
        if current != published and not compact:
            mf.write(index_dir, current)
    finally:
        conn.close()
    if compact:
        say(f"compacting: {gaps:,} of {final.sentence_rows:,} rows belong to removed documents")
        manifest = _compact(index_dir, generation, current, plan.corpus_name, settings, say)
        notes = [f"compacted into a new generation ({manifest.generation})"]
    return BuildReport(
        **common,  # type: ignore[arg-type]
        documents=final.documents,
        sentences=final.sentences,
        passages=final.passages,
        seconds=time.perf_counter() - started,
        wrote=changed or bool(notes),
        notes=tuple(notes),
        # with nothing new to read, the sample is empty: only the model is judged
        warnings=_warnings(settings, language, sample),
    )


def _new_generation(
    corpus: Path | Sequence[Document],
    index_dir: Path,
    settings: EngineSettings,
    encoder: Encoder,
    reason: str | None,
    say: Log,
    started: float,
    *,
    previous: mf.Manifest | None,
) -> BuildReport:
    plan = _plan(corpus, None, say)
    language = language_of(settings.language or _kept_language(index_dir))
    name = _generation_name()
    tmp_dir = index_dir / (name + TMP_SUFFIX)
    tmp_dir.mkdir()
    try:
        conn = store.connect(tmp_dir / store.STORE_FILE, language=language)
        try:
            sample = _store_documents(
                conn, tmp_dir, plan.todo, settings, encoder, say, language, batched=True
            )
            if plan.files is not None:
                with _transaction(conn):
                    store_write.replace_files(conn, plan.files)
            identity = encoder.identity
            dim = identity.dimension
            notes = _fit_vector_index(conn, tmp_dir, settings, dim, say)
            with _transaction(conn):
                store.set_meta(conn, updated_at=_now())
                store_write.bump_version(conn)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            final = store.stats(conn)
        finally:
            conn.close()
        manifest = mf.Manifest(
            schema_version=mf.SCHEMA_VERSION,
            generation=name,
            model=mf.ModelInfo(
                name=identity.name,
                dimension=identity.dimension,
                fingerprint=identity.fingerprint,
                variant=identity.variant,
            ),
            chunking=mf.Chunking(passage_sentences=settings.passage_sentences),
            index_type=settings.index_type,
            built_at=_now(),
            corpus=plan.corpus_name or (previous.corpus if previous else None),
            language=language.code,
            readers_version=READERS_VERSION,
        )
        _publish(index_dir, tmp_dir, name, manifest)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    _remove_old_generations(index_dir, name)
    return BuildReport(
        **_common(index_dir, plan, reason),  # type: ignore[arg-type]
        documents=final.documents,
        sentences=final.sentences,
        passages=final.passages,
        seconds=time.perf_counter() - started,
        wrote=True,
        notes=tuple(notes),
        warnings=_warnings(settings, language, sample),
    )


def _compact(
    index_dir: Path,
    old: Path,
    current: mf.Manifest,
    corpus_name: str | None,
    settings: EngineSettings,
    say: Log,
) -> mf.Manifest:
    """Copy the live documents, rows and vectors into a new generation without the gaps."""
    name = _generation_name()
    tmp_dir = index_dir / (name + TMP_SUFFIX)
    tmp_dir.mkdir()
    dim = current.model.dimension
    language = language_of(current.language)
    try:
        with contextlib.closing(store.connect(old / store.STORE_FILE)) as source:
            counts = store.stats(source)
            s_old = vectors.open_rows(old / vectors.SENTENCES_FILE, counts.sentence_rows, dim)
            p_old = vectors.open_rows(old / vectors.PASSAGES_FILE, counts.passage_rows, dim)
            target = store.connect(tmp_dir / store.STORE_FILE, language=language)
            with contextlib.closing(target) as conn:
                batch: list[tuple[store_write.NewDocument, np.ndarray, np.ndarray]] = []
                for idx in store_read.document_indexes(source):
                    batch.append(_copied(source, idx, s_old, p_old, language))
                    if sum(len(item.sentences) for item, _s, _p in batch) >= CHUNK_SENTENCES:
                        _write_copied(conn, tmp_dir, batch, dim, language)
                        batch = []
                _write_copied(conn, tmp_dir, batch, dim, language)
                with _transaction(conn):
                    store_write.replace_files(conn, store_write.file_states(source))
                _fit_vector_index(conn, tmp_dir, settings, dim, say)
                with _transaction(conn):
                    store.set_meta(conn, updated_at=_now())
                    store_write.bump_version(conn)
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        manifest = current.model_copy(
            update={"generation": name, "corpus": corpus_name or current.corpus}
        )
        _publish(index_dir, tmp_dir, name, manifest)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    _remove_old_generations(index_dir, name)
    return manifest


def _copied(
    source: sqlite3.Connection,
    idx: int,
    s_old: np.ndarray,
    p_old: np.ndarray,
    language: Language,
) -> tuple[store_write.NewDocument, np.ndarray, np.ndarray]:
    """A stored document as it was segmented, with its vectors, ready for another store."""
    document, digest, source_file = store_read.stored_document(source, idx)
    row = store_read.document_rows(source, [idx])[0]
    s_rows = sorted(
        store_read.sentence_rows(
            source, range(row.first_sentence, row.first_sentence + row.sentence_count)
        ),
        key=lambda r: r.pos,
    )
    p_rows = sorted(
        store_read.passage_rows(
            source, range(row.first_passage, row.first_passage + row.passage_count)
        ),
        key=lambda r: r.pos,
    )
    sentences = [
        Sentence(
            doc_id=document.id,
            ordinal=r.ordinal,
            start=r.start,
            end=r.end,
            passage=r.passage - row.first_passage,
            text=r.text,
        )
        for r in s_rows
    ]
    passages = [
        Passage(
            doc_id=document.id,
            ordinal=r.ordinal,
            start=r.start,
            end=r.end,
            first_sentence=r.first - row.first_sentence,
            last_sentence=r.last - row.first_sentence,
        )
        for r in p_rows
    ]
    item = store_write.NewDocument(
        document=document,
        content_hash=digest,
        source_file=source_file,
        sentences=sentences,
        passages=passages,
        sentence_terms=[term_set(r.terms) for r in s_rows],
        passage_terms=[term_set(r.terms) for r in p_rows],
        acronyms=tuple(acronyms((s.text for s in sentences), language).items()),
    )
    s_vectors = np.asarray(s_old[[r.pos for r in s_rows]], dtype=np.float32)
    p_vectors = np.asarray(p_old[[r.pos for r in p_rows]], dtype=np.float32)
    return item, s_vectors.reshape(-1, s_old.shape[1]), p_vectors.reshape(-1, p_old.shape[1])


def _write_copied(
    conn: sqlite3.Connection,
    folder: Path,
    batch: list[tuple[store_write.NewDocument, np.ndarray, np.ndarray]],
    dim: int,
    language: Language,
) -> None:
    if not batch:
        return
    vectors.append(folder / vectors.SENTENCES_FILE, np.concatenate([s for _i, s, _p in batch]))
    vectors.append(folder / vectors.PASSAGES_FILE, np.concatenate([p for _i, _s, p in batch]))
    items = [item for item, _s, _p in batch]
    keys = {a: acronym_key(a, language) for item in items for a, _name in item.acronyms}
    with _transaction(conn):
        store_write.insert_documents(conn, items, acronym_key=keys, language=language)


def _generation_name() -> str:
    return f"g{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


#: The names :func:`_generation_name` makes.
_OWN_GENERATION = re.compile(r"^g\d{8}T\d{6}-[0-9a-f]{6}$")


def _publish(index_dir: Path, tmp_dir: Path, name: str, manifest: mf.Manifest) -> None:
    """Make a finished generation durable and current (the manifest swap is the commit)."""
    for path in tmp_dir.iterdir():
        with path.open("rb") as handle:
            os.fsync(handle.fileno())
    tmp_dir.rename(index_dir / name)
    mf.fsync_dir(index_dir)
    mf.write(index_dir, manifest)


def _common(index_dir: Path, plan: _Plan, reason: str | None) -> dict[str, object]:
    return {
        "index_dir": index_dir,
        "added": plan.added,
        "updated": plan.updated,
        "removed": plan.removed,
        "unchanged": plan.unchanged,
        "skipped": plan.skipped,
        "full_rebuild_reason": reason,
    }


def _warnings(settings: EngineSettings, language: Language, sample: list[str]) -> tuple[str, ...]:
    """What to tell about the corpus language, the language setting and the model."""
    warning = language_warning(settings.model, language, sample)
    return (warning,) if warning else ()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _store_documents(
    conn: sqlite3.Connection,
    folder: Path,
    todo: list[tuple[Document, str, str | None]],
    settings: EngineSettings,
    encoder: Encoder,
    say: Log,
    language: Language,
    *,
    batched: bool = False,
) -> list[str]:
    """Segment, embed and store ``todo`` in chunks (``batched``: one transaction per chunk).

    Returns the first sentences stored (``SAMPLE_SENTENCES``): what the language check reads.
    """
    sample: list[str] = []
    if not todo:
        return sample
    total = sum(len(doc.text) for doc, _h, _f in todo)
    say(f"segmenting and embedding {len(todo)} documents ({total:,} characters)")
    bar = _progress(settings.progress, total)
    chunk: list[store_write.NewDocument] = []
    sentences_in_chunk = 0
    try:
        for doc, digest, source_file in todo:
            item = _prepare(doc, digest, source_file, settings.passage_sentences, say, language)
            if len(sample) < SAMPLE_SENTENCES:
                sample.extend(s.text for s in item.sentences[:SAMPLE_SENTENCES_PER_DOCUMENT])
            chunk.append(item)
            sentences_in_chunk += len(item.sentences)
            if sentences_in_chunk >= CHUNK_SENTENCES:
                _write_chunk(conn, folder, chunk, encoder, batched, language)
                if bar is not None:
                    bar.update(sum(len(i.document.text) for i in chunk))
                chunk, sentences_in_chunk = [], 0
        if chunk:
            _write_chunk(conn, folder, chunk, encoder, batched, language)
            if bar is not None:
                bar.update(sum(len(i.document.text) for i in chunk))
    finally:
        if bar is not None:
            bar.close()
    return sample


def _progress(enabled: bool, total: int) -> Any:
    if not enabled or total < 200_000:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="char", unit_scale=True, desc="indexing", leave=False)


def _prepare(
    doc: Document,
    digest: str,
    source_file: str | None,
    passage_sentences: int,
    say: Log,
    language: Language = ENGLISH,
) -> store_write.NewDocument:
    left_out: list[tuple[int, int]] = []
    sentences, passages = segment(
        doc, passage_sentences=passage_sentences, left_out=left_out, language=language.code
    )
    if left_out:
        chars = sum(end - start for start, end in left_out)
        say(
            f"partly indexed {doc.id}: {chars:,} characters were not indexed, in runs of more "
            f"than {MAX_RUN_ON_CHARS:,} characters without a sentence end"
        )
    s_terms = [sentence_terms(s.text, language) for s in sentences]
    title_terms = frozenset(terms_of(doc.title, language)) if doc.title else frozenset()
    p_terms = [
        frozenset().union(*s_terms[p.first_sentence : p.last_sentence + 1], title_terms)
        for p in passages
    ]
    defined = acronyms((s.text for s in sentences), language)
    return store_write.NewDocument(
        document=doc,
        content_hash=digest,
        source_file=source_file,
        sentences=sentences,
        passages=passages,
        sentence_terms=s_terms,
        passage_terms=p_terms,
        acronyms=tuple(defined.items()),
    )


def _write_chunk(
    conn: sqlite3.Connection,
    folder: Path,
    items: list[store_write.NewDocument],
    encoder: Encoder,
    batched: bool,
    language: Language,
) -> None:
    sentence_texts = [s.text for item in items for s in item.sentences]
    passage_texts = [passage_text(item.document, p) for item in items for p in item.passages]
    s_vectors = _encode(encoder, sentence_texts)
    p_vectors = _encode(encoder, passage_texts, max_tokens=PASSAGE_TOKENS)
    vectors.append(folder / vectors.SENTENCES_FILE, s_vectors)
    vectors.append(folder / vectors.PASSAGES_FILE, p_vectors)
    keys = {a: acronym_key(a, language) for item in items for a, _name in item.acronyms}
    if batched:
        with _transaction(conn):
            store_write.insert_documents(conn, items, acronym_key=keys, language=language)
    else:
        store_write.insert_documents(conn, items, acronym_key=keys, language=language)


def _encode(encoder: Encoder, texts: list[str], *, max_tokens: int | None = None) -> np.ndarray:
    """Vectors of ``texts``, encoded in slices of about ``ENCODE_SLICE_CHARS`` characters."""
    if not texts:
        return np.zeros((0, encoder.identity.dimension), dtype=np.float32)
    slices: list[np.ndarray] = []
    first, chars = 0, 0
    for index, text in enumerate(texts):
        chars += len(text)
        if chars >= ENCODE_SLICE_CHARS:
            slices.append(encoder.encode(texts[first : index + 1], max_tokens=max_tokens))
            first, chars = index + 1, 0
    if first < len(texts):
        slices.append(encoder.encode(texts[first:], max_tokens=max_tokens))
    return slices[0] if len(slices) == 1 else np.concatenate(slices)


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _note_dead(conn: sqlite3.Connection, removed: store_write.Removed) -> None:
    """Count removed rows that an ANN index still holds (it is rebuilt when they add up)."""
    for kind, positions in (
        ("sentence", removed.sentence_positions),
        ("passage", removed.passage_positions),
    ):
        covered = int(store.get_meta(conn, f"{kind}_ann_rows") or 0)
        dead = sum(1 for p in positions if p < covered)
        if dead:
            before = int(store.get_meta(conn, f"{kind}_ann_dead") or 0)
            store.set_meta(conn, **{f"{kind}_ann_dead": before + dead})


def wants_ann(settings: EngineSettings, live_rows: int) -> bool:
    """Whether ``live_rows`` vectors are searched through an ANN index under ``settings``."""
    if settings.index_type == "flat" or live_rows == 0:
        return False
    if settings.index_type == "ivf":
        return True
    return live_rows >= vectors.ANN_MIN_ROWS


def _fit_vector_index(
    conn: sqlite3.Connection, folder: Path, settings: EngineSettings, dim: int, say: Log
) -> list[str]:
    """Build, rebuild or drop the ANN indexes as the corpus size and changes call for."""
    notes: list[str] = []
    current = store.stats(conn)
    for kind, table, filename, rows, live in (
        ("sentence", "sentences", vectors.SENTENCES_FILE, current.sentence_rows, current.sentences),
        ("passage", "passages", vectors.PASSAGES_FILE, current.passage_rows, current.passages),
    ):
        old = store.get_meta(conn, f"{kind}_ann")
        covered = int(store.get_meta(conn, f"{kind}_ann_rows") or 0)
        dead = int(store.get_meta(conn, f"{kind}_ann_dead") or 0)
        if not wants_ann(settings, live):
            if old:
                with _transaction(conn):
                    store.set_meta(conn, **{f"{kind}_ann": "", f"{kind}_ann_rows": 0})
                    store_write.bump_version(conn)
                (folder / old).unlink(missing_ok=True)
                notes.append(f"{kind} vectors: exact search ({live:,} rows)")
            continue
        delta = rows - covered
        stale = (
            not old
            or delta > min(vectors.DELTA_MAX_ROWS, max(1, int(covered * vectors.DELTA_MAX_SHARE)))
            or dead > ANN_DEAD_SHARE * max(1, covered)
        )
        if not stale:
            continue
        say(f"building the approximate {kind} index ({live:,} vectors)")
        matrix = vectors.open_rows(folder / filename, rows, dim)
        positions = np.asarray(store_read.live_positions(conn, table), dtype=np.int64)
        ann = vectors.build_ivf(matrix, positions)
        name = f"{table}-{uuid.uuid4().hex[:8]}.ivf"
        tmp = folder / (name + TMP_SUFFIX)
        vectors.save(ann, tmp)
        tmp.rename(folder / name)
        mf.fsync_dir(folder)
        del matrix
        with _transaction(conn):
            store.set_meta(
                conn, **{f"{kind}_ann": name, f"{kind}_ann_rows": rows, f"{kind}_ann_dead": 0}
            )
            store_write.bump_version(conn)
        if old:
            (folder / old).unlink(missing_ok=True)
        notes.append(f"{kind} vectors: IVF index rebuilt over {len(positions):,} rows")
    return notes


def _remove_orphans(conn: sqlite3.Connection, generation: Path) -> None:
    """Delete ANN files a crashed build wrote but never committed (we hold the lock)."""
    referenced = {store.get_meta(conn, "sentence_ann"), store.get_meta(conn, "passage_ann")}
    for path in generation.glob("*.ivf*"):
        if path.name not in referenced:
            path.unlink(missing_ok=True)


def _own(path: Path, *, tmp: bool) -> bool:
    """Whether ``path`` is a generation folder a build made (its name says so exactly).

    Anything else in the index folder (a user's ``gallery/``) is never deleted.
    """
    name = path.name
    if tmp != name.endswith(TMP_SUFFIX):
        return False
    if tmp:
        name = name[: -len(TMP_SUFFIX)]
    return bool(_OWN_GENERATION.match(name)) and path.is_dir() and not path.is_symlink()


def _remove_stale(index_dir: Path) -> None:
    """Delete generation folders a crashed build left behind (we hold the lock)."""
    for path in index_dir.glob("g*" + TMP_SUFFIX):
        if _own(path, tmp=True):
            shutil.rmtree(path, ignore_errors=True)


def _remove_old_generations(index_dir: Path, keep: str) -> None:
    generations = sorted(
        (p for p in index_dir.glob("g*") if _own(p, tmp=False)),
        key=lambda p: p.stat().st_mtime,
    )
    old = [p for p in generations if p.name != keep]
    for path in old[: max(0, len(old) - KEEP_PREVIOUS)]:
        shutil.rmtree(path, ignore_errors=True)
