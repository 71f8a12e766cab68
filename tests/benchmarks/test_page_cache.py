"""The page-cache probe the scale benchmark reports its answering figures with."""

from __future__ import annotations

import os
from pathlib import Path

from benchmarks.page_cache import index_files, read_through, resident_share


def test_pages_dropped_from_the_cache_are_seen_and_read_back(tmp_path: Path) -> None:
    generation = tmp_path / "index" / "g1"
    generation.mkdir(parents=True)
    path = generation / "rows.bin"
    path.write_bytes(os.urandom(4 << 20))
    (generation / "empty").write_bytes(b"")
    files = index_files(tmp_path / "index")
    assert files == [generation / "empty", path]
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)  # clean pages can be dropped
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    assert resident_share(files) < 0.5
    assert read_through(files) == 4 << 20
    assert resident_share(files) == 1.0
