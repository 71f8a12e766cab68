"""Callback query handlers: More, Context, 👍 / 👎, /sources pages, and stale buttons.

Every callback query is answered, once: with a short notice, or empty when the reply is a
new message. A button whose state has expired (or whose data is not ours) says so.
"""

from __future__ import annotations

import asyncio

from telegram import CallbackQuery, Message, Update
from telegram.ext import ContextTypes

from bot.telegram import render
from bot.telegram.callbacks import Callback, decode
from bot.telegram.replies import edit_chunk, edit_markup, send_chunks
from bot.telegram.services import Services, services
from bot.telegram.state import AnswerState

Context = ContextTypes.DEFAULT_TYPE


def _pressed(
    update: Update, context: Context
) -> tuple[CallbackQuery, Callback | None, Message | None]:
    query = update.callback_query
    if query is None:
        raise TypeError("a button handler got an update without a callback query")
    message = query.message if isinstance(query.message, Message) else None
    return query, decode(query.data), message


def _state(svc: Services, pressed: Callback | None) -> AnswerState | None:
    return svc.states.get(pressed.key) if pressed is not None else None


async def on_more(update: Update, context: Context) -> None:
    """The next quotes for the same question, as a new reply under the answer."""
    svc = services(context)
    query, pressed, message = _pressed(update, context)
    state = _state(svc, pressed)
    if state is None or message is None or pressed is None:
        await query.answer(render.EXPIRED)
        return
    if not await svc.limiter.try_acquire(query.from_user.id):
        await query.answer(render.RATE_LIMITED)
        return
    shown = state.answer
    following = await asyncio.to_thread(
        svc.engine.answer,
        shown.question,
        offset=shown.offset + len(shown.quotes),
        context=state.context,
    )
    await edit_markup(message, render.answer_keyboard(pressed.key, shown, more=False))
    if not following.quotes:
        await query.answer(render.NO_MORE)
        return
    await query.answer()
    key = svc.states.put(AnswerState(following, context=state.context))
    await send_chunks(
        message, render.answer_chunks(following), markup=render.answer_keyboard(key, following)
    )
    await asyncio.to_thread(
        svc.feedback.record_answer,
        key,
        user_id=query.from_user.id,
        chat_type=message.chat.type,
        question=following.question,
        status=following.status,
        answer_shown=render.answer_plain(following),
    )


async def on_context(update: Update, context: Context) -> None:
    """The sentences around a quote, verbatim, as a reply under the answer."""
    svc = services(context)
    query, pressed, message = _pressed(update, context)
    state = _state(svc, pressed)
    quotes = state.answer.quotes if state else ()
    if state is None or pressed is None or message is None or not 0 <= pressed.arg < len(quotes):
        await query.answer(render.EXPIRED)
        return
    quote = quotes[pressed.arg]
    try:
        extract = await asyncio.to_thread(
            svc.engine.context, quote.source.id, quote.start, quote.end
        )
    except (KeyError, ValueError):  # the article changed or left the index since
        extract = None
    if extract is None or quote.text not in extract.text:
        await query.answer(render.EXPIRED)
        return
    await query.answer()
    number = state.answer.offset + pressed.arg + 1
    await send_chunks(message, render.context_chunks(extract, quote, number))


async def on_feedback(update: Update, context: Context) -> None:
    """Store 👍 (1) or 👎 (-1) for the answer; works until the feedback log is cleared."""
    svc = services(context)
    query, pressed, _ = _pressed(update, context)
    if pressed is None or pressed.arg not in render.THANKS:
        await query.answer(render.EXPIRED)
        return
    stored = await asyncio.to_thread(
        svc.feedback.rate, pressed.key, user_id=query.from_user.id, rating=pressed.arg
    )
    await query.answer(render.THANKS[pressed.arg] if stored else render.EXPIRED)


async def on_sources_page(update: Update, context: Context) -> None:
    """Turn a /sources page; a message that is gone (or too old to edit) says "expired"."""
    query, pressed, message = _pressed(update, context)
    if pressed is None or message is None:
        await query.answer(render.EXPIRED)
        return
    docs = await asyncio.to_thread(services(context).engine.sources)
    page, markup = render.sources_page(docs, pressed.arg)
    edited = await edit_chunk(message, page, markup=markup)
    await query.answer(None if edited else render.EXPIRED)


async def on_stale(update: Update, context: Context) -> None:
    """Any other button: data that is not ours, or from an older version of the bot."""
    if update.callback_query is not None:
        await update.callback_query.answer(render.EXPIRED)
