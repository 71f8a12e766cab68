"""Articles sent in a private chat: a file (a Telegram document) or a message that is only a link.

Who may send them is a setting (the admins, or everyone the bot serves); anyone else gets a
short reply, and nothing is downloaded or fetched. Each sender has a budget of additions an
hour. A file's format and size are checked before it is downloaded (Telegram states both); a
page's while it is fetched (``retrieval.read.fetch``). Fetching and adding run in threads of
their own, and adding waits its turn with /reindex (``reindex_lock``): the index has one
writer. The engine in use sees the new article by itself, since the index is updated in place,
so a question right after the reply is answered from it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from telegram import Message, Update
from telegram.constants import FileSizeLimit
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.telegram import render
from bot.telegram.commands import in_own_thread
from bot.telegram.parse import link_only
from bot.telegram.replies import send_chunks, typing
from bot.telegram.services import Services, services
from retrieval.errors import ArticleRefused, VerbatimError
from retrieval.index.ingest import Received
from retrieval.read.fetch import article_suffix, too_big, unsupported
from retrieval.types import Source

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
FETCH_THREAD = "verbatim-fetch"
ADD_THREAD = "verbatim-add"
#: Telegram's bots may download files up to this size.
TELEGRAM_DOWNLOAD_BYTES = int(FileSizeLimit.FILESIZE_DOWNLOAD)


async def on_link(update: Update, context: Context) -> None:
    """A private message that is only a link: fetch the page and add it."""
    message, svc = update.effective_message, services(context)
    url = link_only(message) if message is not None else None
    if message is None or url is None:
        return  # registered only for messages that are a link
    if not await _may_add(update, svc, message):
        return

    async def received() -> Received:
        return await in_own_thread(lambda: svc.fetch(url), name=FETCH_THREAD)

    await _add(svc, message, received)


async def on_document(update: Update, context: Context) -> None:
    """A file sent in a private chat: download it, if it is an article of a size we take, and
    add it."""
    message, svc = update.effective_message, services(context)
    if message is None or message.document is None:
        return  # registered only for messages with a document
    if not await _may_add(update, svc, message):
        return
    document = message.document
    shown = f"The file {document.file_name}" if document.file_name else "The file"
    suffix = article_suffix(document.mime_type, document.file_name, name_first=True)
    limit = min(svc.settings.fetch_max_bytes, TELEGRAM_DOWNLOAD_BYTES)

    async def received() -> Received:
        if suffix is None:
            raise unsupported(f"{shown} ({document.mime_type or 'of no stated type'})")
        if document.file_size is not None and document.file_size > limit:
            raise too_big(shown, document.file_size, limit)
        file = await document.get_file()
        data = bytes(await file.download_as_bytearray())
        if len(data) > limit:
            raise too_big(shown, len(data), limit)
        return Received(data=data, suffix=suffix, name=document.file_name or "")

    await _add(svc, message, received)


async def _may_add(update: Update, svc: Services, message: Message) -> bool:
    """Whether the sender may add an article now; if not, they are told why."""
    user, chat = update.effective_user, update.effective_chat
    user_id = user.id if user else None
    if not svc.may_add_articles(user_id, chat.id if chat else None):
        await send_chunks(message, [render.fixed(render.ARTICLES_NOT_ALLOWED)])
        return False
    budget_of = user_id if user_id is not None else message.chat_id
    if not await svc.article_limiter.try_acquire(budget_of):
        await send_chunks(message, [render.fixed(render.ARTICLES_RATE_LIMITED)])
        return False
    return True


async def _add(
    svc: Services, message: Message, received: Callable[[], Awaitable[Received]]
) -> None:
    """Get the article (``received``), add it in its turn, and reply with what came of it."""
    try:
        async with typing(message):
            article = await received()
            async with svc.reindex_lock:
                added = await in_own_thread(lambda: svc.add(article), name=ADD_THREAD)
    except ArticleRefused as exc:
        log.info("article not added: %s", exc.kind)  # not the link: what users send stays theirs
        refused = render.ARTICLE_REFUSED.format(message=exc.message)
        await send_chunks(message, [render.fixed(refused)])
        return
    except VerbatimError as exc:
        log.warning("adding an article failed: %s", exc.message)
        failed = render.ARTICLE_FAILED.format(message=exc.message)
        await send_chunks(message, [render.fixed(failed)])
        return
    except TelegramError as exc:  # the download failed
        log.warning("downloading an article failed: %s", exc)
        failed = render.ARTICLE_FAILED.format(message="the file could not be downloaded.")
        await send_chunks(message, [render.fixed(failed)])
        return
    log.info("article added: %s (%d sentences)", added.doc_id, added.sentences)
    if added.warning:  # for the operator too: the admin who sent it may not run the bot
        log.warning("article %s: %s", added.doc_id, added.warning)
    source = Source(id=added.doc_id, title=added.title, url=added.url)
    await send_chunks(message, [render.added_text(source, added.sentences, added.warning)])
