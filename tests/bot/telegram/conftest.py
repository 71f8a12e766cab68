"""Fixtures for the Telegram face: loopback-only network, the Bot API stand-in, running bots.

The bots are the real python-telegram-bot ``Application`` over real HTTP, answering with the
real engine over the session's seeds index (``seeds_engine`` from tests/conftest.py). Each
test's conversation is appended to a transcript written at the end of the run (path printed
in the summary; ``VERBATIM_TRANSCRIPT_DIR`` picks the folder).
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import BaseRateLimiter

from bot.settings import Settings
from bot.telegram.app import build_application
from bot.telegram.ratelimit import RetryingRateLimiter
from bot.telegram.runner import Mode, Polling, mode_from_settings, run_bot
from bot.telegram.services import Services
from retrieval.engine import Engine
from tests.support.telegram.botapi_standin import BotApiStandIn
from tests.support.telegram.harness import ADMIN, BotFactory, RunningBot

TRANSCRIPT_FILE = "telegram_transcript.md"
HOSTILE_FILE = "hostile_inputs.md"
STOP_SECONDS = 30.0
#: Backoff short enough that retry tests stay quick.
TEST_BACKOFF_SECONDS = 0.05


# ---- network: loopback only ------------------------------------------------------------------


def _is_loopback(address: Any) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse any connection that does not go to this machine."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guard(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            raise ConnectionRefusedError(f"test blocked a connection to {address!r}")

    def connect(self: socket.socket, address: Any) -> None:
        guard(self, address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        guard(self, address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


# ---- transcript ------------------------------------------------------------------------------


@dataclass
class Record:
    """What the run produced for people to read: the conversations and the hostile inputs."""

    sections: list[str] = field(default_factory=list)
    hostile: list[tuple[str, str]] = field(default_factory=list)


_RECORD = Record()


def _out_dir(factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("VERBATIM_TRANSCRIPT_DIR")
    out = Path(chosen) if chosen else factory.getbasetemp()
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture(scope="session")
def record(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Record]:
    yield _RECORD
    out = _out_dir(tmp_path_factory)
    if _RECORD.sections:
        text = "# Telegram bot: end-to-end conversations\n\n" + "\n\n".join(_RECORD.sections)
        (out / TRANSCRIPT_FILE).write_text(text, encoding="utf-8")
    if _RECORD.hostile:
        rows = "\n".join(f"| {case} | {outcome} |" for case, outcome in _RECORD.hostile)
        table = f"| Input | What the bot did |\n|---|---|\n{rows}\n"
        (out / HOSTILE_FILE).write_text(table, encoding="utf-8")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _RECORD.sections or _RECORD.hostile:
        base = os.environ.get("VERBATIM_TRANSCRIPT_DIR") or str(
            terminalreporter.config._tmp_path_factory.getbasetemp()
        )
        terminalreporter.write_line(f"Telegram transcript: {Path(base) / TRANSCRIPT_FILE}")
        terminalreporter.write_line(f"Hostile inputs table: {Path(base) / HOSTILE_FILE}")


# ---- the stand-in and running bots -------------------------------------------------------


@pytest.fixture
async def standin(request: pytest.FixtureRequest, record: Record) -> AsyncIterator[BotApiStandIn]:
    """A fresh Bot API stand-in; its conversation joins the transcript."""
    async with BotApiStandIn() as api:
        yield api
    doc = (request.node.function.__doc__ or "").strip().splitlines()
    title = doc[0] if doc else request.node.name
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None:
        title = f"{title} [{callspec.id}]"
    if api.transcript.lines:
        record.sections.append(
            f"## {title}\n`{request.node.nodeid}`\n\n```\n{api.transcript.text()}```"
        )


def make_settings(api: BotApiStandIn, tmp_path: Path, seeds: Path, **overrides: Any) -> Settings:
    """Settings for a bot talking to ``api`` only; nothing read from .env or the environment."""
    values: dict[str, Any] = {
        "telegram_bot_token": api.token,
        "telegram_api_base_url": api.base_url,
        "index_dir": seeds,
        "feedback_db": tmp_path / "feedback.sqlite3",
        "allowed_user_ids": frozenset(),
        "allowed_chat_ids": frozenset(),
        "admin_user_ids": frozenset({ADMIN.id}),
        "rate_limit_per_minute": 20,
        "webhook_url": None,
        "telegram_timeout_seconds": 5.0,
        "heartbeat_file": None,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(autouse=True)
def no_config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep a developer's verbatim.toml out of the tests."""
    monkeypatch.setenv("VERBATIM_CONFIG", str(tmp_path / "absent.toml"))


@pytest.fixture
async def start_bot(
    standin: BotApiStandIn, tmp_path: Path, seeds_index: Path, seeds_engine: Engine
) -> AsyncIterator[BotFactory]:
    """``await start_bot(**settings)``: a real Application polling the stand-in."""
    running: list[RunningBot] = []

    async def start(
        *,
        engine: Engine | None = None,
        mode: Mode | None = None,
        rate_limiter: BaseRateLimiter | None = None,  # type: ignore[type-arg]
        **overrides: Any,
    ) -> RunningBot:
        settings = make_settings(standin, tmp_path, seeds_index, **overrides)
        services = Services.create(settings, engine or seeds_engine)
        limiter = rate_limiter or RetryingRateLimiter(backoff_seconds=TEST_BACKOFF_SECONDS)
        app = build_application(settings, services, rate_limiter=limiter)
        stop = asyncio.Event()
        mode = mode or mode_from_settings(settings)
        task = asyncio.create_task(run_bot(app, mode, stop))
        bot = RunningBot(app, services, settings, stop, task)
        running.append(bot)
        started = "getUpdates" if isinstance(mode, Polling) else "setWebhook"
        await standin.wait_for(lambda: standin.calls(started, delivered=False) or task.done())
        if task.done():
            task.result()  # raise what stopped it
        return bot

    yield start
    for bot in running:
        bot.stop.set()
        await asyncio.wait_for(bot.task, STOP_SECONDS)
        bot.services.close()


@pytest.fixture
async def bot(start_bot: BotFactory) -> RunningBot:
    """A bot with the default test settings (everyone allowed, ADMIN is admin)."""
    return await start_bot()
