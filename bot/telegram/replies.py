"""Sending what render.py made: HTML first, plain text when Telegram cannot parse it.

Also the typing indicator, and ``answer_question``, the one path from a question to a reply
shared by private chats, groups and /ask (follow-ups included).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence

from telegram import (
    Chat,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot.telegram import render
from bot.telegram.render import Chunk
from bot.telegram.services import Services, services
from bot.telegram.state import AnswerState
from retrieval.types import PriorTurn

log = logging.getLogger(__name__)

TYPING_REFRESH_SECONDS = 4.5  # Telegram shows "typing…" for 5 s per chat action
PARSE_ERROR_MARK = "can't parse entities"
NOT_MODIFIED_MARK = "message is not modified"
#: BadRequest descriptions for a message that can no longer be edited (deleted, or too old).
GONE_MARKS = ("message to edit not found", "message can't be edited")

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | None


def is_parse_error(exc: BadRequest) -> bool:
    return PARSE_ERROR_MARK in exc.message.lower()


async def send_chunks(
    message: Message, chunks: Sequence[Chunk], *, markup: Markup = None, quote: bool = True
) -> list[Message]:
    """Send ``chunks`` to ``message``'s chat: the first quotes it, the last carries ``markup``.

    Returns the messages sent, in order.
    """
    if not chunks:
        raise ValueError("nothing to send: the text rendered to no message")
    sent = []
    for i, chunk in enumerate(chunks):
        reply = ReplyParameters(message.message_id, allow_sending_without_reply=True)
        last = i == len(chunks) - 1
        sent.append(
            await _send(
                message,
                chunk,
                reply=reply if quote and i == 0 else None,
                markup=markup if last else None,
            )
        )
    return sent


async def _send(
    message: Message, chunk: Chunk, *, reply: ReplyParameters | None, markup: Markup
) -> Message:
    try:
        return await message.reply_text(
            chunk.html,
            parse_mode=ParseMode.HTML,
            reply_parameters=reply,
            reply_markup=markup,
            do_quote=False,
        )
    except BadRequest as exc:
        if not is_parse_error(exc):
            raise
        log.warning("Telegram could not parse a reply (%s); sending it as plain text", exc)
        return await message.reply_text(
            chunk.plain,
            parse_mode=None,
            reply_parameters=reply,
            reply_markup=markup,
            do_quote=False,
        )


async def edit_chunk(
    message: Message, chunk: Chunk, *, markup: InlineKeyboardMarkup | None
) -> bool:
    """Replace ``message``'s text (plain-text fallback; an unchanged message is fine).

    Returns False when the message can no longer be edited (deleted, or too old).
    """
    try:
        try:
            await message.edit_text(chunk.html, parse_mode=ParseMode.HTML, reply_markup=markup)
        except BadRequest as exc:
            if not is_parse_error(exc):
                raise
            await message.edit_text(chunk.plain, parse_mode=None, reply_markup=markup)
    except BadRequest as exc:
        description = exc.message.lower()
        if any(mark in description for mark in GONE_MARKS):
            return False
        if NOT_MODIFIED_MARK not in description:
            raise
    return True


async def edit_markup(message: Message, markup: InlineKeyboardMarkup | None) -> None:
    """Best effort: change the buttons under ``message`` (it may be too old to edit)."""
    with contextlib.suppress(BadRequest):
        await message.edit_reply_markup(markup)


@contextlib.asynccontextmanager
async def typing(message: Message) -> AsyncIterator[None]:
    """Show "typing…" in ``message``'s chat until the block ends (best effort)."""

    async def refresh() -> None:
        while True:
            await asyncio.sleep(TYPING_REFRESH_SECONDS)
            with contextlib.suppress(TelegramError):
                await message.reply_chat_action(ChatAction.TYPING)

    with contextlib.suppress(TelegramError):
        await message.reply_chat_action(ChatAction.TYPING)
    task = asyncio.create_task(refresh())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def earlier_turn(svc: Services, message: Message, chat: Chat, bot_id: int) -> PriorTurn | None:
    """What a question may lean on: the bot's answer it replies to, else in a private chat the
    last answered question (a group has too many voices for "the last one")."""
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot_id:
        turn = svc.conversations.answered_by(chat.id, replied.message_id)
        if turn is not None:
            return turn
    if chat.type == ChatType.PRIVATE:
        return svc.conversations.last(chat.id)
    return None


async def answer_question(
    update: Update, context: ContextTypes.DEFAULT_TYPE, question: str
) -> None:
    """Answer ``question`` in reply to the update's message, with buttons, and log it.

    A follow-up is answered in the context of the earlier question it leans on
    (:func:`earlier_turn`); every answer is remembered as the chat's next context. The update
    has waited for its fair turn (round-robin across users, see fair.py).
    """
    svc = services(context)
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or chat is None:
        return  # registered only for updates that carry it
    user_id = user.id if user else chat.id
    if not await svc.limiter.try_acquire(user_id):
        await send_chunks(message, [render.fixed(render.RATE_LIMITED)])
        return
    engine = svc.engine
    prior = earlier_turn(svc, message, chat, context.bot.id)
    async with typing(message):
        answer = await asyncio.to_thread(engine.answer, question, context=prior)
    used = prior if answer.context_question is not None else None
    key = svc.states.put(AnswerState(answer, context=used))
    sent = await send_chunks(
        message, render.answer_chunks(answer), markup=render.answer_keyboard(key, answer)
    )
    if answer.answered:
        turn = PriorTurn.of(answer)
        svc.conversations.remember(chat.id, [m.message_id for m in sent], turn)
    await asyncio.to_thread(
        svc.feedback.record_answer,
        key,
        user_id=user_id,
        chat_type=chat.type,
        question=question,
        status=answer.status,
        answer_shown=render.answer_plain(answer),
    )
