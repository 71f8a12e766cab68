"""Build or update an index directory: incremental by content hash, atomic by generation.

A build copies the current generation's SQLite store into a new generation folder, removes
deleted and changed documents, embeds only new and changed ones, rebuilds the FAISS files from
the stored vectors and finally swaps ``manifest.json``. Until that swap, readers keep using the
previous generation; a crash or Ctrl-C leaves it untouched.
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from embeddings import Encoder, model_fingerprint
from retrieval import manifest as mf
from retrieval import store, vectors
from retrieval.config import EngineSettings
from retrieval.errors import CorpusError, VerbatimError
from retrieval.readers import SkippedFile, content_hash, read_corpus
from retrieval.segment import segment
from retrieval.types import Document, Passage, Sentence

LOCK_FILE = ".lock"
TMP_SUFFIX = ".tmp"
#: Generations kept besides the current one, so a running bot can finish on the old files.
KEEP_PREVIOUS = 1
#: Passages are encoded up to the length the default model was trained on: as good for
#: ranking as its 256-token limit on SQuAD and the seeds, and about half the indexing time.
PASSAGE_TOKENS = 128

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


def passage_text(document: Document, passage: Passage) -> str:
    """What represents a passage to the encoder and the full-text index: title plus text."""
    body = document.text[passage.start : passage.end]
    return f"{document.title}\n{body}" if document.title else body


@contextlib.contextmanager
def _build_lock(index_dir: Path) -> Iterator[None]:
    handle = (index_dir / LOCK_FILE).open("a")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            msg = f"Another build of {index_dir} is running; wait for it to finish and try again."
            raise VerbatimError(msg) from exc
        yield
    finally:
        handle.close()


def _reusable(
    index_dir: Path, settings: EngineSettings, fingerprint: str
) -> tuple[mf.Manifest | None, str | None]:
    """The current manifest if its files can be reused by this build, else why not."""
    try:
        current = mf.read(index_dir)
    except VerbatimError as exc:
        return None, None if not (index_dir / mf.MANIFEST_FILE).exists() else exc.message
    if current.model.name != settings.model or current.model.fingerprint != fingerprint:
        return None, f"the model changed ({current.model.name} → {settings.model})"
    if current.chunking != mf.Chunking(passage_sentences=settings.passage_sentences):
        return None, "the chunking settings changed"
    if not (index_dir / current.generation / store.STORE_FILE).is_file():
        return None, "the previous generation's files are missing"
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

    Raises CorpusError when the corpus holds nothing indexable and VerbatimError when another
    build holds the directory.
    """
    started = time.perf_counter()
    say = log or (lambda _message: None)
    if isinstance(corpus, Path):
        result = read_corpus(corpus)
        documents, skipped, corpus_name = (
            result.documents,
            tuple(result.skipped),
            str(corpus.resolve()),
        )
    else:
        documents, skipped, corpus_name = list(corpus), (), None
    for item in skipped:
        say(f"skipped {item.path}: {item.reason}")
    if not documents:
        raise CorpusError(f"Nothing to index in {corpus_name or 'the documents given'}.")
    index_dir.mkdir(parents=True, exist_ok=True)
    fingerprint = model_fingerprint(settings.model)
    with _build_lock(index_dir):
        _remove_stale(index_dir)
        current, reason = (
            (None, "asked for a rebuild")
            if rebuild
            else _reusable(index_dir, settings, fingerprint)
        )
        if reason:
            say(f"rebuilding from scratch: {reason}")
        new_hashes = {doc.id: content_hash(doc) for doc in documents}
        old_hashes: dict[str, str] = {}
        if current is not None:
            with contextlib.closing(
                store.connect(index_dir / current.generation / store.STORE_FILE, readonly=True)
            ) as conn:
                old_hashes = store.document_hashes(conn)
        added = tuple(sorted(i for i in new_hashes if i not in old_hashes))
        updated = tuple(
            sorted(i for i in new_hashes if i in old_hashes and new_hashes[i] != old_hashes[i])
        )
        removed = tuple(sorted(i for i in old_hashes if i not in new_hashes))
        unchanged = len(new_hashes) - len(added) - len(updated)
        common = dict(
            index_dir=index_dir,
            added=added,
            updated=updated,
            removed=removed,
            unchanged=unchanged,
            skipped=skipped,
            full_rebuild_reason=reason,
        )
        if (
            current is not None
            and not (added or updated or removed)
            and (current.index_type == settings.index_type)
        ):
            return BuildReport(
                **common,  # type: ignore[arg-type]
                documents=current.counts.documents,
                sentences=current.counts.sentences,
                passages=current.counts.passages,
                seconds=time.perf_counter() - started,
            )
        todo = [doc for doc in documents if doc.id in set(added) | set(updated)]
        manifest = _write_generation(
            index_dir,
            current,
            todo,
            new_hashes,
            set(updated) | set(removed),
            settings,
            encoder,
            corpus_name,
            say,
        )
        _remove_old_generations(index_dir, manifest.generation)
        return BuildReport(
            **common,  # type: ignore[arg-type]
            documents=manifest.counts.documents,
            sentences=manifest.counts.sentences,
            passages=manifest.counts.passages,
            seconds=time.perf_counter() - started,
            wrote=True,
        )


def _write_generation(
    index_dir: Path,
    current: mf.Manifest | None,
    todo: list[Document],
    hashes: dict[str, str],
    drop: set[str],
    settings: EngineSettings,
    encoder: Encoder | None,
    corpus_name: str | None,
    say: Log,
) -> mf.Manifest:
    generation = f"g{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    tmp_dir = index_dir / (generation + TMP_SUFFIX)
    tmp_dir.mkdir()
    try:
        if current is not None:
            shutil.copyfile(
                index_dir / current.generation / store.STORE_FILE, tmp_dir / store.STORE_FILE
            )
        segmented = [
            (doc, *segment(doc, passage_sentences=settings.passage_sentences)) for doc in todo
        ]
        encoder = encoder or Encoder(settings.model, batch_size=settings.batch_size)
        sentence_vectors, passage_vectors = _encode(segmented, encoder, settings.progress, say)
        identity = encoder.identity if todo else None
        conn = store.connect(tmp_dir / store.STORE_FILE)
        try:
            with conn:
                store.delete_documents(conn, drop)
                s_at = p_at = 0
                for doc, sentences, passages in segmented:
                    store.insert_document(
                        conn,
                        doc,
                        hashes[doc.id],
                        sentences,
                        passages,
                        sentence_vectors[s_at : s_at + len(sentences)],
                        passage_vectors[p_at : p_at + len(passages)],
                    )
                    s_at += len(sentences)
                    p_at += len(passages)
                store.renumber(conn)
            model = (
                mf.ModelInfo(
                    name=identity.name,
                    dimension=identity.dimension,
                    fingerprint=identity.fingerprint,
                )
                if identity
                else current.model  # type: ignore[union-attr]
            )
            counts = mf.Counts(
                documents=conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0],
                sentences=conn.execute("SELECT COUNT(*) FROM sentences").fetchone()[0],
                passages=conn.execute("SELECT COUNT(*) FROM passages").fetchone()[0],
            )
            say(f"building the {settings.index_type} vector index ({counts.sentences} sentences)")
            for table, filename in (
                ("sentences", mf.SENTENCES_FAISS),
                ("passages", mf.PASSAGES_FAISS),
            ):
                matrix = store.load_vectors(conn, table, model.dimension)
                vectors.save(vectors.build(matrix, settings.index_type), tmp_dir / filename)
        finally:
            conn.close()
        for path in tmp_dir.iterdir():
            with path.open("rb") as handle:
                import os

                os.fsync(handle.fileno())
        final_dir = index_dir / generation
        tmp_dir.rename(final_dir)
        mf.fsync_dir(index_dir)
        manifest = mf.Manifest(
            schema_version=mf.SCHEMA_VERSION,
            generation=generation,
            model=model,
            chunking=mf.Chunking(passage_sentences=settings.passage_sentences),
            index_type=settings.index_type,
            counts=counts,
            built_at=datetime.now(UTC).isoformat(timespec="seconds"),
            corpus=corpus_name or (current.corpus if current else None),
        )
        mf.write(index_dir, manifest)
        return manifest
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise


def _encode(
    segmented: list[tuple[Document, list[Sentence], list[Passage]]],
    encoder: Encoder,
    progress: bool,
    say: Log,
) -> tuple[np.ndarray, np.ndarray]:
    sentence_texts = [s.text for _doc, sentences, _p in segmented for s in sentences]
    passage_texts = [passage_text(doc, p) for doc, _s, passages in segmented for p in passages]
    if not sentence_texts:
        return np.zeros((0, 1), np.float32), np.zeros((0, 1), np.float32)
    say(f"embedding {len(sentence_texts)} sentences and {len(passage_texts)} passages")
    return (
        encoder.encode(sentence_texts, progress=progress),
        encoder.encode(passage_texts, progress=progress, max_tokens=PASSAGE_TOKENS),
    )


def _remove_stale(index_dir: Path) -> None:
    """Delete generation folders a crashed build left behind (we hold the lock)."""
    for path in index_dir.glob("g*" + TMP_SUFFIX):
        shutil.rmtree(path, ignore_errors=True)


def _remove_old_generations(index_dir: Path, keep: str) -> None:
    generations = sorted(
        (p for p in index_dir.glob("g*") if p.is_dir() and not p.name.endswith(TMP_SUFFIX)),
        key=lambda p: p.name,
    )
    old = [p for p in generations if p.name != keep]
    for path in old[: max(0, len(old) - KEEP_PREVIOUS)]:
        shutil.rmtree(path, ignore_errors=True)
