"""The kind of a question read from its wording: who, when, how many, where, what, why, other.

The report breaks hit@1 down by these kinds, so a ranking change that helps dates and hurts
names shows. The kind is read from the words alone, never from what the engine does with the
question, so it means the same for every retriever and every version of the ranking.
"""

from __future__ import annotations

import re
from typing import Literal

QuestionType = Literal["who", "when", "how many", "where", "what", "why", "other"]
#: Every kind, in the order the report lists them.
QUESTION_TYPES: tuple[QuestionType, ...] = (
    "who",
    "when",
    "how many",
    "where",
    "what",
    "why",
    "other",
)
#: Question words and the kind each asks for ("how" alone asks for a manner, a length, an age...).
_WH_WORDS: dict[str, QuestionType] = {
    "who": "who",
    "whom": "who",
    "whose": "who",
    "when": "when",
    "where": "where",
    "why": "why",
    "what": "what",
    "which": "what",
    "how": "other",
}
#: Words after "how" that ask for a quantity.
_QUANTITY = frozenset({"many", "much"})
#: Nouns after "what"/"which" that ask for a time: "In what year...?" is a "when" question.
_TIME_NOUNS = frozenset({"year", "years", "date", "day", "month", "century", "decade", "era"})
_WORD = re.compile(r"[^\W_]+")


def question_type(question: str) -> QuestionType:
    """The kind of ``question``, decided by its first question word.

    The first one decides because SQuAD-style questions often put it mid-sentence ("The
    Normans were in what country?") and a later one belongs to a clause ("Who ruled when the
    war began?" asks for a person). "how many"/"how much" is a count; "what year" (and the
    other ``_TIME_NOUNS``) a time; a question with no question word is "other".
    """
    words = [word.lower() for word in _WORD.findall(question)]
    for position, word in enumerate(words):
        kind = _WH_WORDS.get(word)
        if kind is None:
            continue
        following = words[position + 1] if position + 1 < len(words) else ""
        if word == "how" and following in _QUANTITY:
            return "how many"
        if kind == "what" and following in _TIME_NOUNS:
            return "when"
        return kind
    return "other"
