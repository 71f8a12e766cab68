"""callbacks.py: button data round-trips, stays under 64 bytes, and garbage decodes to None."""

from __future__ import annotations

import pytest

from bot.telegram.callbacks import Action, Callback, decode, encode


@pytest.mark.parametrize(
    ("action", "key", "arg"),
    [
        (Action.MORE, "AbCd-_12", 0),
        (Action.CONTEXT, "x", 2),
        (Action.FEEDBACK, "k", -1),
        (Action.SOURCES_PAGE, "", 7),
    ],
)
def test_round_trip(action: Action, key: str, arg: int) -> None:
    assert decode(encode(action, key, arg)) == Callback(action, key, arg)


@pytest.mark.parametrize(
    "data",
    [
        "",
        "garbage",
        "💥",
        "m:key",
        "m:key:x",
        "z:key:1",
        "m:ke y:1",
        "m:" + "a" * 40 + ":1",
        None,
        42,
        "m:key:1\n",
        "c:key:99999999",
    ],
)
def test_garbage_decodes_to_none(data: object) -> None:
    assert decode(data) is None


def test_data_that_would_not_fit_is_refused() -> None:
    with pytest.raises(ValueError):
        encode(Action.MORE, "k" * 70)
    with pytest.raises(ValueError):
        encode(Action.MORE, "bad key")
