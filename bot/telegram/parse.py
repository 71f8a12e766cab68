"""Reading questions out of messages: private text, group mentions and replies, /ask, inline;
and the links that are not questions but articles sent in.

Telegram sends JSON, and a lone surrogate escape (``"\\ud800"``) in it decodes to a ``str``
that cannot be encoded: not as UTF-8 (SQLite, logs) nor as UTF-16 (entity offsets). Every
question leaves this module with lone surrogates replaced by U+FFFD, and entity offsets are
read here without python-telegram-bot's strict UTF-16 encoding, so such text is answered like
any other.
"""

from __future__ import annotations

import re

from telegram import Message, MessageEntity
from telegram.constants import ChatType

REPLACEMENT = "\ufffd"
UTF16 = "utf-16-le"
_COMMAND = re.compile(r"^/\S*\s*", re.DOTALL)
#: A message that is only a link (an article sent in); a link among words is a question.
LINK_ONLY = re.compile(r"\A\s*(https?://\S+)\s*\Z", re.IGNORECASE)


def clean(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD (pairs become their character)."""
    return text.encode(UTF16, "surrogatepass").decode(UTF16, "replace")


def private_question(message: Message) -> str:
    return clean(message.text or "").strip()


def link_only(message: Message) -> str | None:
    """The link a message consists of, or None when it holds anything else besides."""
    found = LINK_ONLY.match(clean(message.text or ""))
    return found.group(1) if found else None


def command_question(message: Message) -> str:
    """The text after ``/ask``; with none, the text of the message ``/ask`` replies to."""
    question = _COMMAND.sub("", clean(message.text or ""), count=1).strip()
    if not question and message.reply_to_message is not None:
        question = clean(message.reply_to_message.text or "").strip()
    return question


def inline_question(query: str, max_chars: int) -> str:
    return clean(query).strip()[:max_chars]


def _units(text: str) -> bytes:
    return text.encode(UTF16, "surrogatepass")


def _span(units: bytes, entity: MessageEntity) -> tuple[int, int]:
    """An entity's ``[start, end)`` in UTF-16 units, clamped to the text."""
    size = len(units) // 2
    start = min(max(entity.offset, 0), size)
    return start, min(max(start + entity.length, start), size)


def _mentions_us(message: Message, bot_username: str, bot_id: int) -> list[tuple[int, int]]:
    """The spans (UTF-16 units) of the entities in ``message`` that mention the bot."""
    units = _units(message.text or "")
    ours = f"@{bot_username}".lower()
    spans = []
    for entity in message.entities:
        start, end = _span(units, entity)
        if entity.type == MessageEntity.MENTION:
            value = units[start * 2 : end * 2].decode(UTF16, "replace")
            if value.lower() == ours:
                spans.append((start, end))
        elif entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot_id:
            spans.append((start, end))
    return spans


def group_question(message: Message, bot_username: str, bot_id: int) -> str | None:
    """The question in a group message addressed to the bot, with the mention removed.

    Addressed means it mentions the bot or replies to one of its messages. Returns None
    for other chatter and ``""`` when the bot is addressed without a question.
    """
    replied = message.reply_to_message
    to_bot = (
        replied is not None and replied.from_user is not None and replied.from_user.id == bot_id
    )
    spans = _mentions_us(message, bot_username, bot_id)
    if not spans and not to_bot:
        return None
    return _cut_utf16(message.text or "", spans).strip()


def _cut_utf16(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` without the ``[start, end)`` spans, given in UTF-16 units as entities are."""
    units = _units(text)
    kept, position = [], 0
    for start, end in sorted(spans):
        kept.append(units[position * 2 : start * 2])
        position = max(position, end)
    kept.append(units[position * 2 :])
    return b"".join(kept).decode(UTF16, "replace")


def command_target(message: Message, bot_username: str) -> str | None:
    """The bot a ``/command`` message names: ``""`` for none (``/help``), else the username.

    None when the message does not start with a command entity.
    """
    entities = message.entities
    if not entities or entities[0].type != MessageEntity.BOT_COMMAND or entities[0].offset != 0:
        return None
    units = _units(message.text or "")
    _, end = _span(units, entities[0])
    command = units[: end * 2].decode(UTF16, "replace")
    _, _, target = command.partition("@")
    return target


def addressed_to_bot(message: Message, bot_username: str, bot_id: int) -> bool:
    """Whether a message expects an answer from the bot.

    Private messages do; in groups, a command that names no bot or this one, a mention of the
    bot, or a reply to one of its messages.
    """
    if message.chat.type == ChatType.PRIVATE:
        return True
    target = command_target(message, bot_username)
    if target is not None and target.lower() in ("", bot_username.lower()):
        return True
    return group_question(message, bot_username, bot_id) is not None
