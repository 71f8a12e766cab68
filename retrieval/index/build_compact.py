"""Compaction: the live documents, rows and vectors of a generation copied into a new one.

An update ends by compacting when removed rows (gaps) make up ``COMPACT_DEAD_SHARE`` of all
rows (and at least ``COMPACT_MIN_ROWS``); nothing is re-embedded.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from pathlib import Path

import numpy as np

from retrieval.config import EngineSettings
from retrieval.index import manifest as mf
from retrieval.index import store, store_read, store_write, vectors
from retrieval.index.build_ann import fit_vector_index
from retrieval.index.build_embed import CHUNK_SENTENCES
from retrieval.index.build_generations import (
    TMP_SUFFIX,
    generation_name,
    now,
    publish,
    remove_old_generations,
    transaction,
)
from retrieval.index.build_report import Log
from retrieval.index.rows import term_set
from retrieval.split.language import Language, language_of
from retrieval.split.terms import acronym_key, acronyms
from retrieval.types import Passage, Sentence

#: When removed rows (gaps) make up this share of all rows, the update ends by compacting the
#: store into a new generation: live rows copied with their vectors, nothing re-embedded.
COMPACT_DEAD_SHARE = 0.5
COMPACT_MIN_ROWS = 2_000


def compact(
    index_dir: Path,
    old: Path,
    current: mf.Manifest,
    corpus_name: str | None,
    settings: EngineSettings,
    say: Log,
) -> mf.Manifest:
    """Copy the live documents, rows and vectors into a new generation without the gaps."""
    name = generation_name()
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
                with transaction(conn):
                    store_write.replace_files(conn, store_write.file_states(source))
                fit_vector_index(conn, tmp_dir, settings, dim, say)
                with transaction(conn):
                    store.set_meta(conn, updated_at=now())
                    store_write.bump_version(conn)
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        manifest = current.model_copy(
            update={"generation": name, "corpus": corpus_name or current.corpus}
        )
        publish(index_dir, tmp_dir, name, manifest)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    remove_old_generations(index_dir, name)
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
    with transaction(conn):
        store_write.insert_documents(
            conn, items, acronym_key=keys, language=language, folder=folder
        )
