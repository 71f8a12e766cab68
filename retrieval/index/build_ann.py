"""The ANN indexes of a generation, kept fit for its size after each commit.

Exact search for small corpora; an IVF index past ``vectors.ANN_MIN_ROWS`` rows, rebuilt when
enough rows were added or removed since it was built (as search engines merge segments).
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import numpy as np

from retrieval.config import EngineSettings
from retrieval.index import manifest as mf
from retrieval.index import store, store_read, store_write, vectors
from retrieval.index.build_generations import TMP_SUFFIX, transaction
from retrieval.index.build_report import Log

#: Removed rows inside the ANN index past this share of it make the next update rebuild it.
ANN_DEAD_SHARE = 0.2


def note_dead(conn: sqlite3.Connection, removed: store_write.Removed) -> None:
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


def fit_vector_index(
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
                with transaction(conn):
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
        with transaction(conn):
            store.set_meta(
                conn, **{f"{kind}_ann": name, f"{kind}_ann_rows": rows, f"{kind}_ann_dead": 0}
            )
            store_write.bump_version(conn)
        if old:
            (folder / old).unlink(missing_ok=True)
        notes.append(f"{kind} vectors: IVF index rebuilt over {len(positions):,} rows")
    return notes


def remove_orphans(conn: sqlite3.Connection, generation: Path) -> None:
    """Delete ANN files a crashed build wrote but never committed (we hold the lock)."""
    referenced = {store.get_meta(conn, "sentence_ann"), store.get_meta(conn, "passage_ann")}
    for path in generation.glob("*.ivf*"):
        if path.name not in referenced:
            path.unlink(missing_ok=True)
