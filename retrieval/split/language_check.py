"""Does the corpus fit its language setting and the model? A cheap look at indexed sentences.

About 40% of the words of English prose are common English words ("the", "of", "was",
"said"); German or French text holds few of them. So the
share of :data:`~retrieval.split.language.ENGLISH_STOPWORDS` among a sample of a build's
sentences tells English from not English without a language-identification model (and nothing
here is imported when answering).

Two faces of one check (``misfit``): ``language_warning``, a paragraph for a build of the
corpus, and ``article_warning``, one short line for an article added on its own (``verbatim
index URL``, an article sent to the bot).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from embeddings import DEFAULT_MODEL
from retrieval.split.language import ENGLISH_STOPWORDS, Language

#: Share of English stopwords at or above which a sample is English. Measured with this list:
#: the seeds 0.40, SQuAD 2.0 dev 0.44 (its least English article 0.34); German news text
#: 0.03-0.06, French 0.02 (the texts of ``tests/retrieval/index/test_language.py``).
ENGLISH_SHARE = 0.15
#: Fewer words than this say nothing either way: no verdict.
MIN_SAMPLE_WORDS = 100
#: Words read from a build's sentences at most (the first ones: a check, not a census).
MAX_SAMPLE_WORDS = 20_000
#: Models trained on English only: a corpus in another language gets poor vectors from them.
ENGLISH_ONLY_MODELS = frozenset({DEFAULT_MODEL})
#: The model the warning suggests: sentence-transformers', trained on 50+ languages.
MULTILINGUAL_MODEL = "paraphrase-multilingual-MiniLM-L12-v2"
_LETTERS = re.compile(r"[^\W\d_]+")


def english_share(texts: Iterable[str]) -> tuple[float, int]:
    """Share of English stopwords among the words of ``texts`` and how many words were read."""
    words = stop = 0
    for text in texts:
        for match in _LETTERS.finditer(text):
            words += 1
            stop += match.group().lower() in ENGLISH_STOPWORDS
            if words >= MAX_SAMPLE_WORDS:
                return stop / words, words
    return (stop / words if words else 0.0), words


class Problem(Enum):
    """How a text, the language setting and the model fail to fit together."""

    #: Text that looks English, indexed as another language.
    LOOKS_ENGLISH = "looks_english"
    #: Text that does not look English, indexed as English.
    NOT_ENGLISH = "not_english"
    #: A language other than English with a model trained on English only.
    ENGLISH_ONLY_MODEL = "english_only_model"


@dataclass(frozen=True)
class Misfit:
    """What ``misfit`` found: the problem, and the share of English stopwords measured."""

    problem: Problem
    share: float
    english_only: bool


def misfit(model: str, language: Language, sample: Iterable[str]) -> Misfit | None:
    """The first problem of ``sample`` indexed as ``language`` with ``model``, or None.

    The text is judged only when it holds ``MIN_SAMPLE_WORDS`` words; the model always.
    """
    share, words = english_share(sample)
    judged = words >= MIN_SAMPLE_WORDS
    english_only = model in ENGLISH_ONLY_MODELS
    if judged and language.code != "en" and share >= ENGLISH_SHARE:
        return Misfit(Problem.LOOKS_ENGLISH, share, english_only)
    if judged and language.code == "en" and share < ENGLISH_SHARE:
        return Misfit(Problem.NOT_ENGLISH, share, english_only)
    if english_only and language.code != "en":
        return Misfit(Problem.ENGLISH_ONLY_MODEL, share, english_only)
    return None


def _measured(share: float) -> str:
    return (
        f"{share:.0%} of its words are common English words, where English text has over "
        f"{ENGLISH_SHARE:.0%}"
    )


def language_warning(model: str, language: Language, sample: Iterable[str]) -> str | None:
    """One paragraph when the corpus, the language setting and the model do not fit together.

    Told: an English-only model (the default) with a language other than English; a sample
    of sentences that does not look English indexed as English; one that looks English
    indexed as another language. None when all is well or the sample is too small to judge.
    """
    found = misfit(model, language, sample)
    if found is None:
        return None
    measured = _measured(found.share)
    if found.problem is Problem.LOOKS_ENGLISH:
        return (
            f"Warning: the corpus looks English ({measured}) but it is indexed as "
            f"{language.name.title()} (language {language.code!r}): its words are stemmed and "
            "their stopwords dropped by that language's rules, which miss English words. If "
            "it is English, set VERBATIM_LANGUAGE=en (or --language en) and run "
            "`verbatim index --rebuild`."
        )
    if found.problem is Problem.NOT_ENGLISH:
        set_language = (
            "set VERBATIM_LANGUAGE (or --language) to the corpus language's ISO 639-1 code "
            "(de, fr, es, ...)"
        )
        if found.english_only:
            what = f"English stems and stopwords, and the model {model}, trained on English only"
            fix = (
                f"{set_language} and choose a multilingual sentence-transformers model by name "
                f"or path, such as VERBATIM_MODEL={MULTILINGUAL_MODEL}"
            )
        else:
            what, fix = "English stems and stopwords", set_language
        return (
            f"Warning: the corpus does not look English ({measured}) but it is indexed as "
            f"English: {what}, so answers will be poor. To index it in its own language, "
            f"{fix}, then run `verbatim index --rebuild`."
        )
    return (
        f"Warning: the corpus language is {language.name.title()} (language "
        f"{language.code!r}) but the model {model} was trained on English only: its "
        f"vectors place {language.name.title()} sentences and questions poorly, so answers "
        "will be poor. Choose a multilingual sentence-transformers model by name or path, "
        f"such as VERBATIM_MODEL={MULTILINGUAL_MODEL} (or --model), then run "
        "`verbatim index --rebuild`."
    )


def article_warning(model: str, language: Language, sentences: Iterable[str]) -> str | None:
    """One short line when an article added on its own does not fit the index it joined.

    The same check as ``language_warning``, on the article's sentences; the line names the
    problem, not the fix (an article unlike the rest of the corpus calls for no rebuild; the
    paragraph of ``verbatim index`` says how to change the language or model).
    """
    found = misfit(model, language, sentences)
    if found is None:
        return None
    setting = f"{language.name.title()} ({language.code!r})"
    if found.problem is Problem.LOOKS_ENGLISH:
        return (
            f"Warning: this article looks English ({found.share:.0%} common English words) "
            f"but the index is {setting}, so answers from it will be poor."
        )
    if found.problem is Problem.NOT_ENGLISH:
        model_too = f" with the English-only model {model}" if found.english_only else ""
        return (
            f"Warning: this article does not look English ({found.share:.0%} common English "
            f"words, English text has over {ENGLISH_SHARE:.0%}) but the index is "
            f"English{model_too}, so answers from it will be poor."
        )
    return (
        f"Warning: the index is {setting} but its model {model} was trained on English only, "
        "so answers from this article will be poor."
    )
