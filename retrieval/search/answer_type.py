"""Expected answer types: a "how many" question wants a number, "when" a date, "who" a name.

A sentence that only echoes the question's words, with nothing of the kind asked for, is
rarely the answer. This module says which kind a question asks for and whether a sentence
holds something of that kind that the question does not already contain.
"""

from __future__ import annotations

import re
from enum import Enum
from functools import lru_cache

from retrieval.split.terms import STOPWORDS


class AnswerType(Enum):
    NUMBER = "number"
    DATE = "date"
    NAME = "name"
    PLACE = "place"
    #: "Which mosque...", "what organisation...": something named, one capitalised word will do.
    ENTITY = "entity"


_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_DAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    "fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|"
    "eighty|ninety|hundred|hundreds|thousand|thousands|million|millions|billion|billions|"
    "dozen|dozens|half|quarter|several|few"
)
_QUESTION_TYPES: list[tuple[re.Pattern[str], AnswerType]] = [
    (
        re.compile(r"\bhow (many|much|long|old|far|tall|big|large|high|often)\b", re.I),
        AnswerType.NUMBER,
    ),
    (
        re.compile(r"\bwhat (percentage|percent|proportion|number|amount)\b", re.I),
        AnswerType.NUMBER,
    ),
    (
        re.compile(
            r"^\s*when\b|\b(what|which|in what) (year|years|date|day|month|time|century|"
            r"decade|period|era)\b",
            re.I,
        ),
        AnswerType.DATE,
    ),
    (
        re.compile(r"^\s*(who|whom|whose)\b|\bwho (was|is|were|are|did|does)\b", re.I),
        AnswerType.NAME,
    ),
    (
        re.compile(
            r"^\s*where\b|\b(what|which) (country|city|town|region|province|state|place|"
            r"continent|river|district|area)\b",
            re.I,
        ),
        AnswerType.PLACE,
    ),
    (
        re.compile(
            r"^\s*(which|what) (\w+ ){0,2}(group|organi[sz]ation|unit|force|forces|party|"
            r"mosque|agency|company|team|army|militia|office|ministry|commander|leader|"
            r"official|spokesman|general|president|minister|newspaper|name)\b|^\s*which\b",
            re.I,
        ),
        AnswerType.ENTITY,
    ),
]
# The three patterns below read lower-cased text: without re.I they take a third of the time
# (29 and 23 us a SQuAD sentence against 10 and 7), with the same matches.
_NUMBER = re.compile(rf"\b\d[\d,.]*\b|\b({_NUMBER_WORDS})\b")
_DATE = re.compile(
    rf"\b(1[0-9]{{3}}|20[0-9]{{2}})s?\b|\b({_MONTHS}|{_DAYS})\b|\b\d+(st|nd|rd|th)\b|"
    r"\b(century|centuries|decade|decades|yesterday|today|tomorrow|tonight|ago|"
    r"week|weeks|weekend|month|months|year|years|morning|afternoon|evening|night|"
    r"spring|summer|autumn|winter|recently|formerly)\b",
)
_DATE_PHRASE = re.compile(
    rf"\b({_MONTHS})\.?\s+\d{{1,2}}(st|nd|rd|th)?\b|\b\d{{1,2}}(st|nd|rd|th)?\s+({_MONTHS})\b|"
    r"\b(1[5-9]|20)\d{2}\b",
)
_FULL_NAME = re.compile(r"\b[A-Z][\w'’-]+(?:\s+(?:al-|Al\s|bin\s|de\s|van\s)?[A-Z][\w'’-]+)+")
_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w'’-]+")


def expected_type(question: str) -> AnswerType | None:
    """The kind of answer ``question`` asks for, if it says."""
    for pattern, kind in _QUESTION_TYPES:
        if pattern.search(question):
            return kind
    return None


_WORDS = re.compile(r"[\w'’-]+")


def question_words(question: str) -> set[str]:
    """The lower-cased words of a question, for telling new information from echoes."""
    return {w.lower() for w in _WORDS.findall(question)}


#: Sentences whose answer-type tokens are remembered (a popular sentence is checked often).
TOKEN_CACHE = 65_536


@lru_cache(maxsize=TOKEN_CACHE)
def _kind_tokens(sentence: str, kind: AnswerType) -> tuple[tuple[str, ...], ...]:
    """What ``sentence`` holds of ``kind``, lower-cased, whatever the question.

    Each group is one mention: a single token, or for names the words of a full name.
    """
    if kind is AnswerType.NUMBER:
        # "June 6" and "2017" are dates, not the counts a "how many" question wants.
        undated = _DATE_PHRASE.sub(" ", sentence.lower())
        return tuple((m.group(),) for m in _NUMBER.finditer(undated))
    if kind is AnswerType.DATE:
        return tuple((m.group(),) for m in _DATE.finditer(sentence.lower()))
    if kind is AnswerType.NAME:
        return tuple(
            tuple(w.lower() for w in m.group().split()) for m in _FULL_NAME.finditer(sentence)
        )
    return tuple(
        (word,)
        for m in _CAPITALISED.finditer(sentence)
        if (word := m.group().lower()) not in STOPWORDS and not _DATE.fullmatch(word)
    )


def holds(sentence: str, kind: AnswerType, question_words: set[str]) -> bool:
    """Whether ``sentence`` has something of ``kind`` that the question does not contain."""
    groups = _kind_tokens(sentence, kind)
    if kind is AnswerType.NAME:
        # A person is usually named in full on first mention: two capitalised words in a row,
        # none of them in the question ("Amnesty International" does not answer "Who at
        # Amnesty...?").
        return any(all(w not in question_words for w in group) for group in groups)
    return any(group[0] not in question_words for group in groups)
