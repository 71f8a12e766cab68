"""What splitting made of a stored document, to tell whether today's rules cut it otherwise.

A document's content hash covers what reading gives (text, spans, title, ...), not how the text
is cut into sentences and passages nor the terms they are indexed under. When the reading rules'
version (``retrieval.read.readers.READERS_VERSION``) changes, the build segments every document
whose hash is unchanged again and compares its :class:`Split` with the stored one: only those
that differ are embedded again. The full-text tables are not compared: they hold the sentence
text (the same when the spans are) or, outside English, its stems, which the terms compared
here come from too.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from retrieval.index import store_read
from retrieval.index.rows import term_set
from retrieval.index.store_write import NewDocument


@dataclass(frozen=True)
class Split:
    """A document's sentences and passages (positions within the document) and their terms."""

    #: (ordinal, start, end, passage ordinal, terms) of each sentence.
    sentences: tuple[tuple[int, int, int, int, frozenset[str]], ...]
    #: (ordinal, start, end, first sentence, last sentence, terms) of each passage.
    passages: tuple[tuple[int, int, int, int, int, frozenset[str]], ...]
    #: (acronym, key, long-name term) rows of the acronyms the document defines.
    acronyms: frozenset[tuple[str, str, str]]


def split_of(item: NewDocument, acronym_key: Callable[[str], str]) -> Split:
    """The split of a document prepared for storing (``acronym_key`` as the store's)."""
    return Split(
        sentences=tuple(
            (s.ordinal, s.start, s.end, s.passage, terms)
            for s, terms in zip(item.sentences, item.sentence_terms, strict=True)
        ),
        passages=tuple(
            (p.ordinal, p.start, p.end, p.first_sentence, p.last_sentence, terms)
            for p, terms in zip(item.passages, item.passage_terms, strict=True)
        ),
        acronyms=frozenset(
            (acronym, acronym_key(acronym), term)
            for acronym, name in item.acronyms
            for term in name
        ),
    )


def stored_split(conn: sqlite3.Connection, doc_id: str) -> Split | None:
    """The split the store holds for ``doc_id``; None when it holds no such document."""
    row = store_read.document_by_id(conn, doc_id)
    if row is None:
        return None
    s0, p0 = row.first_sentence, row.first_passage
    sentences = sorted(store_read.sentence_rows(conn, range(s0, s0 + row.sentence_count)))
    passages = sorted(store_read.passage_rows(conn, range(p0, p0 + row.passage_count)))
    acronyms = conn.execute("SELECT acronym, key, term FROM acronyms WHERE doc = ?", (row.idx,))
    return Split(
        sentences=tuple(
            (s.ordinal, s.start, s.end, s.passage - p0, term_set(s.terms)) for s in sentences
        ),
        passages=tuple(
            (p.ordinal, p.start, p.end, p.first - s0, p.last - s0, term_set(p.terms))
            for p in passages
        ),
        acronyms=frozenset((str(a), str(k), str(t)) for a, k, t in acronyms),
    )
