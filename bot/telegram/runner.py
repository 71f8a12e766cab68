"""Run a built application until told to stop: long polling, or a webhook server.

``run_bot`` is the one lifecycle for ``verbatim serve`` and the tests: initialize (getMe,
which fails fast on a rejected token), startup hook, start receiving, wait for ``stop``,
then stop receiving, finish the updates in flight, and shut down.

Finishing is bounded: answers still queued behind Telegram's flood limits (20 messages a
minute per group) could take minutes, so after ``STOP_GRACE_SECONDS`` the questions still
waiting for a turn are turned away and the updates still running are cancelled, and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from telegram import Update
from telegram.ext import Application

from bot.settings import Settings
from bot.telegram.fair import FairUpdateProcessor

log = logging.getLogger(__name__)

ALLOWED_UPDATES = (Update.MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY)
DEFAULT_WEBHOOK_PATH = "telegram"
HEARTBEAT_SECONDS = 30.0
SECRET_TOKEN_BYTES = 32
#: How long stopping waits for the updates in progress before cancelling what is left.
STOP_GRACE_SECONDS = 4.0
#: python-telegram-bot names the task of each update it processes concurrently so.
UPDATE_TASK_NAME = "Application:{bot_id}:process_concurrent_update"


@dataclass(frozen=True)
class Polling:
    """Receive updates with getUpdates long polling."""


@dataclass(frozen=True)
class Webhook:
    """Receive updates on ``listen:port/<path of url>``, behind the public ``url``.

    Telegram sends ``secret_token`` in the X-Telegram-Bot-Api-Secret-Token header of every
    request; python-telegram-bot's server refuses requests without it (403).
    """

    url: str
    listen: str
    port: int
    secret_token: str

    @property
    def url_path(self) -> str:
        return urlparse(self.url).path.strip("/") or DEFAULT_WEBHOOK_PATH


Mode = Polling | Webhook


def mode_from_settings(settings: Settings) -> Mode:
    """Webhook when ``VERBATIM_WEBHOOK_URL`` is set (with a random secret if none is given)."""
    if not settings.webhook_url:
        return Polling()
    secret = settings.webhook_secret_token
    return Webhook(
        url=settings.webhook_url,
        listen=settings.webhook_listen,
        port=settings.webhook_port,
        secret_token=secret.get_secret_value()
        if secret
        else secrets.token_urlsafe(SECRET_TOKEN_BYTES),
    )


async def run_bot(
    app: Application,
    mode: Mode,
    stop: asyncio.Event,
    *,
    on_ready: Callable[[str], None] | None = None,
    heartbeat: Path | None = None,
) -> None:
    """Serve updates until ``stop`` is set, then finish the answers in flight and shut down.

    Raises InvalidToken when Telegram rejects the token and NetworkError when the Bot API
    cannot be reached, both before anything is received.
    """
    async with app:  # initialize() calls getMe; shutdown() always runs
        if app.post_init is not None:
            await app.post_init(app)
        if app.updater is None:
            raise RuntimeError("the application was built without an updater")
        if isinstance(mode, Webhook):
            await app.updater.start_webhook(
                listen=mode.listen,
                port=mode.port,
                url_path=mode.url_path,
                webhook_url=mode.url,
                secret_token=mode.secret_token,
                allowed_updates=list(ALLOWED_UPDATES),
            )
        else:
            await app.updater.start_polling(allowed_updates=list(ALLOWED_UPDATES))
        await app.start()
        beat = asyncio.create_task(_heartbeat(heartbeat)) if heartbeat else None
        how = f"webhook on {mode.listen}:{mode.port}" if isinstance(mode, Webhook) else "polling"
        log.info("@%s is running (%s)", app.bot.username, how)
        if on_ready is not None:
            on_ready(f"@{app.bot.username} is running ({how}). Stop with Ctrl-C.")
        try:
            await stop.wait()
        finally:
            log.info("stopping: finishing the answers in flight")
            if beat is not None:
                beat.cancel()
            await app.updater.stop()
            await _stop_processing(app)
            if heartbeat is not None:
                heartbeat.unlink(missing_ok=True)


async def _stop_processing(app: Application) -> None:
    """``app.stop()``: finish the updates in progress, within ``STOP_GRACE_SECONDS``."""
    stopping = asyncio.ensure_future(app.stop())  # waits for the updates being processed
    done, _ = await asyncio.wait({stopping}, timeout=STOP_GRACE_SECONDS)
    if not done:
        processor, turned_away = app.update_processor, 0
        if isinstance(processor, FairUpdateProcessor):
            turned_away = processor.scheduler.close()
        name = UPDATE_TASK_NAME.format(bot_id=app.bot.id)
        running = [t for t in asyncio.all_tasks() if t.get_name() == name and not t.done()]
        for task in running:
            task.cancel()
        log.warning(
            "stopped before answering: %d updates waiting for a turn, %d in progress "
            "(still waiting for Telegram after %.0fs)",
            turned_away,
            len(running),
            STOP_GRACE_SECONDS,
        )
    await stopping


async def _heartbeat(path: Path) -> None:
    """Touch ``path`` while the event loop is alive, for a container health check."""
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        with contextlib.suppress(OSError):
            path.touch()
        await asyncio.sleep(HEARTBEAT_SECONDS)
