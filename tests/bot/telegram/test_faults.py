"""Telegram errors scripted through the stand-in: 429, 5xx, 400 parse errors, timeouts, crashes.

Also: the token never reaches the logs, even with python-telegram-bot and httpx at DEBUG.
"""

from __future__ import annotations

import itertools
import logging

import pytest

from bot.telegram import render
from bot.telegram.ratelimit import NETWORK_RETRIES
from bot.telegram.redact import REDACTED
from tests.support.telegram.botapi_standin import BotApiStandIn
from tests.support.telegram.harness import (
    ALICE,
    SEED_QUESTION,
    BotFactory,
    RunningBot,
    quotes_in,
    text_of,
)


def _attempts(standin: BotApiStandIn) -> list[tuple[int, str | None]]:
    return [(r.status, r.fault) for r in standin.requests if r.method == "sendMessage"]


async def test_429_waits_retry_after_then_sends(standin: BotApiStandIn, bot: RunningBot) -> None:
    """429 with retry_after: the bot waits as long as asked, then sends the answer once."""
    standin.fail("sendMessage", "retry_after", retry_after=1)
    asked = standin.send(ALICE, SEED_QUESTION)
    reply = await standin.reply_to(asked)
    refused, sent = (r for r in standin.requests if r.method == "sendMessage")
    assert (refused.status, sent.status) == (429, 200)
    assert sent.at - refused.at >= 1.0  # it waited the time Telegram asked for
    assert quotes_in(text_of(reply))
    await standin.settle()
    assert len(standin.replies_to(asked)) == 1


@pytest.mark.parametrize("failures", [1, 3])
async def test_5xx_is_retried_with_backoff(
    standin: BotApiStandIn, bot: RunningBot, failures: int
) -> None:
    """Server errors: the same reply is sent again with growing pauses; nothing is dropped."""
    standin.fail("sendMessage", "server_error", times=failures)
    asked = standin.send(ALICE, SEED_QUESTION)
    reply = await standin.reply_to(asked)
    await standin.settle()
    assert _attempts(standin) == [(500, "server_error")] * failures + [(200, None)]
    attempts = [r for r in standin.requests if r.method == "sendMessage"]
    assert len({r.params["text"] for r in attempts}) == 1
    pauses = [b.at - a.at for a, b in itertools.pairwise(attempts)]
    assert pauses == sorted(pauses)  # backoff grows
    assert len(standin.replies_to(asked)) == 1 and quotes_in(text_of(reply))


async def test_parse_error_falls_back_to_plain_text(
    standin: BotApiStandIn, bot: RunningBot
) -> None:
    """400 "can't parse entities": the same reply is sent again as plain text."""
    standin.fail("sendMessage", "parse_error")
    asked = standin.send(ALICE, SEED_QUESTION)
    reply = await standin.reply_to(asked)
    (failed,) = [r for r in standin.requests if r.method == "sendMessage" and r.status == 400]
    assert failed.params["parse_mode"] == "HTML"
    assert "parse_mode" not in reply.params
    assert "<blockquote>" not in text_of(reply)
    for quote in quotes_in(text_of(failed)):
        assert all(f"> {line}" in text_of(reply) for line in quote.split("\n"))
    assert "\n[1] " in text_of(reply)
    assert reply.params["reply_markup"] == failed.params["reply_markup"]


async def test_timeout_is_retried(standin: BotApiStandIn, start_bot: BotFactory) -> None:
    """A reply slower than the client's timeout is sent again; the answer arrives once."""
    await start_bot(telegram_timeout_seconds=1.0)
    standin.fail("sendMessage", "timeout", seconds=3.0)
    asked = standin.send(ALICE, SEED_QUESTION)
    reply = await standin.reply_to(asked)
    assert _attempts(standin)[-1] == (200, None)
    assert next(r.fault for r in standin.requests if r.method == "sendMessage") == "timeout"
    assert quotes_in(text_of(reply))
    await standin.settle()
    assert len(standin.replies_to(asked)) == 1


async def test_persistent_failure_apologises_and_logs(
    standin: BotApiStandIn, bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    """When every retry fails the error handler logs the details and apologises in short."""
    standin.fail("sendMessage", "server_error", times=NETWORK_RETRIES + 1)
    asked = standin.send(ALICE, SEED_QUESTION)
    apology = await standin.reply_to(asked)
    assert text_of(apology) == render.ERROR
    logged = [r for r in caplog.records if r.name == "bot.telegram.guards"]
    assert logged and logged[0].exc_info is not None
    assert f"chat {ALICE.id}" in logged[0].getMessage()
    assert "Traceback" not in text_of(apology)


async def test_blocked_by_the_user_is_not_an_error(
    standin: BotApiStandIn, bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    """403 (the user blocked the bot): no retry, no apology to nobody, logged as information."""
    caplog.set_level(logging.INFO)
    standin.fail("sendMessage", "forbidden")
    standin.send(ALICE, SEED_QUESTION)
    await standin.wait_for(
        lambda: any(r.method == "sendMessage" and r.done for r in standin.requests)
    )
    await standin.settle()
    assert _attempts(standin) == [(403, "forbidden")]
    guards = [r for r in caplog.records if r.name == "bot.telegram.guards"]
    assert [r.levelname for r in guards] == ["INFO"]
    assert "cannot write" in guards[0].getMessage()


async def test_token_never_logged(
    standin: BotApiStandIn, start_bot: BotFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """Every library logging at DEBUG, through a failing call: the token shows as redacted."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")  # whatever level an earlier test left it at
    await start_bot()
    standin.fail("sendMessage", "server_error", times=NETWORK_RETRIES + 1)
    asked = standin.send(ALICE, SEED_QUESTION)
    await standin.reply_to(asked)
    logs = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert f"/bot{REDACTED}/getMe" in logs  # httpx logged the URL, and it was redacted
    secret = standin.token.split(":", 1)[1]
    assert standin.token not in logs and secret not in logs
