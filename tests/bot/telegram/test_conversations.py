"""conversations.py: each chat's last answer, the answers behind its messages, expiry, bounds."""

from __future__ import annotations

import pytest

from bot.telegram.conversations import Conversations
from retrieval.types import PriorTurn

CHAT, OTHER_CHAT = 42, -100


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _turn(question: str) -> PriorTurn:
    return PriorTurn(question=question)


def test_the_last_answer_of_each_chat_is_its_context() -> None:
    chats = Conversations(60)
    assert chats.last(CHAT) is None
    chats.remember(CHAT, [2], _turn("first?"))
    chats.remember(CHAT, [4, 5], _turn("second?"))
    chats.remember(OTHER_CHAT, [2], _turn("elsewhere?"))
    assert chats.last(CHAT) == _turn("second?")
    assert chats.last(OTHER_CHAT) == _turn("elsewhere?")


def test_every_message_of_an_answer_leads_back_to_its_question() -> None:
    chats = Conversations(60)
    chats.remember(CHAT, [2], _turn("first?"))
    chats.remember(CHAT, [4, 5], _turn("second?"))
    assert chats.answered_by(CHAT, 2) == _turn("first?")
    assert chats.answered_by(CHAT, 5) == _turn("second?")
    assert chats.answered_by(CHAT, 3) is None  # the user's own message
    assert chats.answered_by(OTHER_CHAT, 2) is None  # message ids are per chat


def test_forget_clears_the_chat_only() -> None:
    chats = Conversations(60)
    chats.remember(CHAT, [2], _turn("first?"))
    chats.remember(OTHER_CHAT, [2], _turn("elsewhere?"))
    assert chats.forget(CHAT) is True
    assert chats.last(CHAT) is None and chats.answered_by(CHAT, 2) is None
    assert chats.forget(CHAT) is False
    assert chats.last(OTHER_CHAT) == _turn("elsewhere?")


def test_a_chat_forgets_after_the_ttl_from_its_last_answer() -> None:
    clock = Clock()
    chats = Conversations(60, clock=clock)
    chats.remember(CHAT, [2], _turn("first?"))
    clock.now = 50
    chats.remember(CHAT, [4], _turn("second?"))  # the chat is kept 60 s from here
    clock.now = 100
    assert chats.answered_by(CHAT, 2) == _turn("first?")
    clock.now = 110
    assert chats.last(CHAT) is None


def test_answers_and_chats_are_bounded() -> None:
    chats = Conversations(60, max_chats=2, answers_per_chat=2)
    for message in (1, 2, 3):
        chats.remember(CHAT, [message], _turn(f"q{message}?"))
    assert chats.answered_by(CHAT, 1) is None  # the oldest answer went first
    assert chats.answered_by(CHAT, 2) == _turn("q2?")
    chats.remember(OTHER_CHAT, [1], _turn("b?"))
    chats.remember(7, [1], _turn("c?"))
    assert chats.last(CHAT) is None  # the quietest chat went first
    assert chats.last(7) == _turn("c?")


def test_bad_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="answers_per_chat"):
        Conversations(60, answers_per_chat=0)
