"""What a build did (``BuildReport``), and where it tells its progress (``Log``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.read.readers import SkippedFile

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
