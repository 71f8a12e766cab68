"""The Bot API methods the stand-in implements, with Telegram's checks on what is sent.

A mixin of ``BotApiStandIn``: each ``_api_<method>`` takes the call's parameters and returns
its result, or raises ``ApiError`` with the status and description Telegram would give. They
are synchronous: they only touch the stand-in's state.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from tests.support.telegram import updates
from tests.support.telegram.telegram_html import HtmlError, telegram_html
from tests.support.telegram.updates import JSONDict, User

MAX_TEXT_LENGTH = 4096
#: Telegram's cloud Bot API lets bots download files up to 20 MB.
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
PARSE_ERROR = "Bad Request: can't parse entities: {reason}"


class ApiError(Exception):
    """A Bot API error reply."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status, self.description = status, description


@dataclass(frozen=True)
class StoredFile:
    """A file a user sent: what getFile tells of it, and its bytes."""

    file_id: str
    file_unique_id: str
    file_path: str
    name: str
    data: bytes
    stated_size: int

    def as_file(self) -> JSONDict:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.stated_size,
            "file_path": self.file_path,
        }


class BotApiMethods:
    """getMe, sendMessage, editMessageText, answerCallbackQuery, setWebhook, getFile, ..."""

    bot_user: User
    webhook: JSONDict | None
    messages: dict[tuple[int, int], JSONDict]
    _chats: dict[int, JSONDict]
    _answered_queries: set[str]
    _message_ids: dict[int, itertools.count[int]]
    files: dict[str, StoredFile]
    files_by_path: dict[str, StoredFile]

    def store_file(
        self, data: bytes, file_name: str | None, mime_type: str | None, *, file_size: int | None
    ) -> JSONDict:
        """Keep a file a user sends; returns its Document object (for the message)."""
        number = len(self.files) + 1
        suffix = PurePosixPath(file_name or "").suffix.lower()
        stored = StoredFile(
            file_id=f"BQACAgIAAxkBAAEBdoc{number}",
            file_unique_id=f"AgADdoc{number}",
            file_path=f"documents/file_{number}{suffix}",
            name=file_name or f"file_{number}",
            data=data,
            stated_size=len(data) if file_size is None else file_size,
        )
        self.files[stored.file_id] = stored
        self.files_by_path[stored.file_path] = stored
        document: JSONDict = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.stated_size,
        }
        if file_name is not None:
            document["file_name"] = file_name
        if mime_type is not None:
            document["mime_type"] = mime_type
        return document

    def _api_getFile(self, params: JSONDict) -> JSONDict:
        stored = self.files.get(str(params.get("file_id", "")))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if stored.stated_size > MAX_DOWNLOAD_BYTES:
            raise ApiError(400, "Bad Request: file is too big")
        return stored.as_file()

    def chat_message(
        self, sender: User | None, chat: JSONDict, text: str | None = None, **fields: Any
    ) -> JSONDict:
        """A new message in ``chat`` (stored, so the bot can reply to it); not yet sent."""
        self._chats[chat["id"]] = chat
        message_id = next(self._message_ids.setdefault(chat["id"], itertools.count(1)))
        message = updates.message(
            message_id=message_id, chat=chat, sender=sender, text=text, **fields
        )
        self.messages[(chat["id"], message_id)] = message
        return message

    def _api_getMe(self, params: JSONDict) -> JSONDict:
        return {
            **self.bot_user.to_dict(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
        }

    def _api_sendMessage(self, params: JSONDict) -> JSONDict:
        chat = self._chat(params["chat_id"])
        text = _checked_text(params)
        message = self.chat_message(self.bot_user, chat, text)
        _set_markup(message, params.get("reply_markup"))
        reply = params.get("reply_parameters") or {}
        if "message_id" in reply:
            replied = self.messages.get((chat["id"], reply["message_id"]))
            if replied is not None:
                message["reply_to_message"] = replied
        return message

    def _stored(self, params: JSONDict) -> JSONDict:
        key = (int(params["chat_id"]), int(params["message_id"]))
        if key not in self.messages:
            raise ApiError(400, "Bad Request: message to edit not found")
        return self.messages[key]

    def _api_editMessageText(self, params: JSONDict) -> JSONDict:
        message = self._stored(params)
        _checked_text(params)
        markup = params.get("reply_markup")
        if message.get("text") == params.get("text") and message.get("reply_markup") == markup:
            raise ApiError(400, "Bad Request: message is not modified")
        message["text"] = params.get("text")
        _set_markup(message, markup)
        return message

    def _api_editMessageReplyMarkup(self, params: JSONDict) -> JSONDict:
        message = self._stored(params)
        if message.get("reply_markup") == params.get("reply_markup"):
            raise ApiError(400, "Bad Request: message is not modified")
        _set_markup(message, params.get("reply_markup"))
        return message

    def _api_answerCallbackQuery(self, params: JSONDict) -> bool:
        query_id = params["callback_query_id"]
        if query_id in self._answered_queries:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired")
        self._answered_queries.add(query_id)
        return True

    def _api_answerInlineQuery(self, params: JSONDict) -> bool:
        for result in params.get("results") or []:
            _checked_text(result.get("input_message_content") or {}, key="message_text")
        return True

    def _api_sendChatAction(self, params: JSONDict) -> bool:
        self._chat(params["chat_id"])
        return True

    def _api_setMyCommands(self, params: JSONDict) -> bool:
        return True

    def _api_deleteWebhook(self, params: JSONDict) -> bool:
        self.webhook = None
        return True

    def _api_setWebhook(self, params: JSONDict) -> bool:
        self.webhook = {"url": params["url"], "secret_token": params.get("secret_token")}
        return True

    def _api_getWebhookInfo(self, params: JSONDict) -> JSONDict:
        url = self.webhook["url"] if self.webhook else ""
        return {"url": url, "has_custom_certificate": False, "pending_update_count": 0}

    def _api_close(self, params: JSONDict) -> bool:
        return True

    def _chat(self, chat_id: Any) -> JSONDict:
        try:
            return self._chats[int(chat_id)]
        except (KeyError, ValueError):
            raise ApiError(400, "Bad Request: chat not found") from None


def _set_markup(message: JSONDict, markup: Any) -> None:
    """Messages carry inline keyboards only (Telegram does not echo reply keyboards)."""
    if isinstance(markup, dict) and "inline_keyboard" in markup:
        message["reply_markup"] = markup
    else:
        message.pop("reply_markup", None)


def _checked_text(params: JSONDict, *, key: str = "text") -> str:
    """The message text, refused as Telegram refuses it: empty, unparseable or too long."""
    text = params.get(key) or ""
    visible = text
    if params.get("parse_mode") == "HTML":
        try:
            visible = telegram_html(text).visible
        except HtmlError as exc:
            raise ApiError(400, PARSE_ERROR.format(reason=exc)) from None
    if not visible.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    if updates.utf16_len(visible) > MAX_TEXT_LENGTH:
        raise ApiError(400, "Bad Request: message is too long")
    return str(text)
