"""A readable record of a conversation with the bot.

``Transcript`` turns updates (what users did) and Bot API calls (what the bot did) into
lines such as ``👤 Alice (private): …`` and ``🤖 → private: …``. It is given plain values
(the bot's username, the chat a call went to), so it depends on no server.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

from tests.support.telegram.telegram_html import HtmlError, telegram_html
from tests.support.telegram.updates import inline_buttons

USER_TEXT_SHOWN = 300
BOT_TEXT_SHOWN = 2000


def _printable(text: str) -> str:
    """Control, format and lone surrogate characters spelled out, so the transcript stays text
    (and can be written as UTF-8)."""
    return "".join(
        char
        if char in "\n\t" or unicodedata.category(char) not in ("Cc", "Cf", "Cs")
        else ascii(char)[1:-1]
        for char in text
    )


def _clip(text: str, limit: int) -> str:
    text = _printable(text)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def _chat(chat: dict[str, Any]) -> str:
    kind = chat.get("type")
    return "private" if kind == "private" else f"{kind} “{chat.get('title', chat.get('id'))}”"


def _indent(text: str) -> str:
    return text.replace("\n", "\n    ")


@dataclass
class Transcript:
    """Lines of a conversation, grouped in titled sections."""

    lines: list[str] = field(default_factory=list)
    show_setup: bool = False  # setMyCommands and the like, the same in every conversation

    def section(self, title: str) -> None:
        self.lines.append(f"\n### {title}\n")

    def note(self, text: str, *, mark: str = "⚠") -> None:
        """A line that is neither user nor bot: a fault the stand-in played, a figure measured."""
        self.lines.append(f"   {mark} {text}")

    def text(self) -> str:
        return "\n".join(self.lines).strip() + "\n"

    def user_update(self, update: dict[str, Any], bot_username: str) -> None:
        if "message" in update or "edited_message" in update:
            edited = "edited_message" in update
            message = update.get("message") or update["edited_message"]
            who = message.get("from", {}).get("first_name", "?")
            self.lines.append(
                f"👤 {who} ({_chat(message['chat'])}) #{message['message_id']}"
                f"{' edited' if edited else ''}"
                f"{self._replying(message)}: {_clip(self._content(message), USER_TEXT_SHOWN)}"
            )
        elif "channel_post" in update:
            post = update["channel_post"]
            self.lines.append(
                f"📢 {_chat(post['chat'])}: {_clip(post.get('text', ''), USER_TEXT_SHOWN)}"
            )
        elif "callback_query" in update:
            query = update["callback_query"]
            labels = {data: label for label, data in inline_buttons(query["message"]).items()}
            label = labels.get(query.get("data"), f"(button data {query.get('data')!r})")
            self.lines.append(
                f"👤 {query['from']['first_name']} pressed “{label}” under "
                f"#{query['message']['message_id']}"
            )
        elif "inline_query" in update:
            query = update["inline_query"]
            who = query["from"]["first_name"]
            asked = _clip(query["query"], USER_TEXT_SHOWN)
            self.lines.append(f"👤 {who} (inline, any chat): @{bot_username} {asked}")

    @staticmethod
    def _replying(message: dict[str, Any]) -> str:
        replied = message.get("reply_to_message")
        return f" (replying to #{replied['message_id']})" if replied else ""

    def download(self, name: str, size: int) -> None:
        """The bot downloaded a file a user sent."""
        self.lines.append(f"🤖 ⤓ downloads {name} ({size:,} bytes)")

    @staticmethod
    def _content(message: dict[str, Any]) -> str:
        if "text" in message:
            return message["text"] if message["text"] else "(empty text)"
        if "document" in message:
            document = message["document"]
            kind = document.get("mime_type", "no type")
            size = document.get("file_size")
            stated = f", {size:,} bytes" if isinstance(size, int) else ""
            return f"[file {document.get('file_name', '(no name)')}, {kind}{stated}]"
        kinds = [k for k in ("sticker", "photo", "voice", "document", "location") if k in message]
        return f"[{kinds[0]}]" if kinds else "[message without text]"

    def bot_request(
        self, method: str, params: dict[str, Any], result: Any, chat: dict[str, Any] | None
    ) -> None:
        """A call the bot made that took effect; ``chat`` is the chat it went to, if known."""
        p = params
        if method == "sendMessage":
            chat = chat or {"type": "?", "id": p["chat_id"]}
            reply = (p.get("reply_parameters") or {}).get("message_id")
            quoting = f" ↩#{reply}" if reply else ""
            number = result.get("message_id") if isinstance(result, dict) else "?"
            self.lines.append(
                f"🤖 → {_chat(chat)} #{number}{quoting}: {self._shown(p)}{self._buttons(p)}"
            )
        elif method == "editMessageText":
            self.lines.append(f"🤖 ✎ #{p.get('message_id')}: {self._shown(p)}{self._buttons(p)}")
        elif method == "editMessageReplyMarkup":
            self.lines.append(
                f"🤖 ✎ buttons of #{p.get('message_id')}:{self._buttons(p) or ' none'}"
            )
        elif method == "answerCallbackQuery":
            text = f": “{p['text']}”" if p.get("text") else ""
            alert = " (alert)" if p.get("show_alert") else ""
            self.lines.append(f"🤖 ↳ button answered{text}{alert}")
        elif method == "answerInlineQuery":
            results = p.get("results") or []
            lines = [f"🤖 ↳ {len(results)} inline results"]
            for result in results:
                inserted = result.get("input_message_content", {}).get("message_text", "")
                shown = self._render(
                    inserted, result.get("input_message_content", {}).get("parse_mode")
                )
                lines.append(
                    f"    • {result.get('title')}\n      inserts: {_indent(_indent(shown))}"
                )
            if p.get("button"):
                lines.append(f"    [button: {p['button'].get('text')}]")
            self.lines.append("\n".join(lines))
        elif method == "sendChatAction":
            self.lines.append(f"🤖 … {p.get('action')}")
        elif method == "setMyCommands" and self.show_setup:
            names = " ".join(f"/{c['command']}" for c in p.get("commands", []))
            scope = p.get("scope", {}).get("type", "default")
            self.lines.append(f"🤖 setMyCommands ({scope}): {names}")
        elif method == "setWebhook":
            secret = "with" if p.get("secret_token") else "WITHOUT"
            self.lines.append(f"🤖 setWebhook {p.get('url')} ({secret} a secret token)")

    @classmethod
    def _shown(cls, params: dict[str, Any]) -> str:
        return _indent(
            _clip(cls._render(params.get("text", ""), params.get("parse_mode")), BOT_TEXT_SHOWN)
        )

    @staticmethod
    def _render(text: str, parse_mode: str | None) -> str:
        if parse_mode != "HTML":
            return text
        try:
            return telegram_html(text).display
        except HtmlError as exc:
            return f"(unparseable HTML: {exc}) {text}"

    @staticmethod
    def _buttons(params: dict[str, Any]) -> str:
        markup = params.get("reply_markup") or {}
        rows = markup.get("inline_keyboard") or [
            [{"text": b["text"]} for b in row] for row in markup.get("keyboard", [])
        ]
        if not rows:
            return ""
        return "\n    " + "  ".join(f"[{b['text']}]" for row in rows for b in row)
