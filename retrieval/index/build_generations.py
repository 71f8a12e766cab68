"""Generation folders and the writes into them, for ``retrieval.index.build``.

A generation is written into a temporary folder, made durable and published by replacing
``manifest.json`` (the commit); a crashed build's temporary folders and generations older than
``KEEP_PREVIOUS`` are deleted by the next build, which holds the build lock. Only folders whose
names a build made are ever deleted.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from retrieval.index import manifest as mf

TMP_SUFFIX = ".tmp"
#: Generations kept besides the current one, so a running bot can finish on the old files.
KEEP_PREVIOUS = 1


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction: committed when the block ends, rolled back when it raises."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def now() -> str:
    """The time of a write as the store and the manifest record it (UTC, seconds)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def generation_name() -> str:
    """A new generation folder's name: when it was made, and a random suffix."""
    return f"g{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


#: The names :func:`generation_name` makes.
_OWN_GENERATION = re.compile(r"^g\d{8}T\d{6}-[0-9a-f]{6}$")


def publish(index_dir: Path, tmp_dir: Path, name: str, manifest: mf.Manifest) -> None:
    """Make a finished generation durable and current (the manifest swap is the commit)."""
    for path in tmp_dir.iterdir():
        with path.open("rb") as handle:
            os.fsync(handle.fileno())
    tmp_dir.rename(index_dir / name)
    mf.fsync_dir(index_dir)
    mf.write(index_dir, manifest)


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


def remove_stale(index_dir: Path) -> None:
    """Delete generation folders a crashed build left behind (we hold the lock)."""
    for path in index_dir.glob("g*" + TMP_SUFFIX):
        if _own(path, tmp=True):
            shutil.rmtree(path, ignore_errors=True)


def remove_old_generations(index_dir: Path, keep: str) -> None:
    """Delete generations older than ``keep`` beyond the ``KEEP_PREVIOUS`` newest."""
    generations = sorted(
        (p for p in index_dir.glob("g*") if _own(p, tmp=False)),
        key=lambda p: p.stat().st_mtime,
    )
    old = [p for p in generations if p.name != keep]
    for path in old[: max(0, len(old) - KEEP_PREVIOUS)]:
        shutil.rmtree(path, ignore_errors=True)
