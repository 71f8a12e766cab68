"""The access gate run before every handler, and the global error handler."""

from __future__ import annotations

import contextlib
import logging

from telegram import InlineQueryResultsButton, Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.telegram import render
from bot.telegram.parse import addressed_to_bot
from bot.telegram.replies import send_chunks
from bot.telegram.services import services
from retrieval.errors import StoreUnavailableError

log = logging.getLogger(__name__)

REFUSED_START_PARAMETER = "private"
#: Where the button of an inline apology leads (the private chat, whose /start explains).
APOLOGY_START_PARAMETER = "inline"

Context = ContextTypes.DEFAULT_TYPE


async def gate(update: object, context: Context) -> None:
    """Let allowed users through; refuse the others politely, once, and stop there.

    In groups only messages addressed to the bot get the refusal; other chatter is ignored.
    """
    if not isinstance(update, Update):
        return
    user, chat = update.effective_user, update.effective_chat
    if services(context).access.allows(user.id if user else None, chat.id if chat else None):
        return
    log.info(
        "refused update %s from user %s in chat %s",
        update.update_id,
        user.id if user else None,
        chat.id if chat else None,
    )
    with contextlib.suppress(TelegramError):
        await _refuse(update, context)
    raise ApplicationHandlerStop


async def _refuse(update: Update, context: Context) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer(render.REFUSED, show_alert=True)
    elif update.inline_query is not None:
        button = InlineQueryResultsButton(
            text=render.REFUSED, start_parameter=REFUSED_START_PARAMETER
        )
        await update.inline_query.answer([], cache_time=0, is_personal=True, button=button)
    elif update.message is not None and addressed_to_bot(
        update.message, context.bot.username, context.bot.id
    ):
        await send_chunks(update.message, [render.fixed(render.REFUSED)])


def describe(update: object) -> str:
    """Where an update came from, for logs (ids only, never the text)."""
    if not isinstance(update, Update):
        return repr(type(update).__name__)
    chat = update.effective_chat
    kind = next(
        (
            name
            for name in (
                "message",
                "callback_query",
                "inline_query",
                "edited_message",
                "channel_post",
            )
            if getattr(update, name, None) is not None
        ),
        "update",
    )
    where = f" in {chat.type} chat {chat.id}" if chat else ""
    return f"update {update.update_id} ({kind}{where})"


async def on_error(update: object, context: Context) -> None:
    """Log the details; tell the user something short and honest, if there is a user.

    An unreachable article store (its server restarting) is a warning, and the user is told to
    try again in a moment: the engine reconnects by itself once the server answers.

    The apology is best effort: whatever goes wrong while sending it is logged, never raised
    (an error handler that fails leaves the user with nothing and the log with a puzzle).
    """
    error = context.error
    if isinstance(error, Forbidden):  # blocked by the user, or removed from the chat
        log.info("cannot write for %s: %s", describe(update), error)
        return
    if isinstance(error, StoreUnavailableError):  # nothing broken here: it will come back
        log.warning("article store unreachable while handling %s: %s", describe(update), error)
        text = render.STORE_UNAVAILABLE
    else:
        log.error("error while handling %s", describe(update), exc_info=error)
        text = render.ERROR
    if not isinstance(update, Update):
        return
    try:
        await _apologise(update, context, text)
    except TelegramError as exc:
        log.info("could not apologise for %s: %s", describe(update), exc)
    except Exception:
        log.exception("could not apologise for %s", describe(update))


async def _apologise(update: Update, context: Context, text: str) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer(text)
    elif update.inline_query is not None:
        # no results, the apology on the button above them; not cached, so typing on retries
        button = InlineQueryResultsButton(text=text, start_parameter=APOLOGY_START_PARAMETER)
        await update.inline_query.answer([], cache_time=0, is_personal=True, button=button)
    elif update.message is not None and addressed_to_bot(
        update.message, context.bot.username, context.bot.id
    ):
        await send_chunks(update.message, [render.fixed(text)])
