"""Turning what a person typed into something safe to search with, or saying why we can't.

Questions arrive from Telegram, the terminal and question files: empty, huge, binary,
marked up or hostile. ``prepare`` cleans them for retrieval (the text of the articles is never
touched); a store turns the terms into its own query (SQLite: ``store_read.fts_query``, which no
input can break).
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

from retrieval.split.language import ENGLISH, WORD, Language

MAX_QUESTION_CHARS = 1_000
MAX_QUERY_TERMS = 32
#: Share of a question's characters that may be unprintable before we call it binary junk.
MAX_JUNK_SHARE = 0.2

_TAG = re.compile(r"<[^<>]{0,200}>")
_MARKDOWN = re.compile(r"[*_`~#>|\[\]]+|\]\([^)]*\)")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Prepared:
    """A question ready for retrieval, or ``problem`` saying why it cannot be answered."""

    text: str
    terms: tuple[str, ...]
    problem: str | None = None
    #: Names and numbers of the question (capitalised words not opening it, digits): the
    #: things an answer must be about.
    focus: tuple[str, ...] = ()
    #: For a follow-up answered in context (``retrieval.search.followup``): the earlier
    #: question's subject words, which place the answer (its passage) while ``terms`` pick
    #: the sentence; ``focus`` then holds the earlier names and numbers too.
    carried: tuple[str, ...] = ()
    #: The subject words of the question just before: what a follow-up without words of its
    #: own ("who said that?") asks about again.
    restated: tuple[str, ...] = ()
    #: The question together with the earlier one, encoded to place the answer; None when
    #: the question stands alone.
    context_text: str | None = None
    #: Words the asker has already said (the earlier question's), so not an answer.
    known: tuple[str, ...] = ()
    #: For a follow-up: the question's words with the stems of their irregular forms
    #: ("blown": "blow", "blew"), which count as the word itself.
    forms: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: For a follow-up: where the earlier answer's quote stands (document id, first and last
    #: sentence ordinals): the conversation's place.
    answered_at: tuple[tuple[str, int, int], ...] = ()
    #: The language the question was read in (the index's): its stopwords left ``terms``.
    language: Language = ENGLISH

    @property
    def encoded(self) -> tuple[str, ...]:
        """The texts answering encodes: the question, and its context where it leans on one."""
        return (self.text, self.context_text) if self.context_text else (self.text,)

    @property
    def looked_up(self) -> tuple[str, ...]:
        """Every word a search of this question looks up by term (``read_ahead``'s)."""
        others = (f for _, fs in self.forms for f in fs)
        return tuple(dict.fromkeys((*self.terms, *self.carried, *self.focus, *others)))


def _printable_share(text: str) -> float:
    if not text:
        return 1.0
    bad = sum(
        1
        for ch in text
        if ch == "\ufffd"
        or (unicodedata.category(ch) in {"Cc", "Cs", "Co", "Cn"} and not ch.isspace())
    )
    return 1.0 - bad / len(text)


def prepare(question: object, language: Language = ENGLISH) -> Prepared:
    """Clean a raw question: drop markup and control characters, check it is a question.

    ``language`` is the index's (``OpenIndex.language``): its stopwords are left out of the
    terms, which the index's view stems in the same language.
    """
    if not isinstance(question, str):
        return Prepared("", (), "Please send your question as text.")
    if len(question) > MAX_QUESTION_CHARS * 20:
        question = question[: MAX_QUESTION_CHARS * 20]
    if _printable_share(question) < 1.0 - MAX_JUNK_SHARE:
        return Prepared("", (), "That doesn't look like text. Please ask a question in words.")
    text = html.unescape(_TAG.sub(" ", question))
    text = "".join(
        ch if not unicodedata.category(ch).startswith("C") else " "
        for ch in unicodedata.normalize("NFC", text)
    )
    text = _SPACE.sub(" ", _MARKDOWN.sub(" ", text)).strip()
    if not text:
        return Prepared("", (), "Please ask a question, for example: Who declared victory?")
    if len(text) > MAX_QUESTION_CHARS:
        return Prepared(
            text[:MAX_QUESTION_CHARS],
            (),
            f"Your question is {len(text):,} characters long; please ask it in at most "
            f"{MAX_QUESTION_CHARS:,} characters.",
        )
    words = [w.lower() for w in WORD.findall(text)]
    if not any(ch.isalnum() for ch in text):
        return Prepared(text, (), "Please ask a question in words.")
    stopwords = language.stopwords
    terms = tuple(dict.fromkeys(w for w in words if w not in stopwords))
    return Prepared(
        text, terms[:MAX_QUERY_TERMS], focus=focus_terms(text, language), language=language
    )


def focus_terms(text: str, language: Language = ENGLISH) -> tuple[str, ...]:
    """Lower-cased names and numbers: capitalised words after the first word, and digits.

    Capitals tell names in English; in German they mark every noun, which then counts too.
    """
    focus: list[str] = []
    for i, match in enumerate(WORD.finditer(text)):
        word = match.group()
        lower = word.lower()
        if lower in language.stopwords:
            continue
        named = i > 0 and word[:1].isupper()
        if named or any(ch.isdigit() for ch in word) or (len(word) > 1 and word.isupper()):
            focus.append(lower)
    return tuple(dict.fromkeys(focus))[:MAX_QUERY_TERMS]
