"""Whether a quote holds a gold answer: whole words, after SQuAD's answer normalisation.

The one definition every hit in the harness is counted with (``metrics.hit_rank``, the
follow-up harness, the benchmarks). A gold answer counts when its words are a contiguous run of
the quote's words, so "17" is not found in "2017" nor "Rhin" in "Rhine".

Words are read twice, and either reading counts:

- *joined*, as the SQuAD v2.0 evaluation script's ``normalize_answer`` does: lower case,
  punctuation deleted, the articles a/an/the deleted as words, whitespace collapsed. "U.S.A."
  holds "USA".
- *split*, the same but with punctuation read as a word break: "Darwin's theory" holds "Darwin"
  and "(1920–1999)" holds "1999", which the joined reading turns into "darwins" and
  "19201999". A decimal point or thousands separator between digits still goes, so "26,000"
  does not hold "6,000" and "2.5" does not hold "5".

Punctuation is ASCII punctuation (``string.punctuation``, what SQuAD's script deletes) and every
Unicode punctuation character (“ ” ’ – — …), so typographic quotes and dashes count like their
ASCII forms. Letters are not folded: "São" does not hold "Sao".
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Sequence
from functools import cache, lru_cache

#: Characters that may be punctuation; each is then checked by ``_is_punctuation`` (combining
#: marks match here too, and are kept).
_NOT_WORD = re.compile(r"[^\w\s]|_")
#: A decimal point or thousands separator: one number, not two words.
_IN_NUMBER = re.compile(r"(?<=\d)[.,](?=\d)")
#: The articles SQuAD's script deletes, as whole words (its own regular expression).
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
#: Texts kept normalised: more than the quotes of a SQuAD run (about 12k questions x 3) in both
#: readings, since the threshold trade-off scans them all once per threshold and a smaller LRU
#: would always miss.
NORMALIZED_CACHE_SIZE = 1 << 17


@cache
def _is_punctuation(char: str) -> bool:
    return char in string.punctuation or unicodedata.category(char).startswith("P")


def _deleted(match: re.Match[str]) -> str:
    return "" if _is_punctuation(match.group()) else match.group()


def _spaced(match: re.Match[str]) -> str:
    return " " if _is_punctuation(match.group()) else match.group()


@lru_cache(maxsize=NORMALIZED_CACHE_SIZE)
def normalize(text: str, *, split: bool = False) -> str:
    """``text`` as SQuAD's ``normalize_answer`` makes it, Unicode punctuation included.

    With ``split``, punctuation becomes a space instead of nothing (but inside a number, as in
    "2.5" and "1,500", it still goes). On text whose punctuation is all ASCII the default is
    exactly SQuAD's function.
    """
    lowered = text.lower()
    if split:
        without_punctuation = _NOT_WORD.sub(_spaced, _IN_NUMBER.sub("", lowered))
    else:
        without_punctuation = _NOT_WORD.sub(_deleted, lowered)
    return " ".join(_ARTICLES.sub(" ", without_punctuation).split())


def contains_answer(text: str, answers: Sequence[str]) -> bool:
    """Whether ``text`` holds one of ``answers`` as whole words, in either reading.

    "the Eiffel Tower" is in "Eiffel tower,"; "17" is not in "2017". A gold answer that
    normalises to nothing (only punctuation or articles) never counts.
    """
    for split in (False, True):
        # Spaces around both make ``in`` a match of whole words; the text is normalised once.
        haystack = f" {normalize(text, split=split)} "
        for answer in answers:
            needle = normalize(answer, split=split)
            if needle and f" {needle} " in haystack:
                return True
    return False
