"""Server-side state behind inline buttons: short random ids mapping to values, with a TTL.

Telegram allows 64 bytes of callback data, far too little for a question and its quotes, so
a button carries an id from this store. Entries expire after ``ttl_seconds`` and the oldest
are dropped beyond ``max_entries``; a button whose entry is gone reports "expired". Values may
also be kept under keys of the caller's (a chat id: see ``conversations``). Used from the
event loop only, so no locking.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from retrieval.types import Answer, PriorTurn

#: Random bytes in an id: 6 bytes are 8 URL-safe characters, so ``c:<id>:2`` is 12 bytes.
STATE_ID_BYTES = 6
MAX_STATE_ENTRIES = 20_000

T = TypeVar("T")


@dataclass(frozen=True)
class AnswerState:
    """What the buttons under one answer need: the answer as shown (question, quotes, offset)
    and the context it was asked in, so "More" asks it the same way."""

    answer: Answer
    context: PriorTurn | None = None


class StateStore(Generic[T]):
    """Values keyed by short random ids, each kept for ``ttl_seconds`` after it was stored."""

    def __init__(
        self,
        ttl_seconds: float,
        *,
        max_entries: int = MAX_STATE_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_seconds <= 0 or max_entries <= 0:
            raise ValueError("ttl_seconds and max_entries must be positive")
        self._ttl = ttl_seconds
        self._max = max_entries
        self._clock = clock
        self._items: OrderedDict[Hashable, tuple[float, T]] = OrderedDict()

    def put(self, value: T) -> str:
        """Store ``value``; returns its new id."""
        key = new_id()
        while key in self._items:  # pragma: no cover - 48 random bits rarely collide
            key = new_id()
        self.put_at(key, value)
        return key

    def put_at(self, key: Hashable, value: T) -> None:
        """Store ``value`` under ``key``, replacing what was there, for a full TTL again."""
        self._expire()
        self._items.pop(key, None)  # to the young end: insertion order stays expiry order
        self._items[key] = (self._clock() + self._ttl, value)
        while len(self._items) > self._max:
            self._items.popitem(last=False)

    def pop(self, key: Hashable) -> T | None:
        """Remove and return the value under ``key`` (None when unknown or expired)."""
        value = self.get(key)
        self._items.pop(key, None)
        return value

    def get(self, key: Hashable) -> T | None:
        """The value stored under ``key``, or None when unknown or expired."""
        item = self._items.get(key)
        if item is None:
            return None
        expires, value = item
        if self._clock() >= expires:
            del self._items[key]
            return None
        return value

    def __len__(self) -> int:
        self._expire()
        return len(self._items)

    def _expire(self) -> None:
        """Drop expired entries from the oldest end (insertion order is expiry order)."""
        now = self._clock()
        while self._items:
            key, (expires, _) = next(iter(self._items.items()))
            if expires > now:
                break
            del self._items[key]


def new_id() -> str:
    """A short random id that fits callback data and inline result ids."""
    return secrets.token_urlsafe(STATE_ID_BYTES)
