"""All Telegram formatting: answers, citations, context, commands and inline results.

HTML parse mode; everything from articles and users goes through ``html.escape`` and quotes
are never altered, only wrapped in tags. Every message comes as a ``Chunk``: the HTML and a
plain-text twin, so a reply Telegram cannot parse is resent as plain text. Replies longer
than Telegram's limit are split on quote boundaries (a single quote longer than the limit is
split between words, each part still verbatim). Lengths are counted in UTF-16 code units,
as Telegram counts them, and on the HTML source, which is never shorter than what is shown.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlparse

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    KeyboardButton,
    ReplyKeyboardMarkup,
)
from telegram.constants import MessageLimit, ParseMode

from bot.render_text import page_label
from bot.telegram.callbacks import Action, encode
from bot.telegram.parse import clean
from retrieval.answer.answering import NOT_FOUND_MESSAGE
from retrieval.types import Answer, DocumentInfo, Extract, IndexInfo, Quote, Source

MAX_MESSAGE_LENGTH = MessageLimit.MAX_TEXT_LENGTH
SOURCES_PER_PAGE = 10
MAX_TITLE_CHARS = 200
INLINE_TITLE_CHARS = 64
BLOCK_SEPARATOR = "\n\n"
PLAIN_QUOTE_MARK = "> "
LINKABLE_SCHEMES = frozenset({"http", "https"})

NOT_FOUND = NOT_FOUND_MESSAGE
REFUSED = "Sorry, this bot is private and you are not on its list of users."
RATE_LIMITED = "You are asking faster than I can keep up. Please wait a minute and ask again."
EXPIRED = "This answer has expired. Please ask the question again."
ERROR = "Sorry, something went wrong on my side. Please try again in a moment."
STORE_UNAVAILABLE = "The article store is not reachable right now. Please try again in a moment."
NON_TEXT = "I can only read text. Please type your question as a message."
UNKNOWN_COMMAND = "I don't know that command. Send /help to see what I can do."
ASK_USAGE = "Put the question after the command, for example: /ask Who declared victory in Mosul?"
EMPTY_MENTION = "Ask me a question after the mention, for example: @{bot} who declared victory?"
NOT_ADMIN = "Only the bot's admins can run /reindex."
REINDEX_BUSY = "A reindex, or the adding of an article, is running. Try again when it is done."
REINDEX_STARTED = "Reindexing the articles in {corpus}…"
REINDEX_FAILED = "Reindexing failed: {message}"
ARTICLES_NOT_ALLOWED = "Only the bot's admins can add articles. Send me a question instead."
ARTICLES_RATE_LIMITED = (
    "You have added many articles in the last hour. Please wait a while and send it again."
)
ARTICLE_REFUSED = "Not added: {message}"
ARTICLE_FAILED = "Adding the article failed: {message}"
ARTICLE_ADDED = "Added {title}: {sentences} sentences. Ask me about it."
HOW_TO_ADD = (
    "To add an article, send me its link (only the link) or the file ({formats}); the "
    "answers quote it at once."
)
NO_MORE = "No more quotes for this question."
THANKS = {1: "Thanks! 👍 noted.", -1: "Thanks, 👎 noted: it helps improve the answers."}
STARTED_AFRESH = "Starting afresh: your next question stands on its own."
#: Above a follow-up's answer: the earlier question it was answered in.
CONTEXT_NOTE = "Taking “{question}” as context. Send /new to start afresh."
#: Above the quotes of an answer marked unsure (``Answer.uncertain``).
UNSURE_NOTE = "Low confidence: these quotes may not answer the question."
#: Before the citation of an inline result of such an answer (the list a user picks from).
UNSURE_INLINE = "Low confidence · "
#: Characters of that question shown.
CONTEXT_QUESTION_CHARS = 120
INLINE_HINT = "Type a question about the articles"
INLINE_NOT_FOUND = "Not in the articles: open the bot"

#: Commands registered with setMyCommands: (command, description).
COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", "What this bot does, with example questions"),
    ("help", "How to ask and what the buttons do"),
    ("ask", "Ask a question (for groups): /ask QUESTION"),
    ("new", "Start afresh: forget the last question as context"),
    ("sources", "The indexed articles"),
    ("about", "Model, index size and build date"),
)
ADMIN_COMMANDS: tuple[tuple[str, str], ...] = (("reindex", "Re-read the articles (admins)"),)


@dataclass(frozen=True)
class Chunk:
    """One message: its HTML and the plain text sent if Telegram cannot parse the HTML.

    Lone surrogates (which no one can see, and which cannot be encoded) become U+FFFD.
    """

    html: str
    plain: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "html", clean(self.html))
        object.__setattr__(self, "plain", clean(self.plain))


def fixed(message: str) -> Chunk:
    """One of our fixed messages (or any plain text) as a chunk."""
    return Chunk(_esc(message), message)


def telegram_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (a lone surrogate counts one)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _esc(text: str) -> str:
    """Text from users or articles as HTML (a lone surrogate, which no one can see, as U+FFFD)."""
    return html.escape(clean(text), quote=False)


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _link(source: Source) -> str | None:
    """The source's URL if Telegram can link it (http or https), else None."""
    if not source.url:
        return None
    parsed = urlparse(source.url.strip())
    return source.url.strip() if parsed.scheme in LINKABLE_SCHEMES and parsed.netloc else None


def _title(source: Source) -> str:
    return _shorten(source.title or source.id, MAX_TITLE_CHARS)


def citation(number: int | None, source: Source, pages: tuple[int, int] | None = None) -> Chunk:
    """``[1] title — date, p. 4``, the title linked when there is a URL.

    ``pages`` are the pages the cited text spans (for a PDF), shown as ``p. 4`` or ``pp. 4–5``.
    """
    prefix = f"[{number}] " if number is not None else ""
    date = f" — {source.date}" if source.date else ""
    label = page_label(pages)
    where = f", {label}" if label else ""
    url = _link(source)
    title = _esc(_title(source))
    linked = f'<a href="{html.escape(url, quote=True)}">{title}</a>' if url else title
    plain_url = f" ({url})" if url else ""
    return Chunk(
        html=f"{prefix}{linked}{_esc(date)}{where}",
        plain=f"{prefix}{_title(source)}{date}{where}{plain_url}",
    )


def _agreement(extracts: Sequence[Extract]) -> Chunk | None:
    """The "Also in" note naming other articles that say the same thing."""
    seen: dict[str, Extract] = {}
    for extract in extracts:
        seen.setdefault(extract.source.id, extract)
    if not seen:
        return None
    cites = [citation(None, extract.source, extract.pages) for extract in seen.values()]
    return Chunk(
        html="<i>Also in:</i> " + "; ".join(c.html for c in cites),
        plain="Also in: " + "; ".join(c.plain for c in cites),
    )


def _plain_quote(text: str) -> str:
    """A quote in plain text: each line marked with "> "."""
    return "\n".join(PLAIN_QUOTE_MARK + line for line in text.split("\n"))


def _cost(text: str) -> int:
    """Room ``text`` takes in a message: escaped HTML, or plain text with its quote marks."""
    return telegram_length(_esc(text)) + len(PLAIN_QUOTE_MARK) * text.count("\n")


def _split_words(text: str, budget: int) -> list[str]:
    """Cut ``text`` into consecutive pieces, between words, whose escaped HTML fits ``budget``."""
    pieces: list[str] = []
    current, used = "", 0
    for token in re.split(r"(\s+)", text):
        cost = _cost(token)
        if used + cost <= budget:
            current, used = current + token, used + cost
            continue
        if current.strip():
            pieces.append(current)
        current, used = "", 0
        if cost <= budget:
            current, used = token, cost
            continue
        for char in token:  # a run without whitespace longer than a message
            if used + _cost(char) > budget:
                pieces.append(current)
                current, used = "", 0
            current, used = current + char, used + _cost(char)
    if current.strip():
        pieces.append(current)
    return pieces or [text]


def quote_blocks(
    text: str, tail: Iterable[Chunk], *, bold: tuple[int, int] | None = None
) -> list[Chunk]:
    """``text`` as blockquote(s) followed by ``tail`` lines, each block fitting one message.

    ``bold`` marks a ``[start, end)`` range of ``text`` to show in bold (the quote inside
    its context); it is dropped if the text has to be split.
    """
    tail = list(tail)
    tail_html = "".join("\n" + c.html for c in tail)
    tail_plain = "".join("\n" + c.plain for c in tail)
    if bold is not None:
        start, end = bold
        body = _esc(text[:start]) + "<b>" + _esc(text[start:end]) + "</b>" + _esc(text[end:])
        whole = Chunk(
            f"<blockquote>{body}</blockquote>{tail_html}", _plain_quote(text) + tail_plain
        )
        if max(telegram_length(whole.html), telegram_length(whole.plain)) <= MAX_MESSAGE_LENGTH:
            return [whole]
    overhead = len("<blockquote></blockquote>") + max(
        telegram_length(tail_html), telegram_length(tail_plain)
    )
    pieces = _split_words(text, MAX_MESSAGE_LENGTH - overhead)
    blocks = [Chunk(f"<blockquote>{_esc(p)}</blockquote>", _plain_quote(p)) for p in pieces]
    last = blocks[-1]
    blocks[-1] = Chunk(last.html + tail_html, last.plain + tail_plain)
    return blocks


def pack(blocks: Iterable[Chunk]) -> list[Chunk]:
    """Join blocks into as few messages as fit the limit, never splitting a block."""
    chunks: list[Chunk] = []
    for block in blocks:
        if chunks:
            joined = Chunk(
                chunks[-1].html + BLOCK_SEPARATOR + block.html,
                chunks[-1].plain + BLOCK_SEPARATOR + block.plain,
            )
            if max(telegram_length(joined.html), telegram_length(joined.plain)) <= (
                MAX_MESSAGE_LENGTH
            ):
                chunks[-1] = joined
                continue
        chunks.append(block)
    return chunks


def _quote(quote: Quote, number: int) -> list[Chunk]:
    tail = [citation(number, quote.source, quote.pages)]
    note = _agreement(quote.also_in)
    if note is not None:
        tail.append(note)
    return quote_blocks(quote.text, tail)


def context_note(answer: Answer) -> Chunk | None:
    """The line above a follow-up's answer naming the question it was taken in, if any."""
    if answer.context_question is None:
        return None
    text = CONTEXT_NOTE.format(question=_shorten(answer.context_question, CONTEXT_QUESTION_CHARS))
    return Chunk(f"<i>{_esc(text)}</i>", text)


def answer_chunks(answer: Answer) -> list[Chunk]:
    """The reply to a question: the context it was taken in, if any, then quotes with
    citations, or the decline."""
    note = context_note(answer)
    chunks = _answer_body(answer)
    return chunks if note is None else pack([note, *chunks])


def _answer_body(answer: Answer) -> list[Chunk]:
    if answer.status == "invalid_question" or not answer.quotes:
        message = answer.message or NOT_FOUND
        blocks = [Chunk(_esc(p), p) for p in _split_words(message, MAX_MESSAGE_LENGTH)]
        if answer.closest_topics and answer.status != "invalid_question":
            topics = [_shorten(t, MAX_TITLE_CHARS) for t in answer.closest_topics]
            blocks.append(
                Chunk(
                    "The articles do cover:\n" + "\n".join(f"• {_esc(t)}" for t in topics),
                    "The articles do cover:\n" + "\n".join(f"• {t}" for t in topics),
                )
            )
        return pack(blocks)
    blocks = [Chunk(f"<i>{_esc(UNSURE_NOTE)}</i>", UNSURE_NOTE)] if answer.uncertain else []
    for i, quote in enumerate(answer.quotes):
        blocks.extend(_quote(quote, answer.offset + i + 1))
    return pack(blocks)


def answer_plain(answer: Answer) -> str:
    """The answer as plain text, as stored with feedback."""
    return BLOCK_SEPARATOR.join(chunk.plain for chunk in answer_chunks(answer))


def answer_keyboard(key: str, answer: Answer, *, more: bool = True) -> InlineKeyboardMarkup | None:
    """Context buttons per quote, "More" when there are further quotes, and 👍 / 👎."""
    if answer.status == "invalid_question":
        return None
    rows: list[list[InlineKeyboardButton]] = []
    if answer.quotes:
        rows.append(
            [
                InlineKeyboardButton(
                    f"Context [{answer.offset + i + 1}]",
                    callback_data=encode(Action.CONTEXT, key, i),
                )
                for i in range(len(answer.quotes))
            ]
        )
    if more and answer.has_more:
        rows.append([InlineKeyboardButton("More quotes ▸", callback_data=encode(Action.MORE, key))])
    rows.append(
        [
            InlineKeyboardButton("👍", callback_data=encode(Action.FEEDBACK, key, 1)),
            InlineKeyboardButton("👎", callback_data=encode(Action.FEEDBACK, key, -1)),
        ]
    )
    return InlineKeyboardMarkup(rows)


def context_chunks(extract: Extract, quote: Quote, number: int) -> list[Chunk]:
    """The sentences around quote ``number``, verbatim, the quote itself in bold."""
    start, end = quote.start - extract.start, quote.end - extract.start
    inside = 0 <= start <= end <= len(extract.text) and extract.text[start:end] == quote.text
    header = Chunk(f"<b>Context of [{number}]</b>", f"Context of [{number}]")
    blocks = quote_blocks(
        extract.text,
        [citation(number, extract.source, extract.pages)],
        bold=(start, end) if inside else None,
    )
    return pack([header, *blocks])


def start_text(bot_username: str, examples: Sequence[str]) -> Chunk:
    """/start: what the bot does and example questions."""
    intro = (
        "answers questions about a collection of articles with quotes copied word for word "
        "from them, each with its source. When the articles don't say, it tells you so."
    )
    lines_html = [f"<b>Verbatim</b> {intro}"]
    lines_plain = [f"Verbatim {intro}"]
    if examples:
        lines_html.append("Try one of these:\n" + "\n".join(f"• {_esc(e)}" for e in examples))
        lines_plain.append("Try one of these:\n" + "\n".join(f"• {e}" for e in examples))
    how = _how_to(bot_username)
    return Chunk(
        BLOCK_SEPARATOR.join([*lines_html, _esc(how)]), BLOCK_SEPARATOR.join([*lines_plain, how])
    )


def examples_keyboard(examples: Sequence[str]) -> ReplyKeyboardMarkup | None:
    """Example questions as keyboard buttons: tapping one sends it as a question."""
    if not examples:
        return None
    return ReplyKeyboardMarkup(
        [[KeyboardButton(e)] for e in examples], one_time_keyboard=True, resize_keyboard=True
    )


def _how_to(bot_username: str) -> str:
    return (
        "Send a question as a message. In groups, mention "
        f"@{bot_username} or use /ask. In any chat, type @{bot_username} and a question "
        "to share a quote."
    )


def help_text(bot_username: str, *, add_formats: Sequence[str] = ()) -> Chunk:
    """/help: how to ask, the buttons and the commands; how to add an article, to those who may
    (``add_formats``: the file suffixes they may send)."""
    commands = "\n".join(f"/{name} — {about}" for name, about in COMMANDS)
    parts = [
        _how_to(bot_username),
        "Under an answer: “Context” shows the sentences around a quote, “More quotes” "
        "the next ones, and 👍 / 👎 tell us whether the answer helped.",
        "Follow-ups such as “when was that?” are answered in the context of your last "
        "question (in groups: reply to my answer). /new starts afresh.",
    ]
    if add_formats:
        parts.append(HOW_TO_ADD.format(formats=", ".join(add_formats)))
    text = BLOCK_SEPARATOR.join([*parts, commands])
    return Chunk(_esc(text), text)


def added_text(source: Source, sentences: int, warning: str | None = None) -> Chunk:
    """The reply to an article sent in and added: its title (linked) and how many sentences,
    and on a line of its own the warning retrieval gave (the article's language), if any."""
    url, title = _link(source), _title(source)
    linked = f'<a href="{html.escape(url, quote=True)}">{_esc(title)}</a>' if url else _esc(title)
    plain = f"“{title}” ({url})" if url else f"“{title}”"
    shown = ARTICLE_ADDED.format(title=f"“{linked}”", sentences=sentences)
    text = ARTICLE_ADDED.format(title=plain, sentences=sentences)
    if warning:
        shown, text = f"{shown}\n{_esc(warning)}", f"{text}\n{warning}"
    return Chunk(shown, text)


def about_text(info: IndexInfo) -> Chunk:
    """/about: the model, the size of the index and when it was built."""
    lines = [
        ("Model", f"{info.model_name} ({info.dimension} dimensions)"),
        (
            "Index",
            f"{info.documents} articles, {info.sentences} sentences, "
            f"{info.passages} passages ({info.index_type})",
        ),
        ("Built", info.built_at),
    ]
    return Chunk(
        "\n".join(f"<b>{k}:</b> {_esc(v)}" for k, v in lines),
        "\n".join(f"{k}: {v}" for k, v in lines),
    )


def sources_page(
    docs: Sequence[DocumentInfo], page: int
) -> tuple[Chunk, InlineKeyboardMarkup | None]:
    """One page of /sources and its ‹ › buttons; ``page`` is clamped to the pages there are."""
    pages = max(1, -(-len(docs) // SOURCES_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    first = page * SOURCES_PER_PAGE
    head = f"Indexed articles: {len(docs)} (page {page + 1} of {pages})"
    lines = [
        citation(first + i + 1, doc.source)
        for i, doc in enumerate(docs[first : first + SOURCES_PER_PAGE])
    ]
    text = Chunk(
        "\n".join([f"<b>{_esc(head)}</b>", *(c.html for c in lines)]),
        "\n".join([head, *(c.plain for c in lines)]),
    )
    buttons = []
    if page > 0:
        buttons.append(
            InlineKeyboardButton(
                "‹ Previous", callback_data=encode(Action.SOURCES_PAGE, "", page - 1)
            )
        )
    if page < pages - 1:
        buttons.append(
            InlineKeyboardButton("Next ›", callback_data=encode(Action.SOURCES_PAGE, "", page + 1))
        )
    return text, InlineKeyboardMarkup([buttons]) if buttons else None


def reindexed_text(info: IndexInfo) -> Chunk:
    """The reply once /reindex has finished."""
    text = (
        f"Reindexed: {info.documents} articles, {info.sentences} sentences (built {info.built_at})."
    )
    return Chunk(_esc(text), text)


def inline_results(answer: Answer, key: str) -> list[InlineQueryResultArticle]:
    """Inline mode: one result per quote, inserting the quote with its citation."""
    results = []
    for i, quote in enumerate(answer.quotes):
        cite = citation(None, quote.source, quote.pages)
        chunks = quote_blocks(quote.text, [cite])
        if len(chunks) != 1:  # a quote too long for one message is not offered inline
            continue
        results.append(
            InlineQueryResultArticle(
                id=f"{key}.{i}",
                title=_shorten(quote.text, INLINE_TITLE_CHARS),
                description=(UNSURE_INLINE if answer.uncertain else "") + cite.plain,
                input_message_content=InputTextMessageContent(
                    chunks[0].html, parse_mode=ParseMode.HTML
                ),
            )
        )
    return results
