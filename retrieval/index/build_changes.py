"""What a build must do: the corpus walked and compared with the stored documents.

Corpus files whose size and modification time are unchanged, as are those of their source
sidecars (or their absence), are not even read (the files table records them); a document
re-read whose content hash differs is indexed again. Under another ``READERS_VERSION``
(``reread``) every file is read, and the documents whose hash did not change are segmented
again and compared with what the store holds (``resplit_changes``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from retrieval.errors import CorpusError
from retrieval.index import store_write
from retrieval.index.build_embed import prepare_document
from retrieval.index.build_report import Log
from retrieval.index.resplit import split_of, stored_split
from retrieval.read.readers import (
    SkippedFile,
    content_hash,
    corpus_files,
    read_file,
    source_sidecar,
    source_sidecar_rel,
)
from retrieval.split.language import Language
from retrieval.split.terms import acronym_key
from retrieval.types import Document


@dataclass
class Plan:
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


def plan_changes(
    corpus: Path | Sequence[Document],
    conn: sqlite3.Connection | None,
    say: Log,
    *,
    reread: bool = False,
) -> Plan:
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
    return Plan(
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


def resplit_changes(
    plan: Plan, conn: sqlite3.Connection, passage_sentences: int, language: Language
) -> Plan:
    """``plan`` with the unchanged documents that today's rules split otherwise moved to
    ``updated`` (see ``resplit``): the content hash does not cover sentences."""

    def key(acronym: str) -> str:
        return acronym_key(acronym, language)

    def quiet(_message: str) -> None:
        """``partly indexed`` was said when the document was first indexed."""

    split_again = [
        (doc, digest, source_file)
        for doc, digest, source_file in plan.same
        if split_of(
            prepare_document(doc, digest, source_file, passage_sentences, quiet, language), key
        )
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
