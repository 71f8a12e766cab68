"""Reading a question's kind from its wording."""

from __future__ import annotations

import pytest

from retrieval.evaluation.question_type import QUESTION_TYPES, question_type


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Who is Lynn Maalouf?", "who"),
        ("To whom did he write?", "who"),
        ("Whose army won?", "who"),
        ("WHO WON?", "who"),
        ("When did the war end?", "when"),
        ("In what year did the war end?", "when"),
        ("Which century saw it built?", "when"),
        ("What date was it signed on?", "when"),
        ("How many people died?", "how many"),
        ("How much did it cost?", "how many"),
        ("The treaty cost how much?", "how many"),
        ("Where is the Eiffel Tower?", "where"),
        ("What is the capital of France?", "what"),
        ("Which army won?", "what"),
        ("What yearly event is held there?", "what"),  # "yearly" is not "year"
        ("Why did they leave?", "why"),
        ("How did they leave?", "other"),
        ("How long did it last?", "other"),
        ("Name the river.", "other"),
        ("", "other"),
        # the first question word decides, wherever it stands
        ("The Normans were in what country?", "what"),
        ("Who ruled when the war began?", "who"),
        ("When did the man who founded it die?", "when"),
        ("Somewhere, anywhere: whatever?", "other"),  # question words inside words don't count
    ],
)
def test_question_type(question: str, expected: str) -> None:
    assert question_type(question) == expected
    assert expected in QUESTION_TYPES
