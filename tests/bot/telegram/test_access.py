"""access.py: allow-lists, admins, and the per-user question budget."""

from __future__ import annotations

import pytest

from bot.telegram.access import AccessPolicy, UserRateLimiter

USER, OTHER, ADMIN, CHAT = 1, 2, 3, -100


@pytest.mark.parametrize(
    ("policy", "user", "chat", "allowed"),
    [
        (AccessPolicy(), OTHER, None, True),
        (AccessPolicy(allowed_user_ids=frozenset({USER})), USER, USER, True),
        (AccessPolicy(allowed_user_ids=frozenset({USER})), OTHER, OTHER, False),
        (AccessPolicy(allowed_user_ids=frozenset({USER})), None, CHAT, False),
        (AccessPolicy(allowed_chat_ids=frozenset({CHAT})), OTHER, CHAT, True),
        (AccessPolicy(allowed_chat_ids=frozenset({CHAT})), OTHER, OTHER, False),
        (AccessPolicy(allowed_chat_ids=frozenset({CHAT})), OTHER, None, False),
        (
            AccessPolicy(allowed_user_ids=frozenset({USER}), admin_user_ids=frozenset({ADMIN})),
            ADMIN,
            ADMIN,
            True,
        ),
        (AccessPolicy(admin_user_ids=frozenset({ADMIN})), OTHER, OTHER, True),
    ],
)
def test_allows(policy: AccessPolicy, user: int | None, chat: int | None, allowed: bool) -> None:
    assert policy.allows(user, chat) is allowed


def test_admins() -> None:
    policy = AccessPolicy(admin_user_ids=frozenset({ADMIN}))
    assert policy.is_admin(ADMIN) and not policy.is_admin(USER) and not policy.is_admin(None)


async def test_budget_per_user() -> None:
    limiter = UserRateLimiter(3)
    assert [await limiter.try_acquire(USER) for _ in range(4)] == [True, True, True, False]
    assert await limiter.try_acquire(OTHER)


async def test_budget_refills_over_time() -> None:
    limiter = UserRateLimiter(60 * 20)  # 20 a second
    while await limiter.try_acquire(USER):
        pass
    import asyncio

    await asyncio.sleep(0.2)
    assert await limiter.try_acquire(USER)


async def test_a_budget_over_another_period() -> None:
    """The period is the one given: a tenth of a second refills, an hour does not."""
    import asyncio

    short, hourly = UserRateLimiter(1, period_seconds=0.1), UserRateLimiter(1, period_seconds=3600)
    assert await short.try_acquire(USER) and await hourly.try_acquire(USER)
    await asyncio.sleep(0.2)
    assert await short.try_acquire(USER)
    assert not await hourly.try_acquire(USER)


async def test_tracked_users_are_bounded() -> None:
    limiter = UserRateLimiter(1, max_users=2)
    for user in (USER, OTHER, ADMIN):
        assert await limiter.try_acquire(user)
    assert await limiter.try_acquire(USER)  # forgotten, so a fresh budget


def test_bad_budget() -> None:
    with pytest.raises(ValueError):
        UserRateLimiter(0)
