"""Terms: what each sentence and passage is indexed under.

Each sentence gets its stemmed content words plus the acronyms it spells out in capitals
("SDF"); a passage gets the union of its sentences' terms and its title's. The store keeps
them with every term's document frequency and the acronyms the articles define ("Syrian
Democratic Forces (SDF)"), so answering reads only the few rows it scores. A question's words
are stemmed with the same language's stemmer and stopwords (``retrieval.split.language``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from retrieval.split.language import ENGLISH, WORD, Language

#: English stopwords (``language.ENGLISH_STOPWORDS``), for the modules that stay English-only.
STOPWORDS = ENGLISH.stopwords

#: "Syrian Democratic Forces (SDF)": a capitalised name and its acronym in brackets.
_DEFINITION = re.compile(r"((?:[A-Z][\w'’]*(?:-[A-Za-z][\w'’]*)*\s+){1,7})\(([A-Z]{2,8})\)")
#: Acronyms are kept in capitals among a sentence's terms (stems are lower case).
_ACRONYM = re.compile(r"\b[A-Z]{2,8}\b")


#: The English Snowball (Porter 2) stem of a lower-cased word, for the English-only modules.
stem = ENGLISH.stem


def terms_of(text: str, language: Language = ENGLISH) -> set[str]:
    """Stemmed content words of ``text`` (stopwords dropped; see ``language.WORD``)."""
    stopwords, stem_word = language.stopwords, language.stem
    return {stem_word(w) for w in WORD.findall(text.lower()) if w not in stopwords}


def sentence_terms(text: str, language: Language = ENGLISH) -> frozenset[str]:
    """What a sentence is indexed under: its stems and the acronyms it writes in capitals."""
    return frozenset(terms_of(text, language) | set(_ACRONYM.findall(text)))


def acronym_key(acronym: str, language: Language = ENGLISH) -> str:
    """How a question's term spells ``acronym`` ("SDF" -> "sdf")."""
    return language.stem(acronym.lower())


def acronyms(texts: Iterable[str], language: Language = ENGLISH) -> dict[str, frozenset[str]]:
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
            if acronym.lower() in language.stopwords:
                continue
            for first in range(len(words) - 1, -1, -1):
                name = words[first:]
                initials = "".join(p[0] for w in name for p in w.split("-") if p)
                if initials.upper() == acronym:
                    found.setdefault(acronym, set()).update(terms_of(" ".join(name), language))
                    break
    return {acronym: frozenset(name) for acronym, name in found.items() if name}
