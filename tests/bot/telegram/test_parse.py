"""parse.py: questions out of private messages, group mentions and replies, and /ask."""

from __future__ import annotations

import pytest
from telegram import Message

from bot.telegram.parse import (
    addressed_to_bot,
    command_question,
    group_question,
    link_only,
    private_question,
)
from tests.support.telegram.updates import User, group_chat, mention_entity, message, private_chat

BOT = User(42, "Verbatim", "verbatim_bot", is_bot=True)
ALICE = User(1, "Alice")
GROUP = group_chat(-100, "G")


def _message(
    text: str,
    *,
    mention: str | None = None,
    reply_to_bot: bool = False,
    chat: dict | None = None,
    entities: list[dict] | None = None,
) -> Message:
    if mention:
        entities = [mention_entity(text, mention)]
    replied = (
        message(message_id=1, chat=chat or GROUP, sender=BOT, text="an answer")
        if reply_to_bot
        else None
    )
    data = message(
        message_id=2,
        chat=chat or GROUP,
        sender=ALICE,
        text=text,
        entities=entities,
        reply_to=replied,
    )
    return Message.de_json(data, None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "mention", "reply", "question"),
    [
        ("@verbatim_bot who won?", "@verbatim_bot", False, "who won?"),
        ("who won, @Verbatim_Bot?", "@Verbatim_Bot", False, "who won, ?"),
        ("🇮🇶🔥 @verbatim_bot who won?", "@verbatim_bot", False, "🇮🇶🔥  who won?"),
        ("@verbatim_bot", "@verbatim_bot", False, ""),
        ("@other_bot who won?", "@other_bot", False, None),
        ("who won?", None, True, "who won?"),
        ("just chatting", None, False, None),
    ],
)
def test_group_question(text: str, mention: str | None, reply: bool, question: str | None) -> None:
    parsed = group_question(
        _message(text, mention=mention, reply_to_bot=reply), BOT.username or "", BOT.id
    )
    assert parsed == question


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("/ask who won?", "who won?"),
        ("/ask@verbatim_bot  who\nwon?", "who\nwon?"),
        ("/ask", ""),
        ("/ask   ", ""),
    ],
)
def test_command_question(text: str, question: str) -> None:
    assert command_question(_message(text)) == question


def test_bare_ask_replying_to_a_message_asks_its_text() -> None:
    asked = message(message_id=1, chat=GROUP, sender=ALICE, text="Who declared victory?")
    data = message(message_id=2, chat=GROUP, sender=ALICE, text="/ask", reply_to=asked)
    assert command_question(Message.de_json(data, None)) == "Who declared victory?"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("msg", "addressed"),
    [
        (_message("hello", chat=private_chat(ALICE)), True),
        (_message("/help"), True),
        (_message("@verbatim_bot hi", mention="@verbatim_bot"), True),
        (_message("hello all"), False),
    ],
)
def test_addressed_to_bot(msg: Message, addressed: bool) -> None:
    assert addressed_to_bot(msg, BOT.username or "", BOT.id) is addressed


# ---- defect 7: a lone surrogate (JSON "\ud800") must not break parsing ------------------------

SURROGATE = "\ud800"


@pytest.mark.parametrize(
    ("text", "mention", "reply", "question"),
    [
        (f"@verbatim_bot {SURROGATE} who won?", "@verbatim_bot", False, "\ufffd who won?"),
        (f"who {SURROGATE}won?", None, True, "who \ufffdwon?"),
        (f"just {SURROGATE} chatting", None, False, None),
        (f"@other_bot {SURROGATE}", "@other_bot", False, None),
    ],
)
def test_group_question_with_a_lone_surrogate(
    text: str, mention: str | None, reply: bool, question: str | None
) -> None:
    parsed = group_question(
        _message(text, mention=mention, reply_to_bot=reply), BOT.username or "", BOT.id
    )
    assert parsed == question


def test_private_and_command_questions_drop_lone_surrogates() -> None:
    private = _message(f"who {SURROGATE} won?", chat=private_chat(ALICE))
    assert private_question(private) == "who \ufffd won?"
    assert command_question(_message(f"/ask who {SURROGATE}won?")) == "who \ufffdwon?"


@pytest.mark.parametrize(
    ("msg", "addressed"),
    [
        (_message(f"/{SURROGATE} not a command", entities=[]), False),
        (_message("/start@other_bot"), False),
        (_message("/start@verbatim_bot"), True),
        (_message(f"@verbatim_bot {SURROGATE}", mention="@verbatim_bot"), True),
    ],
)
def test_addressed_to_bot_in_groups(msg: Message, addressed: bool) -> None:
    assert addressed_to_bot(msg, BOT.username or "", BOT.id) is addressed


@pytest.mark.parametrize(
    ("text", "link"),
    [
        ("https://example.org/news/ferry.html", "https://example.org/news/ferry.html"),
        ("  HTTP://Example.org/a?b=1#c \n", "HTTP://Example.org/a?b=1#c"),
        ("What does https://example.org/a say about Mosul?", None),
        ("https://example.org/a\nand a question", None),
        ("https://a.example/ https://b.example/", None),
        ("ftp://example.org/a.txt", None),
        ("example.org/a.html", None),
        ("https://", None),
        ("", None),
    ],
)
def test_a_message_that_is_only_a_link(text: str, link: str | None) -> None:
    """Only a link is an article sent in; a link among words stays part of a question."""
    assert link_only(_message(text, chat=private_chat(ALICE))) == link
