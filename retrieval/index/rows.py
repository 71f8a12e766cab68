"""The rows an index gives answering, whatever store holds them.

``pos`` numbers sentences (and passages) in the order they were added; it is also the row of
their vector. A document's sentences and passages have consecutive positions, and a removed
document leaves a gap: a position is never reused. Every store (see ``retrieval.index.view``)
hands out these types, so search and answering never see how they are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from retrieval.types import Source


def term_string(terms: frozenset[str] | set[str]) -> str:
    """How a row's terms are kept: sorted, space-separated, with a space at either end.

    Answering tests a term with ``f" {term} " in terms``: no parsing of the hundreds of rows
    it scores.
    """
    return " " + " ".join(sorted(terms)) + " "


def term_set(terms: str) -> frozenset[str]:
    """The terms of a string made by :func:`term_string`."""
    return frozenset(terms.split())


class SentenceRow(NamedTuple):
    """A stored sentence: ``text == document text[start:end]``; ``passage`` is a position.

    ``terms`` is a :func:`term_string`. A named tuple: answering reads hundreds per question.
    """

    pos: int
    doc: int
    ordinal: int
    passage: int
    start: int
    end: int
    text: str
    terms: str


class PassageRow(NamedTuple):
    """A stored passage: sentences ``first..last`` (positions) of one document."""

    pos: int
    doc: int
    ordinal: int
    start: int
    end: int
    first: int
    last: int
    terms: str


@dataclass(frozen=True)
class DocumentRow:
    """A stored document without its text (read on demand); ``pages`` as in ``Document``."""

    idx: int
    source: Source
    chars: int
    first_sentence: int
    sentence_count: int
    first_passage: int
    passage_count: int
    pages: tuple[int, ...] = ()


@dataclass(frozen=True)
class Stats:
    """The counters of a store: its version, rows ever given out (= vector rows), live rows.

    ``version`` changes with every update a reader must notice.
    """

    version: int = 0
    sentence_rows: int = 0
    passage_rows: int = 0
    documents: int = 0
    sentences: int = 0
    passages: int = 0


@dataclass(frozen=True)
class TermFacts:
    """What the store says of one stem: (sentence, passage) frequency and acronym links."""

    frequencies: tuple[int, int]
    #: Acronyms whose long name holds the stem.
    spelled_by: frozenset[str]
    #: The long-name stems of the acronym the stem spells (empty when it spells none).
    long_name: frozenset[str]
