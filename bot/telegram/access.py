"""Who may use the bot (allow-lists, admins) and how often (a per-user question budget)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from aiolimiter import AsyncLimiter

SECONDS_PER_MINUTE = 60
SECONDS_PER_HOUR = 3600
MAX_TRACKED_USERS = 10_000


@dataclass(frozen=True)
class AccessPolicy:
    """Allow-lists and admins. Empty allow-lists let everyone in.

    With either list set, a user is let in when their id is on the user list or the chat
    they write in is on the chat list; admins are always let in.
    """

    allowed_user_ids: frozenset[int] = frozenset()
    allowed_chat_ids: frozenset[int] = frozenset()
    admin_user_ids: frozenset[int] = frozenset()

    @property
    def open(self) -> bool:
        return not (self.allowed_user_ids or self.allowed_chat_ids)

    def allows(self, user_id: int | None, chat_id: int | None) -> bool:
        """Whether a user (and the chat they write in, if any) may use the bot."""
        if self.open:
            return True
        if user_id is not None and (user_id in self.allowed_user_ids or self.is_admin(user_id)):
            return True
        return chat_id is not None and chat_id in self.allowed_chat_ids

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.admin_user_ids


class UserRateLimiter:
    """At most ``limit`` actions per user per ``period_seconds`` (a minute unless given): a
    leaky bucket per user (aiolimiter).

    A user may ask ``limit`` questions in a burst, then one every ``period_seconds / limit``
    seconds. Buckets of the least recently seen users are dropped beyond ``max_users``.
    Must be used from the event loop.
    """

    def __init__(
        self,
        limit: int,
        *,
        period_seconds: float = SECONDS_PER_MINUTE,
        max_users: int = MAX_TRACKED_USERS,
    ) -> None:
        if limit < 1:
            raise ValueError("the limit must be at least 1")
        self.limit = limit
        self._period = period_seconds
        self._max_users = max_users
        self._buckets: OrderedDict[int, AsyncLimiter] = OrderedDict()

    async def try_acquire(self, user_id: int) -> bool:
        """Spend one question of ``user_id``'s budget; False (nothing spent) when none is left."""
        bucket = self._buckets.get(user_id)
        if bucket is None:
            bucket = AsyncLimiter(self.limit, self._period)
            self._buckets[user_id] = bucket
            while len(self._buckets) > self._max_users:
                self._buckets.popitem(last=False)
        self._buckets.move_to_end(user_id)
        if not bucket.has_capacity():
            return False
        await bucket.acquire()  # never waits: capacity was there and nothing ran in between
        return True
