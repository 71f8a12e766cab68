"""Message and inline handlers, and ``register`` wiring every handler into the application.

Handlers are a few lines: parse, call the engine off the event loop, render, send.
"""

from __future__ import annotations

import asyncio

from telegram import InlineQueryResultsButton, Update
from telegram.constants import InlineQueryLimit
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.telegram import articles, buttons, commands, render
from bot.telegram.callbacks import PATTERNS, Action
from bot.telegram.guards import gate, on_error
from bot.telegram.parse import (
    LINK_ONLY,
    command_question,
    command_target,
    group_question,
    inline_question,
    private_question,
)
from bot.telegram.replies import answer_question, send_chunks
from bot.telegram.services import services
from bot.telegram.state import new_id

GATE_GROUP = -1
MIN_INLINE_QUERY_CHARS = 3
INLINE_RESULTS = 5
INLINE_CACHE_SECONDS = 300
INLINE_START_PARAMETER = "inline"

Context = ContextTypes.DEFAULT_TYPE

_NEW_MESSAGE = filters.UpdateType.MESSAGE  # edits and channel posts are left alone
PRIVATE_TEXT = filters.ChatType.PRIVATE & _NEW_MESSAGE & filters.TEXT & ~filters.COMMAND
GROUP_TEXT = filters.ChatType.GROUPS & _NEW_MESSAGE & filters.TEXT & ~filters.COMMAND
PRIVATE_NON_TEXT = filters.ChatType.PRIVATE & _NEW_MESSAGE & ~filters.TEXT & filters.ATTACHMENT
#: Articles sent in: a file, or a message that is only a link (checked before questions).
PRIVATE_DOCUMENT = filters.ChatType.PRIVATE & _NEW_MESSAGE & filters.Document.ALL
PRIVATE_LINK = PRIVATE_TEXT & filters.Regex(LINK_ONLY)
PRIVATE_UNKNOWN_COMMAND = filters.ChatType.PRIVATE & _NEW_MESSAGE & filters.COMMAND
GROUP_UNKNOWN_COMMAND = filters.ChatType.GROUPS & _NEW_MESSAGE & filters.COMMAND


async def on_private_text(update: Update, context: Context) -> None:
    if not (update.effective_message):
        return  # registered only for updates that carry it
    await answer_question(update, context, private_question(update.effective_message))


async def on_group_text(update: Update, context: Context) -> None:
    """Answer a group message only when it mentions the bot or replies to it."""
    message = update.effective_message
    if message is None:
        return  # registered only for updates that carry it
    question = group_question(message, context.bot.username, context.bot.id)
    if question is None:
        return
    if not question:
        hint = render.EMPTY_MENTION.format(bot=context.bot.username)
        await send_chunks(message, [render.fixed(hint)])
        return
    await answer_question(update, context, question)


async def on_ask(update: Update, context: Context) -> None:
    message = update.effective_message
    if message is None:
        return  # registered only for updates that carry it
    question = command_question(message)
    if not question:
        await send_chunks(message, [render.fixed(render.ASK_USAGE)])
        return
    await answer_question(update, context, question)


async def on_non_text(update: Update, context: Context) -> None:
    if not (update.effective_message):
        return  # registered only for updates that carry it
    await send_chunks(update.effective_message, [render.fixed(render.NON_TEXT)])


async def on_unknown_command(update: Update, context: Context) -> None:
    if not (update.effective_message):
        return  # registered only for updates that carry it
    await send_chunks(update.effective_message, [render.fixed(render.UNKNOWN_COMMAND)])


async def on_group_unknown_command(update: Update, context: Context) -> None:
    """``/frobnicate@this_bot`` in a group; a bare ``/frobnicate`` may be for another bot."""
    message = update.effective_message
    if message is None:
        return  # registered only for updates that carry it
    target = command_target(message, context.bot.username)
    if target is not None and target.lower() == context.bot.username.lower():
        await send_chunks(message, [render.fixed(render.UNKNOWN_COMMAND)])


async def on_inline_query(update: Update, context: Context) -> None:
    """``@bot question`` in any chat: the top quotes, each inserting itself with its citation."""
    svc, query = services(context), update.inline_query
    if query is None:
        return  # registered only for updates that carry it
    question = inline_question(query.query, InlineQueryLimit.MAX_QUERY_LENGTH)
    if len(question) < MIN_INLINE_QUERY_CHARS:
        await query.answer(
            [], cache_time=INLINE_CACHE_SECONDS, button=_inline_button(render.INLINE_HINT)
        )
        return
    if not await svc.inline_limiter.try_acquire(query.from_user.id):
        await query.answer(
            [], cache_time=0, is_personal=True, button=_inline_button(render.RATE_LIMITED)
        )
        return
    answer = await asyncio.to_thread(svc.engine.answer, question, top_k=INLINE_RESULTS)
    results = render.inline_results(answer, new_id())
    button = None if results else _inline_button(render.INLINE_NOT_FOUND)
    await query.answer(results, cache_time=INLINE_CACHE_SECONDS, button=button)


def _inline_button(text: str) -> InlineQueryResultsButton:
    return InlineQueryResultsButton(text=text, start_parameter=INLINE_START_PARAMETER)


def register(app: Application) -> None:
    """Add the access gate, every handler and the error handler to ``app``."""
    app.add_handler(TypeHandler(Update, gate), group=GATE_GROUP)
    for name, callback in (
        ("start", commands.on_start),
        ("help", commands.on_help),
        ("about", commands.on_about),
        ("sources", commands.on_sources),
        ("new", commands.on_new),
        ("reindex", commands.on_reindex),
        ("ask", on_ask),
    ):
        app.add_handler(CommandHandler(name, callback, filters=_NEW_MESSAGE))
    app.add_handler(MessageHandler(PRIVATE_UNKNOWN_COMMAND, on_unknown_command))
    app.add_handler(MessageHandler(GROUP_UNKNOWN_COMMAND, on_group_unknown_command))
    app.add_handler(MessageHandler(PRIVATE_LINK, articles.on_link))
    app.add_handler(MessageHandler(PRIVATE_TEXT, on_private_text))
    app.add_handler(MessageHandler(GROUP_TEXT, on_group_text))
    app.add_handler(MessageHandler(PRIVATE_DOCUMENT, articles.on_document))
    app.add_handler(MessageHandler(PRIVATE_NON_TEXT, on_non_text))
    for action, callback in (
        (Action.MORE, buttons.on_more),
        (Action.CONTEXT, buttons.on_context),
        (Action.FEEDBACK, buttons.on_feedback),
        (Action.SOURCES_PAGE, buttons.on_sources_page),
    ):
        app.add_handler(CallbackQueryHandler(callback, pattern=PATTERNS[action]))
    app.add_handler(CallbackQueryHandler(buttons.on_stale))
    app.add_handler(InlineQueryHandler(on_inline_query))
    app.add_error_handler(on_error)
