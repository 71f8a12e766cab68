"""End to end: articles sent in chat, a link or a file, added to the corpus and answered from.

The real bot over HTTP against the Bot API stand-in; pages are fetched over real HTTP from a
web server on 127.0.0.1 (so the bots here allow private addresses, as an operator may). Each
test has a corpus of its own (adding writes to it), indexed with the real model.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.telegram import app, render
from bot.telegram.articles import ADD_THREAD
from bot.telegram.callbacks import decode
from bot.telegram.services import Services
from embeddings import DEFAULT_MODEL, Encoder
from retrieval.config import EngineSettings
from retrieval.engine import Engine
from retrieval.index.build import build_index
from retrieval.index.ingest import RECEIVED_DIR, Added, Received
from retrieval.types import Answer, Document
from tests.support.articles import (
    ARTICLE_FACT,
    ARTICLE_TEXT,
    ARTICLE_TITLE,
    HOST,
    TEXT_FACT,
    TEXT_TITLE,
    ArticleServer,
    Page,
    html_page,
    text_page,
)
from tests.support.german import GERMAN_ARTICLES
from tests.support.pdf_article import HEADING, PARAGRAPHS, QUESTIONS
from tests.support.pdfs import article_pdf, page_of
from tests.support.stored import stored_documents
from tests.support.telegram.botapi_standin import BotApiStandIn, Request
from tests.support.telegram.harness import (
    ADMIN,
    ALICE,
    BOB,
    SEED_QUESTION,
    SEEDS_DIR,
    BotFactory,
    RunningBot,
    cited_titles,
    quotes_in,
    text_of,
    visible,
)
from tests.support.telegram.updates import JSONDict

#: Adding indexes with the real model: more time than a question takes.
ADD_SECONDS = 120.0
FERRY_QUESTION = "When do the ferry boats leave the old city pier?"
PALMS_QUESTION = "How many tonnes of dates did the palm groves produce?"
#: The first line of the German article sent in.
GERMAN_TITLE = "Die neuen Glocken von St. Marien"
PDF_DATE, PDF_DAY = "D:20230115093000+01'00'", "2023-01-15"
#: Figures in the transcript get this mark; nothing asserts on them.
TIMING_MARK = "⏱"
_SENTENCE_END = re.compile(r"[.!?](\s|$)")


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


@dataclass(frozen=True)
class Pdf:
    """The river study drawn as a real three-page, two-column PDF, and what a reader should
    store of it: its text and where each page starts (the drawing's oracle)."""

    data: bytes
    text: str
    starts: tuple[int, ...]

    def question_on(self, page: int) -> tuple[str, str]:
        """A question whose answering sentence lies wholly on ``page``, and words it holds."""
        for question, words in QUESTIONS:
            at = self.text.index(words)
            start = max(self.text.rfind(". ", 0, at) + 2, self.text.rfind("\n", 0, at) + 1)
            end = _SENTENCE_END.search(self.text, at + len(words))
            last = end.start() if end else len(self.text) - 1
            if page_of(self.starts, start) == page_of(self.starts, last) == page:
                return question, words
        raise LookupError(f"no question of the river study is answered from page {page}")


@pytest.fixture
def pdf(tmp_path: Path) -> Pdf:
    path = tmp_path / "vellmar.pdf"
    layout = article_pdf(path, PARAGRAPHS, heading=HEADING, creation_date=PDF_DATE)
    text, starts = layout.expected()
    assert len(starts) >= 3
    return Pdf(path.read_bytes(), text, starts)


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


def note_seconds(standin: BotApiStandIn, seconds: float, what: str) -> None:
    """A figure for the transcript, not asserted on: adding and answering take what they take."""
    standin.transcript.note(f"{seconds:.2f} s {what}", mark=TIMING_MARK)


async def added_then_answered(
    standin: BotApiStandIn, sent: JSONDict, sent_at: float, question: str
) -> tuple[Request, Request]:
    """The reply to an article ``sent`` (at ``sent_at``), then the answer to ``question`` asked
    at once; how long each took goes to the transcript."""
    reply = await standin.reply_to(sent, timeout=ADD_SECONDS)
    note_seconds(standin, reply.at - sent_at, "from sending the article to the reply")
    asked = standin.send(ALICE, question)
    answer = await standin.reply_to(asked)
    note_seconds(standin, answer.at - reply.at, "from that reply to the answer")
    return reply, answer


def added_pdf(articles: Articles, pdf: Pdf, reply: Request) -> str:
    """The PDF is saved as it was sent and the reply names its title and sentence count (as
    the index holds them); returns its document id."""
    (name,) = [n for n in articles.received() if not n.startswith(".")]  # not the url's sidecar
    assert name.endswith(".pdf")
    assert (articles.corpus / RECEIVED_DIR / name).read_bytes() == pdf.data
    pdf_id = f"{RECEIVED_DIR}/{name}"
    sentences = {info.source.id: info.sentences for info in articles.engine.sources()}[pdf_id]
    assert visible(text_of(reply)) == f"Added “{HEADING}”: {sentences} sentences. Ask me about it."
    return pdf_id


def answer_behind(bot: RunningBot, reply: Request) -> Answer:
    """The answer a reply shows, as the bot keeps it for the reply's buttons (with offsets)."""
    pressed = decode(BotApiStandIn.buttons(reply)["Context [1]"])
    state = bot.services.states.get(pressed.key) if pressed is not None else None
    assert state is not None
    return state.answer


def check_pdf_quotes(
    shown_html: str, answer: Answer, stored: dict[str, Document], pdf: Pdf, pdf_id: str
) -> None:
    """The reply shows the answer's quotes as they are, each (and each agreeing extract) equal
    to its document's stored text at its offsets; the PDF is stored as drawn, and a quote from
    it cites the pages it sits on (by the drawing's oracle)."""
    assert stored[pdf_id].text == pdf.text and stored[pdf_id].pages == pdf.starts
    assert quotes_in(shown_html) == [quote.text for quote in answer.quotes]
    cited = cited_titles(visible(shown_html))
    assert sorted(cited) == list(range(1, len(answer.quotes) + 1))
    for number, quote in enumerate(answer.quotes, start=1):
        for extract in (quote, *quote.also_in):
            text = stored[extract.source.id].text
            assert extract.text and text[extract.start : extract.end] == extract.text
        if quote.source.id == pdf_id:
            first, last = page_of(pdf.starts, quote.start), page_of(pdf.starts, quote.end - 1)
            assert quote.pages == (first, last)
            label = f"p. {first}" if first == last else f"pp. {first}–{last}"
            assert cited[number] == f"{HEADING} — {PDF_DAY}, {label}"


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


async def test_an_article_unlike_the_index_language_gets_one_warning_line(
    standin: BotApiStandIn, start_bot: BotFactory, articles: Articles
) -> None:
    """A German file sent to an English index is added, with a warning line in the reply.

    The index is English with the default model; the line is the one retrieval gives (the
    English articles above get none)."""
    await start(start_bot, articles)
    data = GERMAN_ARTICLES["muehlheim.txt"].encode("utf-8")
    sent = standin.send_document(ADMIN, data, "glocken.txt", "text/plain")
    added, warning = (await only_reply(standin, sent)).split("\n")
    (name,) = articles.received()
    sentences = {info.source.id: info.sentences for info in articles.engine.sources()}
    count = sentences[f"{RECEIVED_DIR}/{name}"]
    assert added == f"Added “{GERMAN_TITLE}”: {count} sentences. Ask me about it."
    assert warning.startswith("Warning: this article does not look English")
    assert "the index is English" in warning and DEFAULT_MODEL in warning


async def test_an_admin_adds_a_pdf_file_and_answers_cite_its_page(
    standin: BotApiStandIn, start_bot: BotFactory, articles: Articles, pdf: Pdf
) -> None:
    """An admin sends a PDF file: it is downloaded, added, and an answer cites its page."""
    bot = await start(start_bot, articles)
    question, words = pdf.question_on(3)
    sent_at = time.perf_counter()
    sent = standin.send_document(ADMIN, pdf.data, "vellmar study.pdf", "application/pdf")
    reply, answer = await added_then_answered(standin, sent, sent_at, question)

    assert len(standin.calls("getFile")) == 1 and len(standin.downloads()) == 1
    pdf_id = added_pdf(articles, pdf, reply)

    shown = answer_behind(bot, answer)
    top = shown.quotes[0]
    assert top.source.id == pdf_id and words in top.text and top.pages == (3, 3)
    assert top.source.url is None
    check_pdf_quotes(text_of(answer), shown, stored_documents(articles.index_dir), pdf, pdf_id)
    assert cited_titles(visible(text_of(answer)))[1] == f"{HEADING} — {PDF_DAY}, p. 3"


async def test_an_admin_adds_a_link_to_a_pdf_and_answers_cite_its_page_and_link(
    standin: BotApiStandIn, start_bot: BotFactory, articles: Articles, pdf: Pdf
) -> None:
    """An admin sends a link to a PDF: fetched, added, answers cite its page and link to it."""
    bot = await start(start_bot, articles)
    articles.server.pages["/papers/vellmar.pdf"] = Page(pdf.data, "application/pdf")
    url = articles.server.url("/papers/vellmar.pdf")
    question, words = pdf.question_on(2)
    sent_at = time.perf_counter()
    sent = standin.send(ADMIN, url)
    reply, answer = await added_then_answered(standin, sent, sent_at, question)

    assert articles.server.requests == ["/papers/vellmar.pdf"]
    pdf_id = added_pdf(articles, pdf, reply)
    assert f'<a href="{url}">{HEADING}</a>' in text_of(reply)

    shown = answer_behind(bot, answer)
    top = shown.quotes[0]
    assert top.source.id == pdf_id and words in top.text and top.pages == (2, 2)
    assert top.source.url == url
    check_pdf_quotes(text_of(answer), shown, stored_documents(articles.index_dir), pdf, pdf_id)
    assert f'[1] <a href="{url}">{HEADING}</a> — {PDF_DAY}, p. 2' in text_of(answer)


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
    """Too big, unsupported, unreachable (404, nothing listening), duplicate: each told why once."""
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
    with socket.socket() as sock:  # a port of this machine that nothing listens on
        sock.bind((HOST, 0))
        closed = f"http://{HOST}:{sock.getsockname()[1]}/news"
    nobody = standin.send(ADMIN, closed)
    shown = await only_reply(standin, nobody)
    assert shown.startswith(f"Not added: {closed} cannot be fetched: the connection failed")
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
