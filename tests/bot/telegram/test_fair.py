"""fair.py: turns go round the users, one question per user at a time, never two rounds ahead."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable

import pytest
from telegram import Update

from bot.telegram.fair import FairScheduler, SchedulerClosed, turn_key
from tests.support.telegram.botapi_standin import BotApiStandIn
from tests.support.telegram.harness import ALICE, GROUP, SEED_QUESTION, BotFactory
from tests.support.telegram.updates import User, message, private_chat


async def _job(
    scheduler: FairScheduler,
    key: Hashable,
    label: str,
    log: list[str],
    release: asyncio.Event | None = None,
) -> None:
    async with scheduler.turn(key):
        log.append(f"start {label}")
        await (release.wait() if release is not None else asyncio.sleep(0))
        log.append(f"end {label}")


async def test_turns_go_round_the_users() -> None:
    """Three users with three questions each, all at once: every first before any second."""
    scheduler, log = FairScheduler(workers=1), []
    jobs = [_job(scheduler, user, f"{user}{n}", log) for user in "ABC" for n in (1, 2, 3)]
    await asyncio.gather(*jobs)
    started = [entry.split()[1] for entry in log if entry.startswith("start")]
    assert started == ["A1", "B1", "C1", "A2", "B2", "C2", "A3", "B3", "C3"]


async def test_one_question_per_user_at_a_time() -> None:
    scheduler, log = FairScheduler(workers=4), []
    await asyncio.gather(*(_job(scheduler, "A", f"A{n}", log) for n in range(4)))
    assert log == [f"{kind} A{n}" for n in range(4) for kind in ("start", "end")]


async def test_no_question_starts_two_rounds_ahead() -> None:
    """A quick user waits for a slow user's first answer before their own third starts."""
    scheduler, log = FairScheduler(workers=4), []
    slow = asyncio.Event()
    tasks = [asyncio.create_task(_job(scheduler, "B", "B1", log, release=slow))]
    tasks += [asyncio.create_task(_job(scheduler, "A", f"A{n}", log)) for n in (1, 2, 3)]
    for _ in range(20):
        await asyncio.sleep(0)
    assert "end A2" in log and "start A3" not in log
    slow.set()
    await asyncio.gather(*tasks)
    assert log.index("end B1") < log.index("start A3")


async def test_close_turns_the_waiting_away() -> None:
    scheduler, log = FairScheduler(workers=1), []
    held = asyncio.Event()
    first = asyncio.create_task(_job(scheduler, "A", "A1", log, release=held))
    waiting = asyncio.create_task(_job(scheduler, "B", "B1", log))
    await asyncio.sleep(0)
    assert scheduler.close() == 1
    with pytest.raises(SchedulerClosed):
        await waiting
    held.set()
    await first
    with pytest.raises(SchedulerClosed):
        await _job(scheduler, "C", "C1", log)


async def test_a_cancelled_question_leaves_its_place() -> None:
    scheduler, log = FairScheduler(workers=1), []
    held = asyncio.Event()
    first = asyncio.create_task(_job(scheduler, "A", "A1", log, release=held))
    gone = asyncio.create_task(_job(scheduler, "B", "B1", log))
    after = asyncio.create_task(_job(scheduler, "C", "C1", log))
    await asyncio.sleep(0)
    gone.cancel()
    held.set()
    await asyncio.gather(first, after)
    assert "start B1" not in log and "end C1" in log
    assert (scheduler.waiting, scheduler.in_progress) == (0, 0)


async def test_replies_come_round_the_users(standin: BotApiStandIn, start_bot: BotFactory) -> None:
    """Three users send four questions each at once: each user's first reply arrives before
    any user's third (the real bot and engine; order only, no timings)."""
    await start_bot()
    users = [User(70_000 + i, f"Asker {i}") for i in range(3)]
    asked = {}
    for user in users:
        for n in range(4):
            asked[(user.id, standin.send(user, f"{SEED_QUESTION} ({n + 1})")["message_id"])] = n
    await standin.wait_for(lambda: len(standin.calls("sendMessage")) >= len(asked), timeout=60)
    order = [
        asked[(int(r.params["chat_id"]), r.params["reply_parameters"]["message_id"])]
        for r in standin.calls("sendMessage")
        if r.params.get("reply_parameters")
    ]
    assert sorted(order) == sorted(asked.values())  # each question answered once
    last_first = max(i for i, n in enumerate(order) if n == 0)
    first_third = min(i for i, n in enumerate(order) if n == 2)
    assert last_first < first_third, order


async def test_a_slow_group_holds_no_one_back() -> None:
    """A group waiting for its own flood limit does not stop private askers' later rounds."""
    scheduler, log = FairScheduler(workers=4, gated=lambda key: key != "group"), []
    slow = asyncio.Event()
    group = asyncio.create_task(_job(scheduler, "group", "G1", log, release=slow))
    await asyncio.gather(*(_job(scheduler, "A", f"A{n}", log) for n in (1, 2, 3)))
    assert "end A3" in log and "end G1" not in log
    slow.set()
    await group


PRESS = {"id": "1", "from": ALICE.to_dict(), "chat_instance": "c", "data": "x"}


@pytest.mark.parametrize(
    ("update", "key"),
    [
        ({"message": message(message_id=1, chat=private_chat(ALICE), sender=ALICE)}, ("user", 1)),
        ({"message": message(message_id=1, chat=GROUP, sender=ALICE)}, ("chat", GROUP["id"])),
        ({"callback_query": PRESS}, ("query", 1)),
    ],
)
def test_turn_keys(update: dict, key: tuple[str, int]) -> None:
    key = (key[0], ALICE.id) if key[1] == 1 else key
    assert turn_key(Update.de_json({"update_id": 1, **update}, None)) == key  # type: ignore[arg-type]
