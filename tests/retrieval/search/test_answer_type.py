"""Answer types: what a question asks for, and whether a sentence holds something new of it."""

from __future__ import annotations

import pytest

from retrieval.search.answer_type import AnswerType, expected_type, holds, question_words


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many people died in the attack?", AnswerType.NUMBER),
        ("What percentage of voters turned out?", AnswerType.NUMBER),
        ("When did the war end?", AnswerType.DATE),
        ("In what year was the treaty signed?", AnswerType.DATE),
        ("Who is Lynn Maalouf?", AnswerType.NAME),
        ("Where did the convoy stop?", AnswerType.PLACE),
        ("Which city hosted the talks?", AnswerType.PLACE),
        ("Which group claimed the attack?", AnswerType.ENTITY),
        ("Why did the talks fail?", None),
        ("", None),
    ],
)
def test_expected_type(question: str, kind: AnswerType | None) -> None:
    assert expected_type(question) is kind


@pytest.mark.parametrize(
    ("question", "sentence", "expected"),
    [
        # a count that the question does not already hold
        ("How many people died?", "At least 12 people died in the blast.", True),
        ("How many people died?", "Dozens of people died in the blast.", True),
        # dates are not counts
        ("How many people died?", "People died on June 6, 2017 in the blast.", False),
        # echoing the question's own number is not an answer
        ("How many of the 12 died?", "Of the 12, some died.", False),
        ("When did it end?", "It ended in 1945.", True),
        ("When did it end?", "It ended on Monday.", True),
        ("When did it end?", "It ended quietly.", False),
        # relative times answer "when" too, as news reports give them
        ("When was it blown up?", "ISIL blew up the mosque last week.", True),
        ("When did they meet?", "They met earlier this month.", True),
        ("When did they meet?", "They met two years ago.", True),
        ("When did it end in 1945?", "It ended in 1945.", False),
        ("Who leads the office?", "The office is led by Rupert Colville.", True),
        # a full name made of the question's words is an echo
        ("Who at Amnesty International spoke?", "Amnesty International spoke.", False),
        ("Who spoke?", "someone spoke in the hall.", False),
        ("Where did it stop?", "The convoy stopped near Aleppo on the road.", True),
        ("Where did the convoy stop?", "the convoy stopped.", False),
        ("Which group claimed it?", "It was claimed by the Islamic State group.", True),
    ],
)
def test_holds(question: str, sentence: str, expected: bool) -> None:
    kind = expected_type(question)
    assert kind is not None
    assert holds(sentence, kind, question_words(question)) is expected


def test_holds_is_the_same_when_asked_again() -> None:
    """Tokens are cached per sentence; the answer still depends on the question's words."""
    sentence = "The office is led by Rupert Colville."
    assert holds(sentence, AnswerType.NAME, question_words("Who leads the office?"))
    assert not holds(sentence, AnswerType.NAME, question_words("Who is Rupert Colville?"))
    assert holds(sentence, AnswerType.NAME, question_words("Who leads the office?"))
