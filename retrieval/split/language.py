"""The corpus language: how its words are stemmed, which are stopwords, how full text matches.

One :class:`Language` per index, recorded in its manifest (``retrieval.index.manifest``): the
sentence splitter, the terms every row is indexed under, the FTS5 tables and a question's
words all follow it, so answering stems a question in the language of the index it reads.

English keeps what Verbatim always did: its own stopword list and FTS5's Porter tokenizer over
the raw text. Other languages get their Snowball stemmer and the stopword list of the
``stop-words`` package, and FTS5 indexes the Snowball stems of each text (Porter is English
only, and FTS5 has no other stemmer), so a question's stems find "Kirchen" under "kirch".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import snowballstemmer

DEFAULT_LANGUAGE = "en"
#: Porter stemming plus Unicode folding: "declared" matches "declare", "Mosul" matches "mosul".
ENGLISH_FTS_TOKENIZER = "porter unicode61 remove_diacritics 2"
#: For other languages FTS5 indexes Snowball stems (see :meth:`Language.fts_text`): folding only.
STEMMED_FTS_TOKENIZER = "unicode61 remove_diacritics 2"
#: Stems remembered per language (a corpus's vocabulary; answering asks the same words again).
STEM_CACHE_WORDS = 200_000
#: A word: a run of letters and digits. An underscore separates words ("fighters_on_duty" is
#: three), as in the full-text index, whose unicode61 tokenizer reads it as punctuation, and as
#: in a question, where it is markdown: a sentence's terms, a question's words and the words
#: compared between them (pairs, opposites, follow-ups) all come from this one pattern.
WORD = re.compile(r"[^\W_]+")

#: The languages Verbatim indexes: ISO 639-1 code -> the name of its Snowball stemmer, which is
#: also the name of its list in the ``stop-words`` package. Those two have all of these;
#: sentencex splits any language (its own rules where it has them, else a fallback chain that
#: ends with English rules).
SNOWBALL_NAMES = {
    "ar": "arabic",
    "ca": "catalan",
    "cs": "czech",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "es": "spanish",
    "fa": "persian",
    "fi": "finnish",
    "fr": "french",
    "hi": "hindi",
    "hu": "hungarian",
    "id": "indonesian",
    "it": "italian",
    "nb": "norwegian",
    "nl": "dutch",
    "pl": "polish",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sv": "swedish",
    "tr": "turkish",
}

#: English words that say nothing of what a sentence or a question is about (Verbatim's own
#: list, tuned on English questions: "tell", "name", "happen" are stopwords here).
ENGLISH_STOPWORDS = frozenset(
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


class LanguageError(ValueError):
    """A language code Verbatim cannot index in (the message lists the ones it can)."""


def supported_languages() -> str:
    """The codes Verbatim indexes in, for messages: "ar (arabic), ca (catalan), ..."."""
    return ", ".join(f"{code} ({name})" for code, name in sorted(SNOWBALL_NAMES.items()))


def check_code(code: str) -> str:
    """``code`` lower-cased when Verbatim supports it; LanguageError listing them otherwise."""
    normal = code.strip().lower() if isinstance(code, str) else ""
    if normal not in SNOWBALL_NAMES:
        msg = (
            f"the language {str(code)[:40]!r} is not supported; use an ISO 639-1 code for "
            f"which a Snowball stemmer and a stopword list exist: {supported_languages()}"
        )
        raise LanguageError(msg)
    return normal


@dataclass(frozen=True)
class Language:
    """What indexing and answering need to know of the corpus language."""

    #: ISO 639-1 code ("en", "de"): the manifest's ``language`` and sentencex's language.
    code: str
    #: The Snowball stemmer's name ("german").
    name: str
    stopwords: frozenset[str]
    #: The FTS5 ``tokenize`` argument of the store's full-text tables.
    fts_tokenizer: str
    #: The Snowball stem of a lower-cased word (cached).
    stem: Callable[[str], str] = field(compare=False, repr=False)

    @property
    def stems_in_fts(self) -> bool:
        """Whether FTS5 holds this project's stems (other languages) or raw text (English)."""
        return self.fts_tokenizer == STEMMED_FTS_TOKENIZER

    def fts_text(self, text: str) -> str:
        """What the full-text tables hold of ``text``: the text itself for English (FTS5's
        Porter tokenizer stems it), else the Snowball stems of its words in order."""
        if not self.stems_in_fts:
            return text
        return " ".join(self.stem(w) for w in WORD.findall(text.lower()))

    def fts_terms(self, words: Iterable[str]) -> list[str]:
        """A question's words as the full-text tables hold them (see :meth:`fts_text`)."""
        return [self.fts_text(w) for w in words]


def _cached_stemmer(name: str) -> Callable[[str], str]:
    stemmer = snowballstemmer.stemmer(name)

    @lru_cache(maxsize=STEM_CACHE_WORDS)
    def stem(word: str) -> str:
        return str(stemmer.stemWord(word))

    return stem


def _stopwords(name: str) -> frozenset[str]:
    # imported here: English, the default and the answering path of most indexes, needs none
    from stop_words import get_stop_words

    return frozenset(w.lower() for w in get_stop_words(name))


#: English as Verbatim always indexed it.
ENGLISH = Language(
    code="en",
    name="english",
    stopwords=ENGLISH_STOPWORDS,
    fts_tokenizer=ENGLISH_FTS_TOKENIZER,
    stem=_cached_stemmer("english"),
)


@lru_cache(maxsize=len(SNOWBALL_NAMES))
def language_of(code: str) -> Language:
    """The :class:`Language` of an ISO 639-1 code; LanguageError for one not supported."""
    normal = check_code(code)
    if normal == ENGLISH.code:
        return ENGLISH
    name = SNOWBALL_NAMES[normal]
    return Language(
        code=normal,
        name=name,
        stopwords=_stopwords(name),
        fts_tokenizer=STEMMED_FTS_TOKENIZER,
        stem=_cached_stemmer(name),
    )
