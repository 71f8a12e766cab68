"""Opposite words between a question and a sentence: "rise" asked where the text says "decline".

Near-miss questions often take the sentence that would answer them and turn one word into its
opposite ("When did the population rise?" of "...the population declined in 1950"). Dense
similarity and term coverage both rate such a sentence high. :func:`opposed` counts these
clashes, one of the ranker's features.

Only English has a table (``antonyms_en.txt``, WordNet's direct antonyms; made by
``python -m retrieval.learn.antonyms``); in other languages nothing is ever opposed.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from retrieval.split.language import WORD, Language

TABLE_PATH = Path(__file__).with_name("antonyms_en.txt")
#: Sentences whose word sets are remembered: a question's 40 scored ones, asked again in a
#: conversation (a few KiB each at most, and most sentences never need one: see ``opposed``).
CACHED_SENTENCES = 4_096
#: Questions whose opposites are remembered (each is asked of its 40 scored sentences).
CACHED_QUESTIONS = 1_024
#: Words never compared: articles, a few prepositions, question words and auxiliaries, whose
#: WordNet "opposites" (in/out, on/off, to/from) say nothing of a changed meaning.
IGNORED = frozenset(
    """
    a an the of in on at to for by with from and or is was were are be been what which who
    whom whose when where why how did do does that this these those it its as than
    """.split()  # noqa: SIM905 - a word list reads better as prose
)
#: English comparative and superlative endings (WordNet lists adjectives in their base form).
_DEGREE_ENDINGS = ("est", "er")
#: Last letters of a stem that its words may lack ("early" -> "earli", "dying" -> "die",
#: "possibility" -> "possibl").
_CHANGED_LAST = "iel"
#: Snowball English's exceptional forms whose stem is not in their text.
_YING = {"die": "dying", "lie": "lying", "tie": "tying"}


@lru_cache(maxsize=4)
def table(code: str) -> dict[str, frozenset[str]]:
    """Stem -> its opposites' stems, for the language ``code`` (empty where there is none)."""
    if code != "en":
        return {}
    opposites: dict[str, set[str]] = {}
    for line in TABLE_PATH.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        a, b = line.split()
        opposites.setdefault(a, set()).add(b)
        opposites.setdefault(b, set()).add(a)
    return {stem: frozenset(others) for stem, others in opposites.items()}


@lru_cache(maxsize=CACHED_SENTENCES)
def words(text: str, language: Language) -> frozenset[str]:
    """The stems of ``text``'s words, less the ``IGNORED`` ones; a comparative or superlative
    that the table lacks counts as its base word ("highest" as "high", "biggest" as "big")."""
    opposites = table(language.code)
    return frozenset(
        _base(w, language, opposites) for w in WORD.findall(text.lower()) if w not in IGNORED
    )


def _base(word: str, language: Language, opposites: dict[str, frozenset[str]]) -> str:
    stem = language.stem(word)
    if stem in opposites or not opposites:
        return stem
    for ending in _DEGREE_ENDINGS:
        if not word.endswith(ending) or len(word) <= len(ending) + 2:
            continue
        base = word[: -len(ending)]
        # earl(y)-i-est, high-est, larg(e)-est, big(g)-est
        for candidate in (
            base[:-1] + "y" if base.endswith("i") else "",
            base,
            base + "e",
            base[:-1] if base[-1] == base[-2] else "",
        ):
            if candidate and (found := language.stem(candidate)) in opposites:
                return found
    return stem


def opposed(question: str, sentence: str, language: Language) -> int:
    """How many of the question's words the sentence lacks while it holds one of their opposites
    (which the question does not hold itself: "rise and fall" opposes nothing)."""
    pairs, hints = _asked(question, language)
    if not pairs:
        return 0
    # most sentences hold none of the opposites: a substring test spares them the stemming
    lowered = sentence.lower()
    if not any(hint in lowered for hint in hints):
        return 0
    said = words(sentence, language)
    return sum(1 for word, others in pairs if word not in said and not others.isdisjoint(said))


@lru_cache(maxsize=CACHED_QUESTIONS)
def _asked(
    question: str, language: Language
) -> tuple[tuple[tuple[str, frozenset[str]], ...], tuple[str, ...]]:
    """The question's words that have opposites it does not hold itself, with those opposites;
    and what a sentence holding one of those opposites has in its lower-cased text (see
    :func:`_hints`)."""
    opposites = table(language.code)
    if not opposites:
        return (), ()
    asked = words(question, language)
    pairs = tuple(
        (word, others)
        for word in sorted(asked)
        if (others := frozenset(o for o in opposites.get(word, ()) if o not in asked))
    )
    return pairs, tuple(sorted({hint for _, others in pairs for o in others for hint in _hints(o)}))


def _hints(stem: str) -> tuple[str, ...]:
    """Text that any word of this stem holds: the stem itself, or less its last letter where
    the stemmer may have changed that letter ("earli" of "earlier", "possibl" of
    "possibility"), and Snowball's "-ying" exceptions whole ("dying" for "die").

    Checked against every word of SQuAD 2.0 dev, the seeds and WordNet's adjectives.
    """
    found = stem[:-1] if len(stem) > 1 and stem[-1] in _CHANGED_LAST else stem
    irregular = _YING.get(stem)
    return (found, irregular) if irregular else (found,)
