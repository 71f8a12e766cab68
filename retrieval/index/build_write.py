"""The two ways a build writes: the current generation updated in place, or a new one.

An update runs in one SQLite transaction: the vectors the last committed state does not count
(a crash's) are cut off first, removed and changed documents are deleted, new and changed ones
segmented, embedded and appended; the commit counts them, and the removed rows' vectors are
blanked after it. A new generation is written into a temporary folder and published
(``build_generations.publish``). Both record ``READERS_VERSION`` in the manifest.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from pathlib import Path

from embeddings import Encoder
from retrieval.config import EngineSettings
from retrieval.errors import VerbatimError
from retrieval.index import build_compact, row_files, store, store_write, vectors
from retrieval.index import manifest as mf
from retrieval.index.build_ann import fit_vector_index, note_dead, remove_orphans
from retrieval.index.build_changes import REREAD_MESSAGE, Plan, plan_changes, resplit_changes
from retrieval.index.build_embed import store_documents
from retrieval.index.build_generations import (
    TMP_SUFFIX,
    generation_name,
    now,
    publish,
    remove_old_generations,
    transaction,
)
from retrieval.index.build_report import BuildReport, Log
from retrieval.read.readers import READERS_VERSION
from retrieval.split.language import DEFAULT_LANGUAGE, Language, language_of
from retrieval.split.language_check import language_warning
from retrieval.types import Document


def update_in_place(
    corpus: Path | Sequence[Document],
    index_dir: Path,
    generation: Path,
    current: mf.Manifest,
    settings: EngineSettings,
    encoder: Encoder,
    say: Log,
    started: float,
) -> BuildReport:
    """Apply the corpus's changes to ``generation``, the current one, in one transaction."""
    language = language_of(current.language)
    published = current
    conn = store.connect(generation / store.STORE_FILE, language=language)
    sample: list[str] = []
    try:
        remove_orphans(conn, generation)
        adopted = row_files.adopt(conn, generation)
        if adopted:
            say(f"wrote the row files of {adopted:,} stored rows (once; nothing embedded)")
        reread = current.readers_version != READERS_VERSION
        if reread:
            say(REREAD_MESSAGE)
        plan = plan_changes(corpus, conn, say, reread=reread)
        if reread:
            plan = resplit_changes(plan, conn, settings.passage_sentences, language)
        common = _report_fields(index_dir, plan, None)
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
            if row_files.enabled(conn):
                row_files.truncate(generation, before)
            conn.execute("BEGIN IMMEDIATE")
            try:
                removed = store_write.delete_documents(conn, sorted(plan.drop), language=language)
                sample = store_documents(
                    conn, generation, plan.todo, settings, encoder, say, language
                )
                if plan.files is not None:
                    store_write.replace_files(conn, plan.files)
                store.set_meta(conn, updated_at=now())
                note_dead(conn, removed)
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
        compact = (
            gaps >= build_compact.COMPACT_MIN_ROWS
            and gaps >= build_compact.COMPACT_DEAD_SHARE * final.sentence_rows
        )
        notes = [] if compact else fit_vector_index(conn, generation, settings, dim, say)
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
        manifest = build_compact.compact(
            index_dir, generation, current, plan.corpus_name, settings, say
        )
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
        warnings=_language_warnings(settings, language, sample),
    )


def new_generation(
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
    """Index the whole corpus into a new generation and make it current."""
    plan = plan_changes(corpus, None, say)
    language = language_of(settings.language or _kept_language(index_dir))
    name = generation_name()
    tmp_dir = index_dir / (name + TMP_SUFFIX)
    tmp_dir.mkdir()
    try:
        conn = store.connect(tmp_dir / store.STORE_FILE, language=language)
        try:
            sample = store_documents(
                conn, tmp_dir, plan.todo, settings, encoder, say, language, batched=True
            )
            if plan.files is not None:
                with transaction(conn):
                    store_write.replace_files(conn, plan.files)
            identity = encoder.identity
            dim = identity.dimension
            notes = fit_vector_index(conn, tmp_dir, settings, dim, say)
            with transaction(conn):
                store.set_meta(conn, updated_at=now())
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
            built_at=now(),
            corpus=plan.corpus_name or (previous.corpus if previous else None),
            language=language.code,
            readers_version=READERS_VERSION,
        )
        publish(index_dir, tmp_dir, name, manifest)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    remove_old_generations(index_dir, name)
    return BuildReport(
        **_report_fields(index_dir, plan, reason),  # type: ignore[arg-type]
        documents=final.documents,
        sentences=final.sentences,
        passages=final.passages,
        seconds=time.perf_counter() - started,
        wrote=True,
        notes=tuple(notes),
        warnings=_language_warnings(settings, language, sample),
    )


def _kept_language(index_dir: Path) -> str:
    """The language of the index being replaced (none configured keeps it), else English."""
    try:
        return mf.read(index_dir, migratable=True).language
    except VerbatimError:
        return DEFAULT_LANGUAGE


def _report_fields(index_dir: Path, plan: Plan, reason: str | None) -> dict[str, object]:
    """The report's fields that the plan decides."""
    return {
        "index_dir": index_dir,
        "added": plan.added,
        "updated": plan.updated,
        "removed": plan.removed,
        "unchanged": plan.unchanged,
        "skipped": plan.skipped,
        "full_rebuild_reason": reason,
    }


def _language_warnings(
    settings: EngineSettings, language: Language, sample: list[str]
) -> tuple[str, ...]:
    """What to tell about the corpus language, the language setting and the model."""
    warning = language_warning(settings.model, language, sample)
    return (warning,) if warning else ()
