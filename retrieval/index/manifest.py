"""The manifest: what an index directory holds, written last and atomically.

``manifest.json`` names the generation folder holding the current files; a build writes a new
generation and then replaces the manifest in one ``os.replace``, so a crash at any point leaves
the previous index whole.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from retrieval.errors import (
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    IndexPathError,
    not_a_folder,
    rebuild_hint,
)
from retrieval.split.language import DEFAULT_LANGUAGE

SCHEMA_VERSION = 3
#: Older schemas that ``verbatim index`` brings up to date in place, re-embedding nothing:
#: 3 added the documents' page starts (``store.ADDED_COLUMNS``), empty for every document an
#: index of version 2 holds (it could not read PDFs).
MIGRATABLE_SCHEMAS = frozenset({2})
#: Bumped when passages change so that every vector must be computed again: answering
#: refuses an index of another version and ``verbatim index`` rebuilds it. A change to reading,
#: cleaning or sentence rules bumps ``retrieval.read.readers.READERS_VERSION`` instead, which
#: an incremental index follows, embedding only the documents that changed.
CHUNKING_VERSION = 3
MANIFEST_FILE = "manifest.json"
#: A manifest is a few hundred bytes; a larger file is not one.
MAX_MANIFEST_BYTES = 1_000_000
#: A corpus path longer than this in a damaged manifest is left out of the rebuild hint.
_MAX_HINT_CORPUS_CHARS = 1_000
#: What a generation folder may be called: no separators, no "..", nothing long.
_GENERATION_NAME = re.compile(r"^g[0-9A-Za-z-]{1,63}$")


class ModelInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    dimension: int
    fingerprint: str
    #: How the vectors were computed ("onnx-int8-perchannel-7bit", "torch-fp32", ...).
    variant: str


class Chunking(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: int = CHUNKING_VERSION
    passage_sentences: int


class Manifest(BaseModel):
    """Self-description of an index: loading refuses a mismatch with the settings."""

    model_config = ConfigDict(frozen=True)

    schema_version: int
    generation: str
    model: ModelInfo
    chunking: Chunking
    index_type: str
    built_at: str
    corpus: str | None = None
    #: The corpus language (ISO 639-1): stems, stopwords, sentence rules and full-text tables
    #: follow it (``retrieval.split.language``). Manifests written before it existed are English.
    language: str = DEFAULT_LANGUAGE
    #: ``READERS_VERSION`` of the rules the stored documents were read and split by; None (a
    #: manifest written before it was recorded) is unknown, so the next build re-reads once.
    readers_version: int | None = None


def read(index_dir: Path, *, migratable: bool = False) -> Manifest:
    """Read and validate the manifest of ``index_dir``; errors name the rebuild command.

    With ``migratable``, a manifest of an older schema that can be updated in place
    (``MIGRATABLE_SCHEMAS``) is returned as it is, for the indexer to update.
    """
    path = index_dir / MANIFEST_FILE
    if index_dir.exists() and not index_dir.is_dir():
        raise IndexPathError(not_a_folder(str(index_dir)))
    if not index_dir.exists() or not _has_entries(index_dir):
        msg = (
            f"No index at {index_dir}. Build one with: verbatim index PATH/TO/ARTICLES "
            f"--index {index_dir}"
        )
        raise IndexMissingError(msg)
    check_manifest_path(index_dir)
    if not path.is_file():
        msg = (
            f"{index_dir} is not a Verbatim index (no {MANIFEST_FILE}). Rebuild it with: "
            f"{rebuild_hint(str(index_dir))}"
        )
        raise IndexMismatchError(msg)
    raw = _load_json(path, index_dir)
    corpus = _corpus_of(raw)
    version = raw.get("schema_version") if isinstance(raw, dict) else None
    if version in MIGRATABLE_SCHEMAS and not migratable:
        corpus_arg = corpus or "PATH/TO/ARTICLES"
        msg = (
            f"The index at {index_dir} was made by an earlier Verbatim (schema version "
            f"{version}; this one reads {SCHEMA_VERSION}). Update it in place, re-embedding "
            f"nothing, with: verbatim index {corpus_arg} --index {index_dir}"
        )
        raise IndexMismatchError(msg)
    if version != SCHEMA_VERSION and version not in MIGRATABLE_SCHEMAS:
        msg = (
            f"The index at {index_dir} has schema version {str(version)[:20]!r}; this Verbatim "
            f"reads version {SCHEMA_VERSION}. Rebuild it with: "
            f"{rebuild_hint(str(index_dir), corpus)}"
        )
        raise IndexMismatchError(msg)
    try:
        return Manifest.model_validate(raw)
    except ValidationError as exc:
        msg = f"The index manifest {path} is damaged. Rebuild with: " + rebuild_hint(
            str(index_dir), corpus
        )
        raise IndexCorruptError(msg) from exc


def check_manifest_path(index_dir: Path) -> None:
    """Refuse a folder (or another kind of entry) standing where ``manifest.json`` goes.

    A build would otherwise embed the whole corpus and then fail to publish it.
    """
    path = index_dir / MANIFEST_FILE
    if os.path.lexists(path) and not path.is_file():
        kind = "a folder" if path.is_dir() else "not a regular file"
        msg = (
            f"{path} is not a file ({kind}) but stands where the index manifest goes: move it "
            f"away, then build the index with: {rebuild_hint(str(index_dir))}"
        )
        raise IndexPathError(msg)


def _has_entries(index_dir: Path) -> bool:
    try:
        return any(index_dir.iterdir())
    except OSError as exc:
        why = exc.strerror or exc
        msg = f"The index folder {index_dir} cannot be read ({why}): check its permissions."
        raise IndexPathError(msg) from exc


def _load_json(path: Path, index_dir: Path) -> object:
    """The manifest's JSON; a damaged one (unreadable, huge, nested too deep) is reported."""
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise ValueError(f"{path.stat().st_size:,} bytes, where a manifest is a few hundred")
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:200]
        msg = f"The index manifest {path} is unreadable ({why}). Rebuild with: " + rebuild_hint(
            str(index_dir)
        )
        raise IndexCorruptError(msg) from exc


def _corpus_of(raw: object) -> str | None:
    """The corpus a (possibly damaged) manifest names, when it is fit for a message."""
    corpus = raw.get("corpus") if isinstance(raw, dict) else None
    if isinstance(corpus, str) and 0 < len(corpus) <= _MAX_HINT_CORPUS_CHARS:
        return corpus
    return None


def generation_dir(index_dir: Path, manifest: Manifest) -> Path:
    """The generation folder the manifest names, refused unless it lies inside ``index_dir``."""
    name = manifest.generation
    if not _GENERATION_NAME.match(name):
        hint = rebuild_hint(str(index_dir), manifest.corpus)
        msg = (
            f"The index manifest in {index_dir} names the generation {name[:80]!r}, which is not "
            f"a folder of this index. Rebuild it with: {hint}"
        )
        raise IndexCorruptError(msg)
    return index_dir / name


def write(index_dir: Path, manifest: Manifest) -> None:
    """Replace the manifest atomically (write, fsync, rename, fsync the folder)."""
    tmp = index_dir / f".{MANIFEST_FILE}.tmp"
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(manifest.model_dump_json(indent=2))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, index_dir / MANIFEST_FILE)
    fsync_dir(index_dir)


def fsync_dir(path: Path) -> None:
    """Make a rename inside ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
