"""Fair turns for updates: a burst from one user cannot hold up everyone else's first answer.

``FairUpdateProcessor`` replaces python-telegram-bot's first come, first served processing:
every update waits for a turn and at most ``workers`` are handled (engine, then send) at once.
The turns go round the users: every waiting update carries a round number (a user's first
waiting update is in the current round, their next one in the round after), the lowest round
goes first, ties in order of arrival. So with 50 users sending 10 questions each at once, all
50 first questions are answered before any second one, and each user's answers come in the
order asked, one at a time (a user has one update in progress at a time).

Private chats share the bot-wide flood limit, so among them one more rule keeps the order
strict when answers take different times: none starts more than one round ahead of the oldest
unfinished one, so every first answer is sent before any third one. A group has its own limit
(20 messages a minute): its updates take turns as one key and, waiting for that limit, hold no
one else back. Callback and inline queries take turns apart from the same user's questions, so
a button is answered without waiting for the questions queued before it.

The turn covers the send, so Telegram's flood limits (the rate limiter) pace the turns. Used
from the event loop only. ``close`` (the bot is stopping) turns away every waiting update.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import BaseUpdateProcessor

log = logging.getLogger(__name__)

#: Updates in progress at once (python-telegram-bot's concurrency). The engine runs in threads;
#: more turns than cores keep the CPU busy while other answers wait for Telegram.
UPDATE_WORKERS = 64
PRIVATE, GROUP, QUERY, OTHER = "user", "chat", "query", "update"
UNBOUNDED = 2**31 - 1


class SchedulerClosed(Exception):
    """The bot is stopping: the question was not answered."""


@dataclass(eq=False)
class _Ticket:
    round: int
    seq: int
    granted: asyncio.Future[None] = field(repr=False)


class FairScheduler:
    """Round-robin turns across keys (users, or group chats), ``workers`` at a time.

    ``gated(key)`` says which keys keep within one round of each other (all by default).
    """

    def __init__(
        self, workers: int = UPDATE_WORKERS, *, gated: Callable[[Hashable], bool] | None = None
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
        self._gated = gated or (lambda key: True)
        self._queues: dict[Hashable, deque[_Ticket]] = {}
        self._last_round: dict[Hashable, int] = {}
        self._busy: dict[Hashable, int] = {}  # key -> round of the question in progress
        self._round = 0  # round of the question granted last
        self._seq = itertools.count()
        self._closed = False

    @property
    def waiting(self) -> int:
        return sum(len(queue) for queue in self._queues.values())

    @property
    def in_progress(self) -> int:
        return len(self._busy)

    @asynccontextmanager
    async def turn(self, key: Hashable) -> AsyncIterator[None]:
        """Wait for ``key``'s turn and hold it for the block; raises SchedulerClosed if the
        scheduler is closed before the turn comes."""
        if self._closed:
            raise SchedulerClosed
        ticket = self._enqueue(key)
        self._dispatch()
        try:
            await ticket.granted
        except BaseException:
            if ticket.granted.done() and not ticket.granted.cancelled():
                if ticket.granted.exception() is None:  # granted, then cancelled: give it back
                    self._finish(key)
            else:
                self._forget(key, ticket)
            raise
        try:
            yield
        finally:
            self._finish(key)

    def close(self) -> int:
        """Turn away every waiting question (SchedulerClosed); returns how many waited."""
        self._closed = True
        turned_away = 0
        for queue in self._queues.values():
            for ticket in queue:
                if not ticket.granted.done():
                    ticket.granted.set_exception(SchedulerClosed())
                    turned_away += 1
        self._queues.clear()
        return turned_away

    def _enqueue(self, key: Hashable) -> _Ticket:
        queue = self._queues.setdefault(key, deque())
        previous = self._last_round.get(key)
        round_ = self._round if previous is None else max(previous + 1, self._round)
        self._last_round[key] = round_
        ticket = _Ticket(round_, next(self._seq), asyncio.get_running_loop().create_future())
        queue.append(ticket)
        return ticket

    def _oldest_round(self) -> int | None:
        """The round of the oldest unfinished update among the gated keys."""
        rounds = [q[0].round for key, q in self._queues.items() if q and self._gated(key)]
        rounds.extend(r for key, r in self._busy.items() if self._gated(key))
        return min(rounds) if rounds else None

    def _dispatch(self) -> None:
        """Grant turns while there are free workers and updates allowed to start."""
        while len(self._busy) < self.workers:
            oldest = self._oldest_round()
            candidates = sorted(
                (queue[0].round, queue[0].seq, key)
                for key, queue in self._queues.items()
                if queue and key not in self._busy
            )
            allowed = (
                key
                for round_, _, key in candidates
                # never two rounds ahead of an unfinished update
                if oldest is None or round_ <= oldest + 1 or not self._gated(key)
            )
            key = next(allowed, None)
            if key is None:
                return
            ticket = self._queues[key].popleft()
            self._busy[key] = ticket.round
            self._round = max(self._round, ticket.round)
            ticket.granted.set_result(None)

    def _finish(self, key: Hashable) -> None:
        self._busy.pop(key, None)
        self._tidy(key)
        self._dispatch()

    def _forget(self, key: Hashable, ticket: _Ticket) -> None:
        queue = self._queues.get(key)
        if queue is not None and ticket in queue:
            queue.remove(ticket)
        self._tidy(key)
        self._dispatch()

    def _tidy(self, key: Hashable) -> None:
        """Drop what is kept for ``key`` once it has nothing waiting or in progress."""
        if key in self._busy or self._queues.get(key):
            return
        self._queues.pop(key, None)
        self._last_round.pop(key, None)


def turn_key(update: object) -> tuple[str, Any]:
    """Whose turn an update takes: a private chat's user, a group (Telegram's flood limit there
    is per chat), or, for callback and inline queries, the user apart from their questions."""
    if not isinstance(update, Update):
        return (OTHER, id(update))
    user, chat = update.effective_user, update.effective_chat
    if (update.callback_query or update.inline_query) and user is not None:
        return (QUERY, user.id)
    if chat is not None and chat.type != ChatType.PRIVATE:
        return (GROUP, chat.id)
    if user is not None:
        return (PRIVATE, user.id)
    return (OTHER, update.update_id)


def _private(key: Hashable) -> bool:
    return isinstance(key, tuple) and key[0] == PRIVATE


class FairUpdateProcessor(BaseUpdateProcessor):
    """python-telegram-bot's update processor with fair turns instead of a FIFO semaphore.

    The base class's semaphore is sized so that it never makes an update wait: the turns
    bound the work, ``workers`` at a time.
    """

    def __init__(self, workers: int = UPDATE_WORKERS) -> None:
        super().__init__(UNBOUNDED)
        self.scheduler = FairScheduler(workers, gated=_private)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        try:
            async with self.scheduler.turn(turn_key(update)):
                await coroutine
        except SchedulerClosed:
            if inspect.iscoroutine(coroutine):
                coroutine.close()  # never started
            log.info("not handled, the bot is stopping: %s", turn_key(update))

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""
