"""The store boundary: what search, answering and the engine ask of an index, and nothing more.

:class:`OpenIndex` is an index opened for answering (the engine holds one);
:class:`IndexView` is one answer's consistent view of it. A store provides both: candidates by
vector (``dense``) and by terms (``lexical``, ``postings``), rows and their neighbours by
position, documents by position or id, their text, and the statistics ranking weighs terms by.
Rows are the store-neutral types of ``retrieval.index.rows``. The embedded store (FAISS +
SQLite in the index folder) is ``retrieval.index.loaded``; ``retrieval.index.stores`` opens one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from embeddings import Encoder
from retrieval.index.manifest import Manifest
from retrieval.index.rows import DocumentRow, PassageRow, SentenceRow, Stats, TermFacts
from retrieval.split.language import Language

#: What a search runs over: sentence rows or passage rows.
Kind = Literal["sentences", "passages"]
#: Caches of term variants and term facts that answers over one store version may share.
TermCaches = tuple[dict[str, frozenset[str]], dict[str, TermFacts]]


class IndexView(Protocol):
    """One answer's consistent view of an index: every read sees the same version."""

    #: The index's language: terms are its stems; ``lexical`` and ``postings`` take words.
    language: Language

    # -- candidates ------------------------------------------------------------------------

    def dense(self, kind: Kind, query: np.ndarray, limit: int) -> list[tuple[int, float]]:
        """Nearest live rows to the unit vector ``query``: ``(position, cosine)`` best first."""
        ...

    def lexical(self, kind: Kind, terms: Sequence[str], limit: int) -> list[tuple[int, float]]:
        """BM25 matches of any of ``terms``: ``(position, score)`` best first."""
        ...

    def postings(self, kind: Kind, terms: Sequence[str]) -> np.ndarray:
        """Positions (int64, unranked) of the live rows holding any of ``terms``."""
        ...

    def read_ahead(self, terms: Sequence[str]) -> None:
        """A hint that a search of ``terms`` comes next, asked before the question is encoded:
        a store that reads over the network may start reading their posting lists now, so
        that the reads overlap the encoding. The embedded store reads nothing ahead."""
        ...

    # -- rows, vectors and text ------------------------------------------------------------

    def sentences(self, positions: Sequence[int]) -> Mapping[int, SentenceRow | None]:
        """Rows at ``positions`` (None for a removed or unknown one)."""
        ...

    def sentence(self, pos: int) -> SentenceRow | None: ...

    def passages(self, positions: Sequence[int]) -> Mapping[int, PassageRow | None]:
        """Rows at ``positions`` (None for a removed or unknown one)."""
        ...

    def same_passage(self, a: int, b: int) -> bool:
        """Whether sentence positions ``a`` and ``b`` are live and in one passage."""
        ...

    def sentence_vectors(self, positions: Sequence[int]) -> np.ndarray:
        """The unit vectors of sentences at ``positions``, one row each."""
        ...

    def passage_vectors(self, positions: Sequence[int]) -> np.ndarray: ...

    def document(self, idx: int) -> DocumentRow:
        """The document at ``idx``; KeyError when there is none."""
        ...

    def documents(self, indexes: Sequence[int]) -> None:
        """Read the documents at ``indexes`` at once (warms :meth:`document`)."""
        ...

    def document_by_id(self, doc_id: str) -> DocumentRow | None: ...

    def all_documents(self, *, limit: int | None = None) -> list[DocumentRow]:
        """Every document (or the first ``limit``), in id order."""
        ...

    def text(self, idx: int) -> str:
        """The stored text of document ``idx``; quotes are cut from it by offsets."""
        ...

    # -- statistics ------------------------------------------------------------------------

    @property
    def stats(self) -> Stats:
        """The counters of the version this view reads."""
        ...

    @property
    def index_type(self) -> str:
        """How sentence vectors are searched ("flat" or "ivf"), for ``verbatim info``."""
        ...

    def updated_at(self) -> str | None:
        """When the index last changed (ISO 8601), if the store records it."""
        ...

    def term_facts(self, stems: Sequence[str]) -> dict[str, TermFacts]:
        """What the index says of each of ``stems`` (one it never saw has frequencies of 0)."""
        ...

    def term_frequencies(self, terms: Sequence[str]) -> dict[str, tuple[int, int]]:
        """Sentence and passage frequency of each of ``terms`` the index holds."""
        ...

    def terms_with_prefix(self, prefix: str, *, longest: int) -> list[str]:
        """Terms held in passages that start with ``prefix``, at most ``longest`` long."""
        ...

    def shared_term_caches(self) -> TermCaches | None:
        """Caches of term variants and facts shared by answers, or None not to share.

        Search fills them (``retrieval.search.coverage``); a store shares them only while they
        hold what its current version says.
        """
        ...


class OpenIndex(Protocol):
    """An index opened for answering. Thread-safe: each answer takes its own view."""

    index_dir: Path
    manifest: Manifest
    #: The language the index was built for (its manifest's): questions are stemmed in it.
    language: Language
    encoder: Encoder

    def reader(self) -> AbstractContextManager[IndexView]:
        """A consistent view for one answer (nested calls in one thread share it)."""
        ...

    def replaced(self) -> bool:
        """Whether another version of the index now stands in ``index_dir`` (reopen it).

        Cheap: it is asked before every question.
        """
        ...

    def store_failed(self, exc: Exception) -> bool:
        """Whether ``exc`` came from the store itself (a replaced or damaged index)."""
        ...

    def damage(self) -> str | None:
        """What is wrong with the stored index in plain words, or None when nothing is found.

        It may read everything: it is asked only after a failure.
        """
        ...

    def close(self) -> None:
        """Release files and connections (the index must not be used afterwards)."""
        ...
