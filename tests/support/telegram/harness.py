"""What the bot's tests and benchmarks share: people, chats, readers of replies, a running bot.

Tests run with ``--import-mode=importlib``, so shared helpers live in this importable package
rather than beside the tests.
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from telegram.ext import Application

from bot.settings import Settings
from bot.telegram.services import Services
from tests.support.telegram.botapi_standin import Request
from tests.support.telegram.updates import User, channel_chat, group_chat

REPO = Path(__file__).resolve().parents[3]
SEEDS_DIR = REPO / "seeds"

ALICE = User(987_654_321, "Alice", "alice")
BOB = User(123_456_789, "Bob", "bob")
ADMIN = User(555_000_111, "Ada", "ada_admin")
GROUP = group_chat(-100_200_300, "Mosul readers")
CHANNEL = channel_chat(-100_999_888, "News channel")

SEED_QUESTION = "What did Amnesty say about Mosul?"
OFF_TOPIC_QUESTION = "What is the best recipe for sourdough bread?"

_BLOCKQUOTE = re.compile(r"<blockquote[^>]*>(.*?)</blockquote>", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_CITATION = re.compile(r"^\[(\d+)\] (.+)$", re.MULTILINE)


def quotes_in(html_text: str) -> list[str]:
    """The text of each blockquote in an HTML message, as the reader sees it."""
    return [html.unescape(_TAG.sub("", body)) for body in _BLOCKQUOTE.findall(html_text)]


def visible(html_text: str) -> str:
    return html.unescape(_TAG.sub("", html_text))


def seed_texts() -> dict[str, str]:
    """The seed articles as they are on disk, by document id (file name)."""
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(SEEDS_DIR.glob("*.txt"))}


def cited_titles(shown: str) -> dict[int, str]:
    """The numbered citations in a reply's visible text: ``{1: "line after [1] "}``."""
    return {int(n): line for n, line in _CITATION.findall(shown)}


def assert_quoted_and_cited(shown_html: str, titles: set[str], *, first: int = 1) -> list[str]:
    """A reply's properties, whatever the ranking: quotes copied exactly from the articles,
    numbered citations from ``first`` on, one per quote, each naming an article's title."""
    quotes = quotes_in(shown_html)
    assert quotes, "no quotes"
    texts = seed_texts().values()
    for quote in quotes:
        assert any(quote in text for text in texts), quote
    cited = cited_titles(visible(shown_html))
    assert sorted(cited) == list(range(first, first + len(quotes))), cited
    for line in cited.values():
        assert any(line.startswith(title) for title in titles), line
    return quotes


def text_of(request: Request) -> str:
    return str(request.params.get("text", ""))


@dataclass
class RunningBot:
    """A bot serving updates from the stand-in until the test ends."""

    app: Application
    services: Services
    settings: Settings
    stop: asyncio.Event
    task: asyncio.Task[None]


BotFactory = Callable[..., Awaitable[RunningBot]]
