"""Property tests (hypothesis) for the Telegram parser and renderer.

Parser: any text (lone surrogates included) and any entities, however wrong their offsets,
give a question or None, never an exception, and the question can be stored (UTF-8).
Renderer: whatever the articles and users hold, every message is HTML that Telegram accepts
(only its tags, balanced, checked with ``html.parser`` and with the stand-in's rules), at
most 4,096 characters, and each quote appears verbatim, in order.
"""

from __future__ import annotations

import html
from html.parser import HTMLParser

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram import Message

from bot.telegram import render
from bot.telegram.callbacks import MAX_CALLBACK_BYTES
from bot.telegram.parse import (
    addressed_to_bot,
    command_question,
    group_question,
    private_question,
)
from bot.telegram.render import MAX_MESSAGE_LENGTH, telegram_length
from retrieval.types import Answer, DocumentInfo, Extract, Quote, Source
from tests.support.telegram.telegram_html import SUPPORTED_TAGS, telegram_html
from tests.support.telegram.updates import User, group_chat, message

BOT = User(42, "Verbatim", "verbatim_bot", is_bot=True)
ALICE = User(1, "Alice")
GROUP = group_chat(-100, "G")
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Any character, lone surrogates included (Telegram's JSON may carry "\ud800").
ANY_CHAR = st.characters(codec=None, categories=None)
LONG = st.integers(1, 900)  # repeats of a short text: messages past Telegram's limit
HOSTILE = "<>&\"'/ \n\t@\ud800\udfff\x00\u202e😀x"
texts = st.one_of(
    st.text(ANY_CHAR, max_size=60),
    st.text(st.sampled_from(HOSTILE), max_size=60),
    st.builds(
        lambda t, n: t * n, st.text(st.sampled_from(HOSTILE), min_size=1), st.integers(1, 900)
    ),
)
entity_types = st.sampled_from(["mention", "text_mention", "bot_command", "bold", "url"])


def _entity(kind: str, offset: int, length: int, to_bot: bool) -> dict:
    entity: dict = {"type": kind, "offset": offset, "length": length}
    if kind == "text_mention":
        entity["user"] = (BOT if to_bot else ALICE).to_dict()
    return entity


entities = st.lists(
    st.builds(_entity, entity_types, st.integers(-5, 200), st.integers(0, 200), st.booleans()),
    max_size=4,
)


def _stored(text: str) -> bool:
    """SQLite stores UTF-8: a lone surrogate would fail there."""
    text.encode("utf-8")
    return True


@FAST
@given(text=texts, found=entities, reply=st.booleans(), mention=st.booleans())
def test_parsing_never_fails(text: str, found: list[dict], reply: bool, mention: bool) -> None:
    if mention:
        text = f"@{BOT.username} {text}"
        found = [{"type": "mention", "offset": 0, "length": len(BOT.username or "") + 1}, *found]
    replied = message(message_id=1, chat=GROUP, sender=BOT, text="an answer") if reply else None
    data = message(
        message_id=2, chat=GROUP, sender=ALICE, text=text, entities=found, reply_to=replied
    )
    msg = Message.de_json(data, None)  # type: ignore[arg-type]
    question = group_question(msg, BOT.username or "", BOT.id)
    assert question is None or _stored(question)
    if mention or reply:
        assert question is not None
    if question is not None:
        assert addressed_to_bot(msg, BOT.username or "", BOT.id)
    assert _stored(private_question(msg)) and _stored(command_question(msg))


class _TagChecker(HTMLParser):
    """Tags in order, with Telegram's allowed set and balance checked as they come."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in SUPPORTED_TAGS, tag
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack.pop() == tag, tag

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _valid(chunks: list[render.Chunk]) -> list[str]:
    """Each chunk: allowed, balanced tags, within the limit; returns the visible texts."""
    shown = []
    for chunk in chunks:
        checker = _TagChecker()
        checker.feed(chunk.html)
        checker.close()
        assert checker.stack == []
        visible = telegram_html(chunk.html).visible
        assert visible == "".join(checker.text)
        assert telegram_length(chunk.html) <= MAX_MESSAGE_LENGTH
        assert telegram_length(chunk.plain) <= MAX_MESSAGE_LENGTH
        shown.append(visible)
    return shown


urls = st.one_of(
    st.none(),
    st.sampled_from(['https://e.x/a?b=1&c="<2>"', "javascript:alert(1)", "http://", "ftp://x/y"]),
    texts,
)
sources = st.builds(
    Source,
    id=st.text(min_size=1, max_size=40),
    title=st.one_of(st.none(), texts),
    date=st.one_of(st.none(), st.text(max_size=20)),
    url=urls,
)


def _quote(text: str, source: Source, also: list[Source]) -> Quote:
    extra = tuple(
        Extract(text="same", start=0, end=4, source=s, first_sentence=0, last_sentence=0)
        for s in also
    )
    return Quote(
        text=text,
        start=0,
        end=len(text),
        source=source,
        first_sentence=0,
        last_sentence=0,
        score=0.5,
        also_in=extra,
    )


quote_texts = st.one_of(
    st.text(min_size=1, max_size=300),
    st.builds(lambda t, n: t * n, st.text(min_size=1, max_size=40), st.integers(1, 400)),
).filter(str.strip)
quotes = st.builds(_quote, quote_texts, sources, st.lists(sources, max_size=3))


def _blockquotes(html_text: str) -> list[str]:
    parts = html_text.split("<blockquote>")[1:]
    return [html.unescape(p.split("</blockquote>", 1)[0]) for p in parts]


@FAST
@given(
    found=st.lists(quotes, min_size=1, max_size=6),
    offset=st.integers(0, 50),
    more=st.booleans(),
)
def test_answers_render_as_valid_html_within_the_limit(
    found: list[Quote], offset: int, more: bool
) -> None:
    answer = Answer(
        question="q?", status="answered", quotes=tuple(found), offset=offset, has_more=more
    )
    chunks = render.answer_chunks(answer)
    _valid(chunks)
    shown = [piece for chunk in chunks for piece in _blockquotes(chunk.html)]
    position = 0
    for q in found:  # every quote verbatim and in order, possibly split between words
        rest = q.text
        while rest.strip():
            piece = shown[position]
            position += 1
            assert piece and rest.lstrip().startswith(piece.strip()), (piece, rest[:80])
            rest = rest.lstrip()[len(piece.strip()) :]
    assert position == len(shown)
    keyboard = render.answer_keyboard("AbCdEfGh", answer)
    assert keyboard is not None
    for row in keyboard.inline_keyboard:
        for button in row:
            assert len(str(button.callback_data).encode()) < MAX_CALLBACK_BYTES


@FAST
@given(question=texts, topics=st.lists(texts, max_size=4), message_text=st.one_of(st.none(), texts))
def test_declines_render_as_valid_html(
    question: str, topics: list[str], message_text: str | None
) -> None:
    for status in ("not_found", "invalid_question"):
        answer = Answer(
            question=question,
            status=status,  # type: ignore[arg-type]
            closest_topics=tuple(topics),
            message=message_text,
        )
        _valid(render.answer_chunks(answer))


@FAST
@given(found=quotes, before=texts, after=texts, number=st.integers(1, 99))
def test_context_renders_as_valid_html(found: Quote, before: str, after: str, number: int) -> None:
    text = before + found.text + after
    extract = Extract(
        text=text, start=0, end=len(text), source=found.source, first_sentence=0, last_sentence=0
    )
    moved = found.model_copy(update={"start": len(before), "end": len(before) + len(found.text)})
    _valid(render.context_chunks(extract, moved, number))


@FAST
@given(docs=st.lists(sources, max_size=30), page=st.integers(-5, 10))
def test_sources_pages_render_as_valid_html(docs: list[Source], page: int) -> None:
    infos = [DocumentInfo(source=s, sentences=1, chars=1) for s in docs]
    chunk, _ = render.sources_page(infos, page)
    _valid([chunk])


@FAST
@given(found=st.lists(quotes, min_size=1, max_size=5))
def test_inline_results_render_as_valid_html(found: list[Quote]) -> None:
    answer = Answer(question="q", status="answered", quotes=tuple(found))
    for result in render.inline_results(answer, "key"):
        content = result.input_message_content
        text = content.message_text  # type: ignore[union-attr]
        _valid([render.Chunk(text, html.unescape(text))])
