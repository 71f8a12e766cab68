"""Telegram's HTML parse mode: which tags and entities it accepts, and what a reader sees.

``telegram_html`` checks text the way Telegram's HTML parse mode does (supported tags only,
balanced, ``<``, ``>`` and ``&`` escaped) and returns the visible text and a display form with
quotes and links marked, for transcripts.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

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
