"""runner.py: stopping is prompt even with answers queued behind Telegram's flood limits."""

from __future__ import annotations

import asyncio
import time

from bot.telegram.runner import STOP_GRACE_SECONDS
from tests.support.telegram.botapi_standin import BotApiStandIn
from tests.support.telegram.harness import GROUP, SEED_QUESTION, BotFactory
from tests.support.telegram.updates import User, mention_entity

#: Telegram lets a bot send 20 messages a minute to one group (python-telegram-bot's default).
GROUP_BURST = 20
BACKLOG = 12
#: Generous: the grace period, plus the time to close the HTTP client and the stand-in's poll.
STOP_BOUND_SECONDS = STOP_GRACE_SECONDS + 5.0


async def test_stop_with_a_flood_limited_backlog_is_prompt(
    standin: BotApiStandIn, start_bot: BotFactory
) -> None:
    """Questions queued behind a group's flood limit do not hold up stopping (it took minutes:
    every queued answer waited 3 s for the group's next send before the bot could stop)."""
    bot = await start_bot()
    text = f"@{standin.username} {SEED_QUESTION}"
    entities = [mention_entity(text, f"@{standin.username}")]
    for i in range(GROUP_BURST + BACKLOG):
        standin.send(User(50_000 + i, f"Member {i}"), text, chat=GROUP, entities=entities)
    await standin.wait_for(lambda: len(standin.sent_to(GROUP["id"])) >= GROUP_BURST, timeout=60)

    started = time.perf_counter()
    bot.stop.set()
    await asyncio.wait_for(bot.task, STOP_BOUND_SECONDS * 4)
    stopped_in = time.perf_counter() - started
    assert stopped_in < STOP_BOUND_SECONDS, f"stopping took {stopped_in:.1f}s"
