"""Writing the SQLite store: documents in and out, with their rows, full text and term counts.

Every function here runs inside the caller's transaction (``retrieval.index.build`` and its
``build_*`` parts); the counters in ``meta`` (``store.META_KEYS``) move with the rows.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from retrieval.index import row_files
from retrieval.index.rows import PassageRow, SentenceRow, term_string
from retrieval.index.store import IN_CHUNK, pages_column, set_meta, stats
from retrieval.split.language import ENGLISH, Language
from retrieval.types import Document, Passage, Sentence


def document_hashes(conn: sqlite3.Connection) -> dict[str, str]:
    """Map every stored document id to its content hash."""
    return dict(conn.execute("SELECT id, content_hash FROM documents"))


def file_states(conn: sqlite3.Connection) -> dict[str, tuple[int, int]]:
    """Size and modification time of every corpus file (and source sidecar) the last build
    read."""
    return {
        path: (int(size), int(mtime))
        for path, size, mtime in conn.execute("SELECT path, size, mtime_ns FROM files")
    }


def documents_of_files(conn: sqlite3.Connection, paths: Iterable[str]) -> dict[str, str]:
    """Document id to content hash for documents read from ``paths``."""
    found: dict[str, str] = {}
    paths = list(paths)
    for at in range(0, len(paths), IN_CHUNK):
        chunk = paths[at : at + IN_CHUNK]
        marks = ",".join("?" * len(chunk))
        found.update(
            conn.execute(
                f"SELECT id, content_hash FROM documents WHERE source_file IN ({marks})", chunk
            )
        )
    return found


def replace_files(conn: sqlite3.Connection, states: dict[str, tuple[int, int]]) -> None:
    """Record the corpus files a build read (size, mtime) so the next build can skip them."""
    conn.execute("DELETE FROM files")
    conn.executemany(
        "INSERT INTO files (path, size, mtime_ns) VALUES (?, ?, ?)",
        [(path, size, mtime) for path, (size, mtime) in states.items()],
    )


@dataclass(frozen=True)
class Removed:
    """What deleting documents freed: their vector rows, to be blanked after the commit."""

    sentence_positions: tuple[int, ...]
    passage_positions: tuple[int, ...]


def delete_documents(
    conn: sqlite3.Connection, doc_ids: Iterable[str], *, language: Language = ENGLISH
) -> Removed:
    """Remove documents with their rows, full-text entries, term counts and acronyms.

    ``language`` is the store's: FTS5 deletes an entry given the text it indexed.
    """
    fts_text = language.fts_text
    sentence_positions: list[int] = []
    passage_positions: list[int] = []
    df: Counter[tuple[str, int]] = Counter()
    docs = lives = 0
    live_s = live_p = 0
    for doc_id in doc_ids:
        row = conn.execute(
            "SELECT idx, text, first_sentence, sentence_count, first_passage, passage_count "
            "FROM documents WHERE id = ?",
            (doc_id,),
        ).fetchone()
        if row is None:
            continue
        idx, text, s0, ns, p0, np_ = row
        for pos, s_text, terms in conn.execute(
            "SELECT pos, text, terms FROM sentences WHERE pos BETWEEN ? AND ?", (s0, s0 + ns - 1)
        ).fetchall():
            conn.execute(
                "INSERT INTO sentences_fts (sentences_fts, rowid, text) VALUES ('delete', ?, ?)",
                (pos, fts_text(s_text)),
            )
            df.update((term, 0) for term in terms.split())
            sentence_positions.append(pos)
        for pos, start, end, terms in conn.execute(
            "SELECT pos, start, end, terms FROM passages WHERE pos BETWEEN ? AND ?",
            (p0, p0 + np_ - 1),
        ).fetchall():
            conn.execute(
                "INSERT INTO passages_fts (passages_fts, rowid, text) VALUES ('delete', ?, ?)",
                (pos, fts_text(text[start:end])),
            )
            df.update((term, 1) for term in terms.split())
            passage_positions.append(pos)
        row_files.note_removed(conn, "sentences", s0, ns)
        row_files.note_removed(conn, "passages", p0, np_)
        conn.execute("DELETE FROM sentences WHERE pos BETWEEN ? AND ?", (s0, s0 + ns - 1))
        conn.execute("DELETE FROM passages WHERE pos BETWEEN ? AND ?", (p0, p0 + np_ - 1))
        conn.execute("DELETE FROM acronyms WHERE doc = ?", (idx,))
        conn.execute("DELETE FROM documents WHERE idx = ?", (idx,))
        docs += 1
        live_s += ns
        live_p += np_
    lives = docs
    if df:
        _add_df(conn, df, sign=-1)
        conn.execute("DELETE FROM term_df WHERE sentences <= 0 AND passages <= 0")
    if lives:
        current = stats(conn)
        set_meta(
            conn,
            documents=current.documents - docs,
            sentences=current.sentences - live_s,
            passages=current.passages - live_p,
        )
    return Removed(tuple(sentence_positions), tuple(passage_positions))


def _add_df(conn: sqlite3.Connection, df: Counter[tuple[str, int]], *, sign: int) -> None:
    merged: dict[str, list[int]] = {}
    for (term, kind), count in df.items():
        merged.setdefault(term, [0, 0])[kind] += sign * count
    conn.executemany(
        "INSERT INTO term_df (term, sentences, passages) VALUES (?, ?, ?) "
        "ON CONFLICT(term) DO UPDATE SET sentences = sentences + excluded.sentences, "
        "passages = passages + excluded.passages",
        [(term, s, p) for term, (s, p) in merged.items()],
    )


@dataclass(frozen=True)
class NewDocument:
    """A document ready to store: its segmentation, the terms of each part, its acronyms."""

    document: Document
    content_hash: str
    source_file: str | None
    sentences: Sequence[Sentence]
    passages: Sequence[Passage]
    sentence_terms: Sequence[frozenset[str]]
    passage_terms: Sequence[frozenset[str]]
    #: (acronym, stemmed words of its long name) pairs the document defines.
    acronyms: Sequence[tuple[str, frozenset[str]]] = ()


def insert_documents(
    conn: sqlite3.Connection,
    items: Sequence[NewDocument],
    *,
    acronym_key: dict[str, str],
    language: Language = ENGLISH,
    folder: Path | None = None,
) -> tuple[int, int]:
    """Store documents at the next free positions; return the first sentence/passage position.

    ``acronym_key`` maps an acronym to its stemmed lower-case form (how a question spells it);
    ``language`` is the store's, whose full-text tables hold ``Language.fts_text`` of each row.
    ``folder`` is the store's generation folder: with it the rows also go to its row files
    (``row_files``), durably before the caller commits.
    """
    fts_text = language.fts_text
    to_files = folder is not None and row_files.start_if_empty(conn)
    all_sentences: list[SentenceRow] = []
    all_passages: list[PassageRow] = []
    current = stats(conn)
    s_next, p_next = current.sentence_rows, current.passage_rows
    first = (s_next, p_next)
    df: Counter[tuple[str, int]] = Counter()
    n_s = n_p = 0
    for item in items:
        doc = item.document
        cur = conn.execute(
            "INSERT INTO documents (id, text, title, date, url, indexable, pages, content_hash, "
            "source_file, chars, first_sentence, sentence_count, first_passage, passage_count) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                doc.id,
                doc.text,
                doc.title,
                doc.date,
                doc.url,
                json.dumps([[s.start, s.end] for s in doc.indexable]),
                pages_column(doc.pages),
                item.content_hash,
                item.source_file,
                len(doc.text),
                s_next,
                len(item.sentences),
                p_next,
                len(item.passages),
            ),
        )
        idx = int(cur.lastrowid or 0)
        sentence_rows = [
            SentenceRow(
                s_next + s.ordinal,
                idx,
                s.ordinal,
                p_next + s.passage,
                s.start,
                s.end,
                s.text,
                term_string(terms),
            )
            for s, terms in zip(item.sentences, item.sentence_terms, strict=True)
        ]
        conn.executemany(
            "INSERT INTO sentences (pos, doc, ordinal, passage, start, end, text, terms) "
            "VALUES (?,?,?,?,?,?,?,?)",
            sentence_rows,
        )
        conn.executemany(
            "INSERT INTO sentences_fts (rowid, text) VALUES (?, ?)",
            [(s_next + s.ordinal, fts_text(s.text)) for s in item.sentences],
        )
        passage_rows = [
            PassageRow(
                p_next + p.ordinal,
                idx,
                p.ordinal,
                p.start,
                p.end,
                s_next + p.first_sentence,
                s_next + p.last_sentence,
                term_string(terms),
            )
            for p, terms in zip(item.passages, item.passage_terms, strict=True)
        ]
        conn.executemany(
            "INSERT INTO passages (pos, doc, ordinal, start, end, first, last, terms) "
            "VALUES (?,?,?,?,?,?,?,?)",
            passage_rows,
        )
        if to_files:
            all_sentences.extend(sentence_rows)
            all_passages.extend(passage_rows)
        conn.executemany(
            "INSERT INTO passages_fts (rowid, text) VALUES (?, ?)",
            [(p_next + p.ordinal, fts_text(doc.text[p.start : p.end])) for p in item.passages],
        )
        conn.executemany(
            "INSERT INTO acronyms (doc, acronym, key, term) VALUES (?, ?, ?, ?)",
            [
                (idx, acronym, acronym_key[acronym], term)
                for acronym, name in item.acronyms
                for term in sorted(name)
            ],
        )
        for terms in item.sentence_terms:
            df.update((term, 0) for term in terms)
        for terms in item.passage_terms:
            df.update((term, 1) for term in terms)
        s_next += len(item.sentences)
        p_next += len(item.passages)
        n_s += len(item.sentences)
        n_p += len(item.passages)
    if df:
        _add_df(conn, df, sign=1)
    if folder is not None and to_files:
        row_files.append(folder, all_sentences, all_passages)
    after = stats(conn)
    set_meta(
        conn,
        sentence_rows=s_next,
        passage_rows=p_next,
        documents=after.documents + len(items),
        sentences=after.sentences + n_s,
        passages=after.passages + n_p,
    )
    return first


def bump_version(conn: sqlite3.Connection) -> int:
    """Mark a change readers must notice; returns the new version."""
    version = stats(conn).version + 1
    set_meta(conn, version=version)
    return version
