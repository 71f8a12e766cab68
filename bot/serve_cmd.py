"""``verbatim serve``: run the Telegram bot (long polling, or a webhook with VERBATIM_WEBHOOK_URL).

Fails fast, with one clear line and exit code 2, when the token is missing or rejected or
the index is missing. SIGTERM and Ctrl-C stop it cleanly: no new updates are taken, the
answers in flight are finished and sent, then it exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Iterator
from typing import Any

from bot.settings import Settings

EXIT_OK = 0
EXIT_UNREACHABLE = 1
EXIT_CONFIG = 2
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
QUIET_LOGGERS = ("httpx", "httpcore")

NO_TOKEN = (
    "TELEGRAM_BOT_TOKEN is not set. Create a bot with @BotFather and put its token in the "
    "environment or in .env (TELEGRAM_BOT_TOKEN=...)."
)
REJECTED_TOKEN = (
    "Telegram rejected the bot token in TELEGRAM_BOT_TOKEN ({reason}). Check it with "
    "@BotFather, and TELEGRAM_API_BASE_URL if you use your own Bot API server."
)
UNREACHABLE = "Could not reach the Telegram Bot API at {url}: {reason}"
REFUSED = "Telegram refused to start the bot: {reason}"
CANNOT_LISTEN = (
    "Could not listen for webhook updates on {where} ({reason}); set VERBATIM_WEBHOOK_LISTEN "
    "and VERBATIM_WEBHOOK_PORT to an address and free port of this machine."
)
BUILD_HINT = "Build it with: verbatim index PATH/TO/ARTICLES --index {index_dir}"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``serve`` (``--index`` and the other common flags are added by the CLI)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "serve",
        help="run the Telegram bot",
        description=(
            "Run the Telegram bot: long polling by default, a webhook when "
            "VERBATIM_WEBHOOK_URL is set. Needs TELEGRAM_BOT_TOKEN and a built index."
        ),
    )
    parser.set_defaults(func=run)
    return parser


def _fail(message: str, code: int = EXIT_CONFIG) -> int:
    print(f"verbatim serve: {message}", file=sys.stderr)
    return code


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Serve until SIGTERM or Ctrl-C; returns the exit code."""
    from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError

    from bot.telegram.redact import install_redaction, redact

    token = (
        settings.telegram_bot_token.get_secret_value().strip()
        if settings.telegram_bot_token
        else ""
    )
    if not token:
        return _fail(NO_TOKEN)
    install_redaction(token)
    try:
        with _quiet(QUIET_LOGGERS):
            return _serve(settings, token)
    except InvalidToken as exc:
        return _fail(REJECTED_TOKEN.format(reason=redact(str(exc))))
    except BadRequest as exc:  # e.g. setWebhook refusing the URL
        return _fail(REFUSED.format(reason=redact(exc.message)))
    except NetworkError as exc:
        url = settings.telegram_api_base_url
        return _fail(UNREACHABLE.format(url=url, reason=redact(str(exc))), EXIT_UNREACHABLE)
    except TelegramError as exc:
        return _fail(REFUSED.format(reason=redact(exc.message)))
    except OSError as exc:  # the webhook port is taken or not ours to bind
        where = f"{settings.webhook_listen}:{settings.webhook_port}"
        return _fail(CANNOT_LISTEN.format(where=where, reason=exc))


@contextlib.contextmanager
def _quiet(names: tuple[str, ...]) -> Iterator[None]:
    """These loggers at WARNING while serving (they log every request at INFO), then as they
    were: a process that goes on after ``serve`` returns (tests, a script) keeps its logging."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _serve(settings: Settings, token: str) -> int:
    from bot.telegram.app import build_application
    from bot.telegram.runner import mode_from_settings, run_bot
    from bot.telegram.services import Services
    from retrieval.engine import Engine
    from retrieval.errors import IndexMissingError, VerbatimError

    asyncio.run(_check_token(settings, token))  # before the slow part: loading the index
    try:
        engine = Engine.open(settings.index_dir, settings.engine())
    except VerbatimError as exc:
        message = exc.message
        if isinstance(exc, IndexMissingError) and "verbatim index" not in message:
            message += " " + BUILD_HINT.format(index_dir=settings.index_dir)
        return _fail(message)
    services = Services.create(settings, engine)
    try:
        app = build_application(settings, services)

        async def serve() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in STOP_SIGNALS:
                # only the main thread may set signal handlers
                with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
                    loop.add_signal_handler(sig, stop.set)
            await run_bot(
                app,
                mode_from_settings(settings),
                stop,
                on_ready=lambda line: print(line, file=sys.stderr),
                heartbeat=settings.heartbeat_file,
            )

        asyncio.run(serve())
    finally:
        services.close()
    print("verbatim serve: stopped", file=sys.stderr)
    return EXIT_OK


async def _check_token(settings: Settings, token: str) -> None:
    """getMe with a throwaway client: raises InvalidToken or NetworkError."""
    from telegram import Bot

    bot = Bot(token, base_url=settings.telegram_api_base_url)
    try:
        await bot.initialize()  # calls getMe
    finally:
        await bot.shutdown()
