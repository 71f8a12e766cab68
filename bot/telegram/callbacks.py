"""Callback data of inline buttons: ``<action>:<state id>:<number>``, always under 64 bytes.

Anything that does not parse (garbage, or data from an older version of the bot) decodes to
None and is answered as an expired button.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from telegram.constants import InlineKeyboardButtonLimit

MAX_CALLBACK_BYTES = InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
_PATTERN = re.compile(r"(?P<action>[a-z]):(?P<key>[A-Za-z0-9_-]{0,16}):(?P<arg>-?[0-9]{1,6})")


class Action(StrEnum):
    """What a button does."""

    MORE = "m"
    CONTEXT = "c"
    FEEDBACK = "f"
    SOURCES_PAGE = "s"


#: Regexes for ``CallbackQueryHandler(pattern=...)``, one per action.
PATTERNS = {action: rf"^{action.value}:" for action in Action}


@dataclass(frozen=True)
class Callback:
    """A decoded button press."""

    action: Action
    key: str
    arg: int


def encode(action: Action, key: str = "", arg: int = 0) -> str:
    """The callback data for a button; raises ValueError if it would not fit."""
    data = f"{action.value}:{key}:{arg}"
    if len(data.encode()) > MAX_CALLBACK_BYTES or not _PATTERN.fullmatch(data):
        raise ValueError(f"callback data {data!r} does not fit the button format")
    return data


def decode(data: str | object) -> Callback | None:
    """The button press ``data`` stands for, or None when it is not one of ours."""
    if not isinstance(data, str):
        return None
    match = _PATTERN.fullmatch(data)
    if match is None:
        return None
    try:
        action = Action(match["action"])
    except ValueError:
        return None
    return Callback(action=action, key=match["key"], arg=int(match["arg"]))
