"""state.py: short ids, expiry after the TTL, and the size bound."""

from __future__ import annotations

import pytest

from bot.telegram.callbacks import MAX_CALLBACK_BYTES, Action, encode
from bot.telegram.state import StateStore, new_id


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_values_expire_after_the_ttl() -> None:
    clock = Clock()
    store: StateStore[str] = StateStore(60, clock=clock)
    key = store.put("answer")
    clock.now = 59.9
    assert store.get(key) == "answer"
    clock.now = 60.0
    assert store.get(key) is None
    assert len(store) == 0


def test_oldest_entries_are_dropped_beyond_the_bound() -> None:
    store: StateStore[int] = StateStore(3600, max_entries=3)
    keys = [store.put(i) for i in range(5)]
    assert [store.get(k) for k in keys] == [None, None, 2, 3, 4]


def test_unknown_keys_are_none() -> None:
    store: StateStore[int] = StateStore(60)
    assert store.get("nope") is None
    assert store.get("") is None


def test_ids_are_short_unique_and_fit_every_button() -> None:
    ids = {new_id() for _ in range(2000)}
    assert len(ids) == 2000
    longest = max(ids, key=len)
    for action in Action:
        assert len(encode(action, longest, -99).encode()) < MAX_CALLBACK_BYTES


@pytest.mark.parametrize(("ttl", "entries"), [(0, 10), (-1, 10), (10, 0)])
def test_bad_limits_are_refused(ttl: float, entries: int) -> None:
    with pytest.raises(ValueError):
        StateStore(ttl, max_entries=entries)


def test_values_under_own_keys_are_replaced_renewed_and_popped() -> None:
    clock = Clock()
    store: StateStore[str] = StateStore(60, clock=clock)
    store.put_at(7, "old")
    clock.now = 50
    store.put_at(7, "new")  # replaced, with a new TTL
    clock.now = 100
    assert store.get(7) == "new"
    assert store.pop(7) == "new"
    assert store.get(7) is None and store.pop(7) is None
