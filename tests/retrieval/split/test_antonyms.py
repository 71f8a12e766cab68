"""Opposite words between a question and a sentence (``retrieval.split.antonyms``)."""

from __future__ import annotations

import pytest

from retrieval.split.antonyms import TABLE_PATH, opposed, table
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
