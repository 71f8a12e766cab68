"""How much of an index the OS page cache holds, and reading it all in.

At a million sentences an index is some 3.8 GB of files read at random positions: a row costs
microseconds when its page is in the OS page cache and tens of microseconds when it comes from
the disk. How much is cached depends on the machine's other work and on its memory policy: the
Firecracker machines these figures come from page out file pages left untouched for about a
minute (a DAMON ``pageout`` scheme, see ``/sys/kernel/mm/damon/admin``), so an index left idle
for a minute is read from the disk again. ``resident_share`` says which case a figure was taken
in; ``read_through`` puts every page in the cache, as ``cat`` or ``vmtouch -t`` would.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import mmap
import os
from pathlib import Path

_PAGE = mmap.PAGESIZE
_CHUNK = 1 << 24
_MAP_FAILED = ctypes.c_void_p(-1).value


def index_files(index: Path) -> list[Path]:
    """The files of every generation folder of ``index``."""
    return sorted(p for p in index.glob("g*/*") if p.is_file())


def resident_share(paths: list[Path]) -> float:
    """Share of the pages of ``paths`` that are in the OS page cache now (``mincore``)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = (
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_long,
    )
    libc.munmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t)
    libc.mincore.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p)
    total = resident = 0
    for path in paths:
        size = path.stat().st_size
        if size == 0:
            continue
        pages = (size + _PAGE - 1) // _PAGE
        fd = os.open(path, os.O_RDONLY)
        try:
            address = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
            if address in (None, _MAP_FAILED):
                raise OSError(ctypes.get_errno(), f"mmap of {path} failed")
            try:
                flags = ctypes.create_string_buffer(pages)
                if libc.mincore(address, size, flags) != 0:
                    raise OSError(ctypes.get_errno(), f"mincore of {path} failed")
                resident += sum(b & 1 for b in flags.raw[:pages])
            finally:
                libc.munmap(address, size)
        finally:
            os.close(fd)
        total += pages
    return resident / total if total else 1.0


def read_through(paths: list[Path]) -> int:
    """Read every byte of ``paths`` (so the OS page cache holds them); returns the bytes."""
    done = 0
    for path in paths:
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                done += len(chunk)
    return done
