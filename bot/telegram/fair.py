"""Fair turns for answering: a burst from one user cannot hold up everyone else's first answer.

Questions wait for a turn; at most ``workers`` are answered (engine, then send) at once. The
turns go round the users: every waiting question carries a round number (a user's first
waiting question is in the current round, their next one in the round after), the lowest round
goes first, ties in order of arrival. So with 50 users sending 10 questions each at once, all
50 first questions are answered before any second one, and each user's answers come in the
order asked, one at a time.

Two rules keep the order strict even when answers take different times: a user has one
question in progress at a time, and no question starts more than one round ahead of the oldest
unfinished one (a user whose answers come quickly waits for a slow one of an earlier round).
So every first answer is sent before any third one.

The turn covers the send, so Telegram's flood limits (the rate limiter) pace the turns. Used
from the event loop only. ``close`` (the bot is stopping) turns away every waiting question.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

#: Answers in progress at once. The engine runs in threads; more turns than cores keeps the
#: CPU busy while other answers wait for Telegram.
ANSWER_WORKERS = 8


class SchedulerClosed(Exception):
    """The bot is stopping: the question was not answered."""


@dataclass(eq=False)
class _Ticket:
    round: int
    seq: int
    granted: asyncio.Future[None] = field(repr=False)


class FairScheduler:
    """Round-robin turns across keys (users, or group chats), ``workers`` at a time."""

    def __init__(self, workers: int = ANSWER_WORKERS) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
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
        rounds = [queue[0].round for queue in self._queues.values() if queue]
        rounds.extend(self._busy.values())
        return min(rounds) if rounds else None

    def _dispatch(self) -> None:
        """Grant turns while there are free workers and questions allowed to start."""
        while len(self._busy) < self.workers:
            oldest = self._oldest_round()
            candidates = [
                (queue[0].round, queue[0].seq, key)
                for key, queue in self._queues.items()
                if queue and key not in self._busy
            ]
            if oldest is None or not candidates:
                return
            round_, _, key = min(candidates)
            if round_ > oldest + 1:  # would run two rounds ahead of an unfinished question
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
