"""A readable record of a conversation with the bot, and Telegram's HTML rules.

``Transcript`` turns updates (what users did) and Bot API calls (what the bot did) into
lines such as ``👤 Alice (private): …`` and ``🤖 → private: …``. ``telegram_html`` checks
text the way Telegram's HTML parse mode does (supported tags only, balanced, ``<``, ``>``
and ``&`` escaped) and returns what the reader sees.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.testing.botapi_standin import BotApiStandIn, Request

SUPPORTED_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
    }
)
ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
USER_TEXT_SHOWN = 300
BOT_TEXT_SHOWN = 2000
QUOTE_MARK = "┃ "
_TOKEN = re.compile(r"<[^<>]*>|&[^;\s<>&]*;|[^<>&]+|[<>&]")
_TAG = re.compile(r"^<(/?)([a-z-]+)(\s[^>]*)?>$")
_HREF = re.compile(r"""href\s*=\s*"([^"]*)\"""")


class HtmlError(ValueError):
    """Text Telegram would refuse with "can't parse entities"."""


@dataclass
class Rendered:
    """What a reader sees of a message, and a display form with quotes and links marked."""

    visible: str
    display: str


def telegram_html(text: str) -> Rendered:
    """Check ``text`` as Telegram's HTML parse mode does; raises HtmlError if it would fail."""
    stack: list[tuple[str, str | None]] = []
    visible: list[str] = []
    display: list[str] = []
    for token in _TOKEN.findall(text):
        if token in "<>&":
            raise HtmlError(f"unescaped {token!r}")
        if token.startswith("<"):
            match = _TAG.match(token)
            if not match or match[2] not in SUPPORTED_TAGS:
                raise HtmlError(f"unsupported tag {token!r}")
            closing, name = bool(match[1]), match[2]
            if not closing:
                href = _HREF.search(match[3] or "")
                stack.append((name, html.unescape(href[1]) if href else None))
                display.append(f"\n{QUOTE_MARK}" if name == "blockquote" else "")
                continue
            if not stack or stack[-1][0] != name:
                raise HtmlError(f"unbalanced {token!r}")
            _, href_value = stack.pop()
            if name == "a" and href_value:
                display.append(f" <{href_value}>")
            continue
        if token.startswith("&"):
            name = token[1:-1]
            if name in ENTITIES:
                char = ENTITIES[name]
            elif re.fullmatch(r"#\d+|#x[0-9a-fA-F]+", name):
                char = html.unescape(token)
            else:
                raise HtmlError(f"unsupported entity {token!r}")
        else:
            char = token
        visible.append(char)
        in_quote = any(tag == "blockquote" for tag, _ in stack)
        display.append(char.replace("\n", "\n" + QUOTE_MARK) if in_quote else char)
    if stack:
        raise HtmlError(f"unclosed <{stack[-1][0]}>")
    return Rendered("".join(visible), re.sub(r"\n{3,}", "\n\n", "".join(display)).strip())


def _printable(text: str) -> str:
    """Control and invisible format characters spelled out, so the transcript stays text."""
    return "".join(
        char
        if char in "\n\t" or unicodedata.category(char) not in ("Cc", "Cf")
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

    def note(self, text: str) -> None:
        self.lines.append(f"   ⚠ {text}")

    def text(self) -> str:
        return "\n".join(self.lines).strip() + "\n"

    def user_update(self, update: dict[str, Any], api: BotApiStandIn) -> None:
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
            labels = {data: label for label, data in api.buttons(query["message"]).items()}
            label = labels.get(query.get("data"), f"(button data {query.get('data')!r})")
            self.lines.append(
                f"👤 {query['from']['first_name']} pressed “{label}” under "
                f"#{query['message']['message_id']}"
            )
        elif "inline_query" in update:
            query = update["inline_query"]
            who = query["from"]["first_name"]
            self.lines.append(f"👤 {who} (inline, any chat): @{api.username} {query['query']}")

    @staticmethod
    def _replying(message: dict[str, Any]) -> str:
        replied = message.get("reply_to_message")
        return f" (replying to #{replied['message_id']})" if replied else ""

    @staticmethod
    def _content(message: dict[str, Any]) -> str:
        if "text" in message:
            return message["text"] if message["text"] else "(empty text)"
        kinds = [k for k in ("sticker", "photo", "voice", "document", "location") if k in message]
        return f"[{kinds[0]}]" if kinds else "[message without text]"

    def bot_request(self, record: Request, api: BotApiStandIn) -> None:
        p = record.params
        method = record.method
        if method == "sendMessage":
            chat = api._chats.get(int(p["chat_id"]), {"type": "?", "id": p["chat_id"]})
            reply = (p.get("reply_parameters") or {}).get("message_id")
            quoting = f" ↩#{reply}" if reply else ""
            number = record.result.get("message_id") if isinstance(record.result, dict) else "?"
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
