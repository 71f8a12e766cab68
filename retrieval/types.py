"""Typed contracts shared by the corpus, the index, the answering function and the faces.

Every model is frozen: values cross layers and threads and are never mutated.
Offsets are character offsets into a document's stored ``text`` (Python ``str`` indices).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """Base for the immutable contracts."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Span(Frozen):
    """A half-open character range ``[start, end)`` of a document's stored text."""

    start: int
    end: int


class Document(Frozen):
    """One article as stored: quotes are cut from ``text`` and never from anything else.

    ``indexable`` lists the spans of ``text`` that survived cleaning (boilerplate dropped);
    only they are segmented and indexed, but ``text`` itself is never altered. ``pages`` holds
    where each page starts in ``text`` (page 1 first; a page without text starts where the
    next one does); it is empty for documents that have no pages (all but PDFs).
    """

    id: str
    text: str
    title: str | None = None
    date: str | None = None
    url: str | None = None
    indexable: tuple[Span, ...] = ()
    pages: tuple[int, ...] = ()


def page_range(pages: Sequence[int], start: int, end: int) -> tuple[int, int] | None:
    """The first and last page (1-based) of ``text[start:end]``, given ``Document.pages``.

    None for a document without pages. A page without text shares its start with the next
    page, which is the one counted.
    """
    if not pages:
        return None
    first = max(1, bisect_right(pages, start))
    last = max(first, bisect_right(pages, max(start, end - 1)))
    return first, last


class Sentence(Frozen):
    """A sentence of a document: ``text == document.text[start:end]``."""

    doc_id: str
    ordinal: int
    start: int
    end: int
    passage: int
    text: str


class Passage(Frozen):
    """Adjacent sentences of one paragraph grouped for context: sentences ``first..last``."""

    doc_id: str
    ordinal: int
    start: int
    end: int
    first_sentence: int
    last_sentence: int


class Source(Frozen):
    """The citation of a document: what a reader needs to find the article again."""

    id: str
    title: str | None = None
    date: str | None = None
    url: str | None = None


class Extract(Frozen):
    """Verbatim text of one document: ``text == document.text[start:end]``.

    ``first_sentence``/``last_sentence`` give its position as sentence ordinals; ``pages`` the
    first and last page (1-based) the text spans, None for a document without pages.
    """

    text: str
    start: int
    end: int
    source: Source
    first_sentence: int
    last_sentence: int
    pages: tuple[int, int] | None = None


class Quote(Extract):
    """An extract chosen to answer a question, with its score and any agreeing articles.

    ``also_in`` holds extracts from other documents that say the same thing; they are shown
    as agreement instead of being repeated as separate quotes.
    """

    score: float
    also_in: tuple[Extract, ...] = ()


AnswerStatus = Literal["answered", "not_found", "invalid_question"]


class Answer(Frozen):
    """What the answering function returns, rendered as-is by the CLI, the bot and the harness.

    ``answered`` is true when ``quotes`` is non-empty. A decline (``not_found``) names the
    closest topics the corpus does cover; ``invalid_question`` carries a ``message`` that says
    what was wrong with the question. ``relevance`` is how likely the articles say the answer
    (the hybrid's calibrated answerability; a baseline's best score), kept on a decline too,
    so the harness can trade thresholds. ``has_more`` tells a face
    whether asking again with a larger ``offset`` yields further quotes. ``uncertain`` marks
    an answer whose relevance is low enough that the articles may well not say it (the
    ranker's ``unsure_below``): the faces say so above its quotes.
    """

    question: str
    status: AnswerStatus
    quotes: tuple[Quote, ...] = ()
    closest_topics: tuple[str, ...] = ()
    message: str | None = None
    relevance: float = 0.0
    offset: int = 0
    has_more: bool = False
    #: The earlier question this one leaned on ("when did he die?"), or None when it was
    #: answered on its own.
    context_question: str | None = None
    uncertain: bool = False

    @property
    def answered(self) -> bool:
        return self.status == "answered"


class PriorTurn(Frozen):
    """The question asked just before and the quotes it was answered with.

    A follow-up ("and how many died there?") is answered in this context when it leans on it
    (see ``retrieval.search.followup``). ``context_question`` is the question that the earlier
    one itself leaned on, so a chain of follow-ups keeps the names it started from.
    """

    question: str
    quotes: tuple[Quote, ...] = ()
    context_question: str | None = None

    @classmethod
    def of(cls, answer: Answer) -> PriorTurn:
        """The context an answer leaves for the next question."""
        return cls(
            question=answer.question,
            quotes=answer.quotes,
            context_question=answer.context_question,
        )


class DocumentInfo(Frozen):
    """What is indexed about one document, for ``verbatim sources`` and ``/sources``."""

    source: Source
    sentences: int
    chars: int


class IndexInfo(Frozen):
    """What an index is made of, for ``/about`` and the manifest summary."""

    model_name: str
    dimension: int
    documents: int
    sentences: int
    passages: int
    built_at: str
    index_type: str
