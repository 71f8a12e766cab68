"""parse.py: questions out of private messages, group mentions and replies, and /ask."""

from __future__ import annotations

import pytest
from telegram import Message

from bot.telegram.parse import addressed_to_bot, command_question, group_question
from tests.support.telegram.updates import User, group_chat, mention_entity, message, private_chat

BOT = User(42, "Verbatim", "verbatim_bot", is_bot=True)
ALICE = User(1, "Alice")
GROUP = group_chat(-100, "G")


def _message(
    text: str, *, mention: str | None = None, reply_to_bot: bool = False, chat: dict | None = None
) -> Message:
    entities = [mention_entity(text, mention)] if mention else None
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
