"""Finding a gold answer in a quote: whole words after SQuAD's normalisation."""

from __future__ import annotations

import json
import re
import string
import unicodedata
from pathlib import Path

import pytest

from retrieval.evaluation.matching import contains_answer, normalize

SQUAD_DEV = Path(__file__).resolve().parents[4] / "shared" / "data" / "squad-v2.0-dev.json"


@pytest.mark.parametrize(
    ("text", "answers", "expected"),
    [
        ("Said Lynn Maalouf, of Amnesty.", ["lynn maalouf"], True),
        ("Said Lynn\n  Maalouf, of Amnesty.", ["Lynn Maalouf"], True),
        ("Said LYNN MAALOUF.", ["Lynn  Maalouf "], True),
        ("Said Lynn Maalouf.", ["nobody", "Lynn"], True),
        ("Said Lynn Maalouf.", [], False),
        # whole words only
        ("It opened in 2017.", ["17"], False),
        ("It opened in 2017.", ["2017"], True),
        ("Said Lynn Maalouf.", ["Maaloufs"], False),
        ("Said Lynn Maalouf.", ["Maal"], False),
        ("Said Lynn Maalouf.", ["ynn Maalouf"], False),
        ("The mouths of the Rhine", ["Rhin"], False),
        ("In northwest Europe", ["west"], False),
        # punctuation goes, wherever it stands
        ("They climbed Eiffel tower, at dawn.", ["the Eiffel Tower"], True),
        ("They climbed Eiffel tower, at dawn.", ["Eiffel Tower."], True),
        ("Born in the U.S.A. in 1950", ["USA"], True),
        ("Born in the U.S.A. in 1950", ["U.S.A."], True),
        ("Troops left (in 1953).", ["1953"], True),
        # ... and breaks words: a possessive, a range, a compound
        ("Charles Darwin's theory", ["Charles Darwin"], True),
        ("Ronald Robinson (1920–1999) wrote", ["1999"], True),
        ("the well-known case", ["well known"], True),
        ("the well-known case", ["well-known"], True),
        ("the well-known case", ["wellknown"], True),
        ("a four-valve engine", ["four"], True),
        # ... but not inside a number
        ("More than 26,000 square kilometres", ["6,000 square kilometres"], False),
        ("More than 26,000 square kilometres", ["26,000 square kilometres"], True),
        ("It cost $1,500,000 then.", ["1500000"], True),
        ("It grew 2.5 times", ["5"], False),
        ("It grew 2.5 times", ["2.5"], True),
        # articles go as words, not inside words
        ("The Beatles played there.", ["Beatles"], True),
        ("A band of the Beatles", ["an band of a Beatles"], True),
        ("Theodore said so.", ["odore"], False),
        ("Theodore said so.", ["the odore"], False),
        # a gold answer of nothing but punctuation and articles never counts
        ("Said Lynn Maalouf.", ["", "  "], False),
        ("The end.", ["the"], False),
        ("A, an, the... It ends.", ["a", "...", "The !", "."], False),
        # unicode: lower case, typographic punctuation like ASCII, letters kept and not folded
        ("He praised their “grit and determination” and left", ["grit and determination"], True),
        ("Thoreau had advised, “Resign.”", ["Resign"], True),
        ("Tesla’s coil", ["Tesla"], True),
        ("ÉCOLE Normale Supérieure", ["école normale"], True),
        ("Москва — столица России", ["москва"], True),
        ("Москва — столица России", ["моск"], False),
        ("in São Paulo, Brazil", ["Sao Paulo"], False),
        ("Cafe\u0301 owner", ["cafe\u0301"], True),  # a combining accent is part of its word
        ("Cafe\u0301 owner", ["cafe"], False),
    ],
)
def test_contains_answer_matches_whole_words_after_squad_normalisation(
    text: str, answers: list[str], expected: bool
) -> None:
    assert contains_answer(text, answers) is expected


@pytest.mark.parametrize(
    ("text", "joined", "split"),
    [
        ("  The\tQuick \n\n Fox ", "quick fox", "quick fox"),
        ("An apple, a pear; the end!", "apple pear end", "apple pear end"),
        ("Theatre and another anthem", "theatre and another anthem", "theatre and another anthem"),
        ("U.S.-led (2003)", "usled 2003", "u s led 2003"),
        ("Darwin’s 1,500 finches", "darwins 1500 finches", "darwin s 1500 finches"),
        ("snake_case", "snakecase", "snake case"),
        ("", "", ""),
        ("The ... a", "", ""),
    ],
)
def test_normalize_reads_punctuation_joined_or_split(text: str, joined: str, split: str) -> None:
    assert normalize(text) == joined
    assert normalize(text, split=True) == split


def _squad_normalize_answer(s: str) -> str:
    """The official SQuAD v2.0 evaluation script's ``normalize_answer``, copied as it is."""

    def remove_articles(text: str) -> str:
        regex = re.compile(r"\b(a|an|the)\b", re.UNICODE)
        return re.sub(regex, " ", text)

    def white_space_fix(text: str) -> str:
        return " ".join(text.split())

    def remove_punc(text: str) -> str:
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    def lower(text: str) -> str:
        return text.lower()

    return white_space_fix(remove_articles(remove_punc(lower(s))))


def _ascii_punctuation_only(text: str) -> bool:
    return not any(ord(c) > 127 and unicodedata.category(c).startswith("P") for c in text)


def test_normalize_is_squads_script_on_squad_dev_text() -> None:
    """Differential: on every SQuAD dev question, answer and paragraph opening whose punctuation
    is ASCII, the joined reading is the official function; on the others, it is the official
    function after their Unicode punctuation is deleted."""
    if not SQUAD_DEV.exists():
        pytest.skip(f"{SQUAD_DEV} is not on this machine")
    data = json.loads(SQUAD_DEV.read_text(encoding="utf-8"))
    texts = [
        text
        for article in data["data"]
        for paragraph in article["paragraphs"]
        for text in (
            paragraph["context"][:300],
            *(qa["question"] for qa in paragraph["qas"]),
            *(answer["text"] for qa in paragraph["qas"] for answer in qa["answers"]),
        )
    ]
    ascii_only = [text for text in texts if _ascii_punctuation_only(text)]
    others = [text for text in texts if not _ascii_punctuation_only(text)]
    assert len(ascii_only) > 10_000 and others
    assert [normalize(t) for t in ascii_only] == [_squad_normalize_answer(t) for t in ascii_only]
    deleted = ["".join(c for c in t if not unicodedata.category(c).startswith("P")) for t in others]
    assert [normalize(t) for t in others] == [_squad_normalize_answer(t) for t in deleted]
