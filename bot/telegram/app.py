"""Build the python-telegram-bot ``Application``: endpoint, limits, defaults, handlers.

The Bot API endpoint comes from ``TELEGRAM_API_BASE_URL`` (a self-hosted server, or the
tests' stand-in). Updates are processed concurrently in fair turns (fair.py), outgoing calls
pass the rate limiter,
and the token is registered for redaction from logs before anything can log it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from concurrent.futures import ThreadPoolExecutor

from telegram import BotCommand, BotCommandScopeChat, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, BaseRateLimiter, Defaults

from bot.settings import Settings
from bot.telegram import handlers, render
from bot.telegram.fair import FairUpdateProcessor
from bot.telegram.ratelimit import RetryingRateLimiter
from bot.telegram.redact import install_redaction
from bot.telegram.services import SERVICES_KEY, Services

log = logging.getLogger(__name__)

PTB_TIMEDELTA_ENV = "PTB_TIMEDELTA"
BOT_PATH = "/bot"
#: Engine calls in flight at least, whatever the cores (one slow call never stops the rest).
MIN_ANSWERING_WORKERS = 2
FILE_BOT_PATH = "/file/bot"


class MissingTokenError(ValueError):
    """No bot token in the settings."""


def file_base_url(base_url: str) -> str:
    """The file endpoint matching a ``.../bot`` API base URL (``.../file/bot``)."""
    head, sep, tail = base_url.rpartition(BOT_PATH)
    return f"{head}{FILE_BOT_PATH}{tail}" if sep and not tail.strip("/") else base_url


def build_application(
    settings: Settings, services: Services, *, rate_limiter: BaseRateLimiter | None = None
) -> Application:
    """The bot, ready to ``initialize()``; ``rate_limiter`` replaces the default limiter."""
    if settings.telegram_bot_token is None or not settings.telegram_bot_token.get_secret_value():
        raise MissingTokenError("TELEGRAM_BOT_TOKEN is not set")
    token = settings.telegram_bot_token.get_secret_value().strip()
    install_redaction(token)
    # Opt in to python-telegram-bot's coming timedelta time periods now; without it every
    # 429 (RetryAfter) emits a deprecation warning.
    os.environ.setdefault(PTB_TIMEDELTA_ENV, "true")
    timeout = settings.telegram_timeout_seconds
    app = (
        Application.builder()
        .token(token)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(file_base_url(settings.telegram_api_base_url))
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .rate_limiter(rate_limiter or RetryingRateLimiter())
        .concurrent_updates(FairUpdateProcessor())  # round-robin across users
        .connect_timeout(timeout)
        .read_timeout(timeout)
        .write_timeout(timeout)
        .pool_timeout(timeout)
        .post_init(on_startup)
        .build()
    )
    app.bot_data[SERVICES_KEY] = services
    handlers.register(app)
    return app


def answering_workers() -> int:
    """Threads that run engine calls: one per core this process may use (at least two)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(MIN_ANSWERING_WORKERS, cores)


async def on_startup(app: Application) -> None:
    """Size the answering threads; register the commands (admins also see /reindex).

    Engine calls run in the event loop's default executor. Python's default (cores + 4
    threads) ran six answers at once on two cores, each slowing the others: with 50 users
    asking at once, each user's first reply came at p95 2.6 s; with one thread per core,
    1.2 s (``benchmarks/bot_load.py``). Long jobs (/reindex) run in a thread of their own.
    """
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=answering_workers(), thread_name_prefix="verbatim-answer")
    )
    public = [BotCommand(name, about) for name, about in render.COMMANDS]
    await app.bot.set_my_commands(public)
    admin = public + [BotCommand(name, about) for name, about in render.ADMIN_COMMANDS]
    for admin_id in sorted(app.bot_data[SERVICES_KEY].access.admin_user_ids):
        # fails for an admin who has not started a chat with the bot yet; not worth stopping
        with contextlib.suppress(TelegramError):
            await app.bot.set_my_commands(admin, scope=BotCommandScopeChat(admin_id))
