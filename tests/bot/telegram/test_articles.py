"""End to end: articles sent in chat, a link or a file, added to the corpus and answered from.

The real bot over HTTP against the Bot API stand-in; pages are fetched over real HTTP from a
web server on 127.0.0.1 (so the bots here allow private addresses, as an operator may). Each
test has a corpus of its own (adding writes to it), indexed with the real model.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.telegram import app, render
from bot.telegram.articles import ADD_THREAD
from bot.telegram.services import Services
from embeddings import Encoder
from retrieval.config import EngineSettings
from retrieval.engine import Engine
from retrieval.index.build import build_index
from retrieval.index.ingest import RECEIVED_DIR, Added, Received
from tests.support.articles import (
    ARTICLE_FACT,
    ARTICLE_TEXT,
    ARTICLE_TITLE,
    TEXT_FACT,
    TEXT_TITLE,
    ArticleServer,
    Page,
    html_page,
    text_page,
)
from tests.support.telegram.botapi_standin import BotApiStandIn
from tests.support.telegram.harness import (
    ADMIN,
    ALICE,
    BOB,
    SEED_QUESTION,
    SEEDS_DIR,
    BotFactory,
    RunningBot,
    quotes_in,
    text_of,
    visible,
)
from tests.support.telegram.updates import JSONDict

#: Adding indexes with the real model: more time than a question takes.
ADD_SECONDS = 120.0
FERRY_QUESTION = "When do the ferry boats leave the old city pier?"
PALMS_QUESTION = "How many tonnes of dates did the palm groves produce?"


@dataclass
class Articles:
    """A corpus of one seed article with its index, and the web server holding new ones."""

    corpus: Path
    index_dir: Path
    engine: Engine
    server: ArticleServer

    def received(self) -> list[str]:
        folder = self.corpus / RECEIVED_DIR
        return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture
def articles(
    tmp_path: Path, engine_settings: EngineSettings, encoder: Encoder
) -> Iterator[Articles]:
    corpus, index_dir = tmp_path / "articles", tmp_path / "index"
    corpus.mkdir()
    shutil.copy(sorted(SEEDS_DIR.glob("*.txt"))[0], corpus)
    build_index(corpus, index_dir, engine_settings, encoder=encoder)
    engine = Engine.open(index_dir, engine_settings, encoder=encoder)
    with ArticleServer() as server:
        server.pages["/news/ferry.html"] = html_page()
        server.pages["/palms.txt"] = text_page()
        yield Articles(corpus, index_dir, engine, server)


async def start(start_bot: BotFactory, articles: Articles, **overrides: Any) -> RunningBot:
    settings: dict[str, Any] = {"fetch_allow_private": True, **overrides}
    return await start_bot(
        engine=articles.engine, corpus=articles.corpus, index_dir=articles.index_dir, **settings
    )


async def only_reply(standin: BotApiStandIn, message: JSONDict) -> str:
    """The one reply to ``message``, as shown (waits for it, then checks no second one came)."""
    reply = await standin.reply_to(message, timeout=ADD_SECONDS)
    await standin.settle()
    assert len(standin.replies_to(message)) == 1
    return visible(text_of(reply))


async def test_an_admin_adds_a_link_and_it_answers_at_once(
    standin: BotApiStandIn, start_bot: BotFactory, articles: Articles
) -> None:
    """An admin sends a link: the page is fetched, added, and the next question quotes it."""
    await start(start_bot, articles)
    url = articles.server.url("/news/ferry.html")
    before = standin.send(ALICE, FERRY_QUESTION)
    assert render.NOT_FOUND in visible(text_of(await standin.reply_to(before)))

    sent = standin.send(ADMIN, url)
    reply = await standin.reply_to(sent, timeout=ADD_SECONDS)
    shown = visible(text_of(reply))
    assert shown.startswith(f"Added “{ARTICLE_TITLE}”: ") and shown.endswith("Ask me about it.")
    sentences = int(shown.split(": ", 1)[1].split(" ", 1)[0])
    assert sentences >= 5
    assert f'<a href="{url}">' in text_of(reply)  # the title links to the page fetched
    assert articles.server.requests == ["/news/ferry.html"]

    after = standin.send(ALICE, FERRY_QUESTION)
    answer = await standin.reply_to(after)
    quotes = quotes_in(text_of(answer))
    assert quotes and ARTICLE_FACT in quotes[0]
    assert f'<a href="{url}">{ARTICLE_TITLE}</a>' in text_of(answer)  # cited with its link
    (name,) = [n for n in articles.received() if not n.startswith(".")]
    assert name.endswith(".html") and (articles.corpus / RECEIVED_DIR / name).read_bytes() == (
        articles.server.pages["/news/ferry.html"].body
    )


async def test_an_admin_adds_a_text_file(
    standin: BotApiStandIn, start_bot: BotFactory, articles: Articles
) -> None:
    """An admin sends a .txt file: it is downloaded, added, and answered from."""
    await start(start_bot, articles)
    data = ARTICLE_TEXT.encode("utf-8")
    sent = standin.send_document(ADMIN, data, "basra palms.txt", "text/plain")
    shown = await only_reply(standin, sent)
    assert shown.startswith(f"Added “{TEXT_TITLE}”: ")
    assert len(standin.calls("getFile")) == 1 and len(standin.downloads()) == 1
    (name,) = articles.received()
    assert (articles.corpus / RECEIVED_DIR / name).read_bytes() == data

    asked = standin.send(ALICE, PALMS_QUESTION)
    quotes = quotes_in(text_of(await standin.reply_to(asked)))
    assert quotes and TEXT_FACT in quotes[0]


async def test_others_are_refused_and_nothing_is_fetched(
    standin: BotApiStandIn, start_bot: BotFactory, articles: Articles
) -> None:
    """Not an admin: a short refusal, nothing fetched or downloaded; a link in a question is asked.

    And /help tells only those who may add articles how to.
    """
    await start(start_bot, articles)
    link = standin.send(ALICE, articles.server.url("/news/ferry.html"))
    assert await only_reply(standin, link) == render.ARTICLES_NOT_ALLOWED
    document = standin.send_document(ALICE, ARTICLE_TEXT.encode(), "palms.txt", "text/plain")
    assert await only_reply(standin, document) == render.ARTICLES_NOT_ALLOWED

    question = f"What does {articles.server.url('/news/ferry.html')} say about Mosul?"
    asked = standin.send(ALICE, question)
    await standin.reply_to(asked)
    assert standin.calls("sendChatAction")  # answered as a question (typing, then the reply)

    alice_help = standin.send(ALICE, "/help")
    assert "To add an article" not in await only_reply(standin, alice_help)
    admin_help = standin.send(ADMIN, "/help")
    assert "To add an article, send me its link" in await only_reply(standin, admin_help)

    assert articles.server.requests == []
    assert standin.calls("getFile", delivered=False) == [] and standin.downloads() == []
    assert articles.received() == []


async def test_refusals_each_get_one_clear_reply(
    standin: BotApiStandIn, start_bot: BotFactory, articles: Articles
) -> None:
    """Too big, unsupported, unreachable and duplicate: each refused once, saying why."""
    await start(start_bot, articles)
    articles.server.pages["/picture"] = Page(b"\x89PNG\r\n", "image/png")
    huge = standin.send_document(
        ADMIN, b"tiny", "huge.txt", "text/plain", file_size=30 * 1024 * 1024
    )
    assert await only_reply(standin, huge) == (
        "Not added: The file huge.txt is larger than the 10 MB limit (30 MB)."
    )
    photo = standin.send_document(ADMIN, b"\x89PNG\r\n", "photo.png", "image/png")
    shown = await only_reply(standin, photo)
    assert shown.startswith("Not added: The file photo.png (image/png) is not a format I can read")
    assert standin.calls("getFile", delivered=False) == [] and standin.downloads() == []

    missing = standin.send(ADMIN, articles.server.url("/missing"))
    assert (await only_reply(standin, missing)).endswith("answered 404 Not Found.")
    picture = standin.send(ADMIN, articles.server.url("/picture"))
    assert "is image/png, which is not a format I can read" in await only_reply(standin, picture)

    seed = sorted(articles.corpus.glob("*.txt"))[0]
    copy = standin.send_document(ADMIN, seed.read_bytes(), "copy.txt", "text/plain")
    shown = await only_reply(standin, copy)
    assert shown.startswith("Not added: An article with the same text is indexed already")
    assert seed.name in shown
    assert articles.received() == []


async def test_private_addresses_are_refused_unless_allowed(
    standin: BotApiStandIn, start_bot: BotFactory, articles: Articles
) -> None:
    """With private addresses not allowed (the default), a link to this machine is refused."""
    await start(start_bot, articles, fetch_allow_private=False)
    link = standin.send(ADMIN, articles.server.url("/news/ferry.html", host="localhost"))
    shown = await only_reply(standin, link)
    assert shown.startswith("Not added: The host localhost is at 127.0.0.1, a loopback address")
    assert articles.server.requests == []


async def test_allowed_users_may_add_within_their_budget(
    standin: BotApiStandIn, start_bot: BotFactory, articles: Articles
) -> None:
    """With VERBATIM_ARTICLES_FROM=allowed anyone served may add, so many an hour."""
    await start(start_bot, articles, articles_from="allowed", articles_per_hour=1)
    first = standin.send(ALICE, articles.server.url("/palms.txt"))
    assert (await only_reply(standin, first)).startswith(f"Added “{TEXT_TITLE}”")
    second = standin.send(ALICE, articles.server.url("/news/ferry.html"))
    assert await only_reply(standin, second) == render.ARTICLES_RATE_LIMITED
    assert articles.server.requests == ["/palms.txt"]


async def test_adding_takes_its_own_thread_and_the_one_writer(
    standin: BotApiStandIn,
    start_bot: BotFactory,
    articles: Articles,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Adding holds the index's one writer in a thread of its own: /reindex waits, questions not.

    A /reindex meanwhile is told to wait; questions are answered all the while.
    """
    release, entered = threading.Event(), threading.Event()
    threads: list[str] = []
    real_add = Services.add

    def slow_add(self: Services, received: Received) -> Added:
        threads.append(threading.current_thread().name)
        entered.set()
        release.wait(timeout=120)
        return real_add(self, received)

    monkeypatch.setattr(Services, "add", slow_add)
    # one answering thread: an addition holding it would stop every question
    monkeypatch.setattr(app, "answering_workers", lambda: 1)
    await start(start_bot, articles, admin_user_ids=frozenset({ADMIN.id, BOB.id}))
    sent = standin.send(ADMIN, articles.server.url("/palms.txt"))
    assert await asyncio.to_thread(entered.wait, ADD_SECONDS)
    try:
        busy = standin.send(BOB, "/reindex")
        assert await only_reply(standin, busy) == render.REINDEX_BUSY
        asked = standin.send(ALICE, SEED_QUESTION)
        assert quotes_in(text_of(await standin.reply_to(asked, timeout=60)))
    finally:
        release.set()
    shown = visible(text_of(await standin.reply_to(sent, timeout=ADD_SECONDS)))
    assert shown.startswith(f"Added “{TEXT_TITLE}”")
    assert threads == [ADD_THREAD]
