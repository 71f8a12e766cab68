"""Opposite words between a question and a sentence (``retrieval.split.antonyms``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.split.antonyms import TABLE_PATH, _hints, opposed, table, words
from retrieval.split.language import ENGLISH, language_of


@pytest.mark.parametrize(
    ("question", "sentence", "expected"),
    [
        # a question word turned into its opposite
        ("When did the population increase?", "The population decreased in 1950.", 1),
        ("What was the last class held there?", "The first class was held in 1900.", 1),
        ("Which city has the highest rents?", "Rents are lowest in Leeds.", 1),
        # comparatives and superlatives count as their base word
        ("Which is the largest lake?", "Loch Ness is the smallest lake.", 1),
        ("Who arrived earlier?", "Ann arrived later than Bob.", 1),
        # the sentence says the question's own word: nothing is opposed
        ("When did the population increase?", "The population increased in 1950.", 0),
        ("Did sales rise or fall?", "Sales fell in May.", 0),
        # its own word and the opposite both in the sentence
        ("When did it rise?", "It rose and then fell.", 0),
        # ignored words: "in" against "out" says nothing
        ("What is in the box?", "Nothing came out of the box.", 0),
        # two opposites count twice
        ("Who won the first game?", "They lost the last game.", 2),
    ],
)
def test_opposed_counts_question_words_turned_into_their_opposite(
    question: str, sentence: str, expected: int
) -> None:
    assert opposed(question, sentence, ENGLISH) == expected


def test_other_languages_oppose_nothing() -> None:
    german = language_of("de")
    assert table("de") == {}
    assert opposed("Wann stieg die Zahl?", "Die Zahl sank 1950.", german) == 0


def test_the_table_is_symmetric_and_carries_wordnets_notice() -> None:
    opposites = table("en")
    assert len(opposites) > 4000
    assert all(word in opposites[other] for word, others in opposites.items() for other in others)
    head = TABLE_PATH.read_text(encoding="utf-8").split("\n", 40)[:40]
    assert any("WordNet 3.0 Copyright 2006 by Princeton University" in line for line in head)


def _plain_opposed(question: str, sentence: str) -> int:
    """The definition, without the substring shortcut."""
    opposites = table("en")
    asked, said = words(question, ENGLISH), words(sentence, ENGLISH)
    return sum(
        1
        for word in asked - said
        if any(other in said and other not in asked for other in opposites.get(word, ()))
    )


def test_the_shortcut_counts_as_the_definition_over_the_seeds() -> None:
    import json
    import re

    root = Path(__file__).resolve().parents[3]
    questions = [
        json.loads(line)["question"]
        for line in (root / "tests" / "data" / "seeds_questions.jsonl").read_text().splitlines()
        if line.strip()
    ]
    questions += ["Who died first?", "Which sentence is the least likely?", "What was unlikely?"]
    sentences = [
        s
        for path in sorted((root / "seeds").iterdir())
        if path.is_file()
        for s in re.split(r"(?<=[.!?])\s+|\n+", path.read_text(encoding="utf-8"))
    ]
    counted = [(opposed(q, s, ENGLISH), _plain_opposed(q, s)) for q in questions for s in sentences]
    assert all(fast == plain for fast, plain in counted)
    assert sum(1 for fast, _ in counted if fast) > 20  # the seeds do hold opposites


@pytest.mark.parametrize(
    "word", ["dying", "lying", "earliest", "possibility", "visibility", "biggest", "larger"]
)
def test_a_word_of_an_opposite_holds_its_hint(word: str) -> None:
    stem = words(word, ENGLISH)
    assert len(stem) == 1
    (found,) = stem
    assert found in table("en")
    assert any(hint in word for hint in _hints(found))
