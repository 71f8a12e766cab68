"""Reading questions out of messages: private text, group mentions and replies, /ask."""

from __future__ import annotations

import re

from telegram import Message, MessageEntity
from telegram.constants import ChatType

_COMMAND = re.compile(r"^/\S*\s*", re.DOTALL)


def private_question(message: Message) -> str:
    return (message.text or "").strip()


def command_question(message: Message) -> str:
    """The text after ``/ask``; with none, the text of the message ``/ask`` replies to."""
    question = _COMMAND.sub("", message.text or "", count=1).strip()
    if not question and message.reply_to_message is not None:
        question = (message.reply_to_message.text or "").strip()
    return question


def group_question(message: Message, bot_username: str, bot_id: int) -> str | None:
    """The question in a group message addressed to the bot, with the mention removed.

    Addressed means it mentions the bot or replies to one of its messages. Returns None
    for other chatter and ``""`` when the bot is addressed without a question.
    """
    text = message.text or ""
    replied = message.reply_to_message
    to_bot = (
        replied is not None and replied.from_user is not None and replied.from_user.id == bot_id
    )
    ours = f"@{bot_username}".lower()
    spans = [
        (entity.offset, entity.offset + entity.length)
        for entity, value in message.parse_entities(
            [MessageEntity.MENTION, MessageEntity.TEXT_MENTION]
        ).items()
        if (entity.type == MessageEntity.MENTION and value.lower() == ours)
        or (entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot_id)
    ]
    if not spans and not to_bot:
        return None
    return _cut_utf16(text, spans).strip()


def _cut_utf16(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` without the ``[start, end)`` spans, given in UTF-16 units as entities are."""
    units = text.encode("utf-16-le")
    kept, position = [], 0
    for start, end in sorted(spans):
        kept.append(units[position * 2 : start * 2])
        position = max(position, end)
    kept.append(units[position * 2 :])
    return b"".join(kept).decode("utf-16-le", errors="replace")


def addressed_to_bot(message: Message, bot_username: str, bot_id: int) -> bool:
    """Whether a message expects an answer from the bot (private, command, mention, reply)."""
    if message.chat.type == ChatType.PRIVATE:
        return True
    if (message.text or "").startswith("/"):
        return True
    return group_question(message, bot_username, bot_id) is not None
