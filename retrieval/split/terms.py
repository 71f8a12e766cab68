"""Terms: what each sentence and passage is indexed under.

Each sentence gets its stemmed content words plus the acronyms it spells out in capitals
("SDF"); a passage gets the union of its sentences' terms and its title's. The store keeps
them with every term's document frequency and the acronyms the articles define ("Syrian
Democratic Forces (SDF)"), so answering reads only the few rows it scores. A question's words
are stemmed with the same :func:`stem` and :data:`STOPWORDS` (``retrieval.search``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

import snowballstemmer

#: Words that say nothing of what a sentence or a question is about.
STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each
    few for from further had has have having he her here hers herself him himself his how
    i if in into is it its itself just me more most my myself no nor not now of off on
    once only or other our ours ourselves out over own same she should so some such than
    that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom whose why will
    with would you your yours yourself yourselves s t don didn doesn isn wasn weren aren
    won according tell name named many much kind type happen happened say said says did
    does done get got one whats
    """.split()  # noqa: SIM905 - a word list reads better as prose
)

_WORD = re.compile(r"\w+", re.UNICODE)
_STEMMER = snowballstemmer.stemmer("english")
#: "Syrian Democratic Forces (SDF)": a capitalised name and its acronym in brackets.
_DEFINITION = re.compile(r"((?:[A-Z][\w'’]*(?:-[A-Za-z][\w'’]*)*\s+){1,7})\(([A-Z]{2,8})\)")
#: Acronyms are kept in capitals among a sentence's terms (stems are lower case).
_ACRONYM = re.compile(r"\b[A-Z]{2,8}\b")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """The Snowball (Porter 2) stem of a lower-cased word."""
    return str(_STEMMER.stemWord(word))


def terms_of(text: str) -> set[str]:
    """Stemmed content words of ``text`` (stopwords and underscores dropped)."""
    return {stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS and w.strip("_")}


def sentence_terms(text: str) -> frozenset[str]:
    """What a sentence is indexed under: its stems and the acronyms it writes in capitals."""
    return frozenset(terms_of(text) | set(_ACRONYM.findall(text)))


def acronym_key(acronym: str) -> str:
    """How a question's term spells ``acronym`` ("SDF" -> "sdf")."""
    return stem(acronym.lower())


def acronyms(texts: Iterable[str]) -> dict[str, frozenset[str]]:
    """Acronyms the texts define, mapped to the stemmed words of their long names.

    Only definitions whose initials spell the acronym count ("Counter-Terrorism Service
    (CTS)"); the long name is the shortest run of capitalised words before the bracket that
    does.
    """
    found: dict[str, set[str]] = {}
    for text in texts:
        for match in _DEFINITION.finditer(text):
            words = match.group(1).split()
            acronym = match.group(2)
            if acronym.lower() in STOPWORDS:
                continue
            for first in range(len(words) - 1, -1, -1):
                name = words[first:]
                initials = "".join(p[0] for w in name for p in w.split("-") if p)
                if initials.upper() == acronym:
                    found.setdefault(acronym, set()).update(terms_of(" ".join(name)))
                    break
    return {acronym: frozenset(name) for acronym, name in found.items() if name}
