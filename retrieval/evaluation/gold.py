"""What both question set loaders make and share: the ``Question``, its error, checked reading.

``questions`` (JSONL, CSV) and ``squad`` (SQuAD JSON) both import from here, so neither imports
the other at module level and the harness has no import cycle.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

from retrieval.errors import VerbatimError


class QuestionSetError(VerbatimError):
    """A question set file is missing, of an unknown format, or malformed."""


@dataclass(frozen=True)
class Question:
    """One question of a set, with what counts as a right answer.

    ``answers`` are gold strings, found in a quote as whole words after SQuAD's normalisation
    (``metrics.contains_answer``); empty means the question should be declined. ``sources``
    are ids of the documents that hold the answer (they may be empty when unknown; citation
    accuracy then skips the question).
    """

    id: str
    question: str
    answers: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def parse_json(text: str, where: str) -> Any:
    """``json.loads``, with what it cannot hold reported as a QuestionSetError about ``where``.

    A number past Python's digit limit raises a plain ValueError and deep nesting a
    RecursionError; neither is a syntax error the caller can quote, so both become a message
    here. Syntax errors (``json.JSONDecodeError``) pass through for the caller to word.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except ValueError as exc:
        limit = sys.get_int_max_str_digits()
        raise QuestionSetError(
            f"{where} holds a number too long to read (over {limit:,} digits); ids and answers "
            "are short strings."
        ) from exc
    except RecursionError as exc:
        raise QuestionSetError(
            f"{where} is nested too deeply to read; a question is a flat JSON object."
        ) from exc


def checked_text(value: str, key: str, where: str) -> str:
    """``value`` unchanged, or a QuestionSetError when it is not text (a lone surrogate).

    JSON's ``\\ud800`` escapes decode to such strings; they cannot be printed, stored or
    written to a report, so they are refused where the file can still be named.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise QuestionSetError(
            f"{where}: {key!r} holds a lone surrogate ({value[exc.start]!r} at character "
            f"{exc.start}), which is not text; fix that \\u escape in the file."
        ) from exc
    return value
