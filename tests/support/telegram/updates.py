"""Builders for the JSON objects Telegram sends: users, chats, messages, entities.

Plain dicts in the Bot API's own shape, so what the bot parses is what Telegram would send.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

JSONDict = dict[str, Any]


@dataclass(frozen=True)
class User:
    """A Telegram user."""

    id: int
    first_name: str
    username: str | None = None
    is_bot: bool = False

    def to_dict(self) -> JSONDict:
        data: JSONDict = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        return data


def private_chat(user: User) -> JSONDict:
    return {"id": user.id, "type": "private", "first_name": user.first_name}


def group_chat(chat_id: int, title: str) -> JSONDict:
    """A supergroup (negative id, as Telegram gives them)."""
    return {"id": chat_id, "type": "supergroup", "title": title}


def channel_chat(chat_id: int, title: str) -> JSONDict:
    return {"id": chat_id, "type": "channel", "title": title}


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts (a lone surrogate counts one)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def inline_buttons(message: JSONDict) -> dict[str, str]:
    """The inline button labels under ``message`` (or in a call's params), mapped to their data."""
    markup = message.get("reply_markup") or {}
    return {
        button["text"]: button.get("callback_data", "")
        for row in markup.get("inline_keyboard", [])
        for button in row
    }


def mention_entity(text: str, mention: str) -> JSONDict:
    """The entity of the first ``mention`` (``@name``) in ``text``, offsets in UTF-16 units."""
    start = text.index(mention)
    return {"type": "mention", "offset": utf16_len(text[:start]), "length": utf16_len(mention)}


def command_entity(text: str) -> JSONDict:
    """The bot_command entity of a message starting with ``/command``."""
    command = text.split(maxsplit=1)[0]
    return {"type": "bot_command", "offset": 0, "length": utf16_len(command)}


def message(
    *,
    message_id: int,
    chat: JSONDict,
    sender: User | None,
    text: str | None = None,
    entities: list[JSONDict] | None = None,
    reply_to: JSONDict | None = None,
    **fields: Any,
) -> JSONDict:
    """A Message object; ``fields`` adds anything else (``sticker``, ``photo``, ...)."""
    data: JSONDict = {"message_id": message_id, "date": int(time.time()), "chat": chat}
    if sender is not None:
        data["from"] = sender.to_dict()
    if text is not None:
        data["text"] = text
        if entities is None and text.startswith("/"):
            entities = [command_entity(text)]
    if entities:
        data["entities"] = entities
    if reply_to is not None:
        data["reply_to_message"] = reply_to
    data.update(fields)
    return data


STICKER: JSONDict = {
    "file_id": "CAACAgIAAxkBAAEBstandin",
    "file_unique_id": "AgADstandin",
    "type": "regular",
    "width": 512,
    "height": 512,
    "is_animated": False,
    "is_video": False,
    "emoji": "😀",
}

PHOTO: list[JSONDict] = [
    {"file_id": "AgACAgIAAxkBAAEBphoto", "file_unique_id": "AQADphoto", "width": 90, "height": 90}
]
