"""Command handlers: /start, /help, /about, /sources, /new and the admins' /reindex.

Also ``in_own_thread``, which long jobs (a reindex, adding an article) run in.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TypeVar

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.telegram import render
from bot.telegram.replies import send_chunks
from bot.telegram.services import services
from retrieval.errors import VerbatimError
from retrieval.read.fetch import SHOWN_SUFFIXES

T = TypeVar("T")

EXAMPLE_QUESTIONS = 3
REINDEX_THREAD = "verbatim-reindex"

Context = ContextTypes.DEFAULT_TYPE


async def on_start(update: Update, context: Context) -> None:
    if not (update.effective_message and update.effective_chat):
        return  # registered only for updates that carry it
    examples = await asyncio.to_thread(
        services(context).engine.example_questions, EXAMPLE_QUESTIONS
    )
    private = update.effective_chat.type == ChatType.PRIVATE
    await send_chunks(
        update.effective_message,
        [render.start_text(context.bot.username, examples)],
        markup=render.examples_keyboard(examples) if private else None,
        quote=not private,
    )


async def on_help(update: Update, context: Context) -> None:
    if not (update.effective_message):
        return  # registered only for updates that carry it
    user, chat = update.effective_user, update.effective_chat
    may_add = services(context).may_add_articles(
        user.id if user else None, chat.id if chat else None
    )
    formats = SHOWN_SUFFIXES if may_add else ()
    text = render.help_text(context.bot.username, add_formats=formats)
    await send_chunks(update.effective_message, [text])


async def on_about(update: Update, context: Context) -> None:
    if not (update.effective_message):
        return  # registered only for updates that carry it
    info = await asyncio.to_thread(services(context).engine.info)
    await send_chunks(update.effective_message, [render.about_text(info)])


async def on_sources(update: Update, context: Context) -> None:
    if not (update.effective_message):
        return  # registered only for updates that carry it
    docs = await asyncio.to_thread(services(context).engine.sources)
    page, markup = render.sources_page(docs, 0)
    await send_chunks(update.effective_message, [page], markup=markup)


async def on_new(update: Update, context: Context) -> None:
    """Forget the chat's context: the next question stands on its own."""
    if not (update.effective_message and update.effective_chat):
        return  # registered only for updates that carry it
    services(context).conversations.forget(update.effective_chat.id)
    await send_chunks(update.effective_message, [render.fixed(render.STARTED_AFRESH)])


async def on_reindex(update: Update, context: Context) -> None:
    """Rebuild the index from the corpus and swap the engine, without a restart (admins only)."""
    svc, message = services(context), update.effective_message
    if message is None:
        return  # registered only for updates that carry it
    if not svc.access.is_admin(update.effective_user.id if update.effective_user else None):
        await send_chunks(message, [render.fixed(render.NOT_ADMIN)])
        return
    if svc.reindex_lock.locked():
        await send_chunks(message, [render.fixed(render.REINDEX_BUSY)])
        return
    async with svc.reindex_lock:
        started = render.REINDEX_STARTED.format(corpus=svc.settings.corpus)
        await send_chunks(message, [render.fixed(started)])
        try:
            # its own thread: the default executor is sized for answering (see app.on_startup)
            engine = await in_own_thread(svc.rebuild)
        except VerbatimError as exc:
            failed = render.REINDEX_FAILED.format(message=exc.message)
            await send_chunks(message, [render.fixed(failed)])
            return
        svc.engine = engine
        info = await asyncio.to_thread(engine.info)
    await send_chunks(message, [render.reindexed_text(info)])


async def in_own_thread(work: Callable[[], T], *, name: str = REINDEX_THREAD) -> T:
    """Run ``work`` in a thread of its own, so a long job never takes an answering worker."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def run() -> None:
        try:
            result = work()
        except BaseException as exc:  # handed to the awaiting coroutine
            loop.call_soon_threadsafe(_settle, done, None, exc)
        else:
            loop.call_soon_threadsafe(_settle, done, result, None)

    threading.Thread(target=run, name=name, daemon=True).start()
    return await done


def _settle(done: asyncio.Future[T], result: T | None, exc: BaseException | None) -> None:
    if done.cancelled():
        return
    if exc is not None:
        done.set_exception(exc)
    else:
        done.set_result(result)  # type: ignore[arg-type]
