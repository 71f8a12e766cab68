"""What each chat's next question may lean on: its last answer, and which message gave which.

In a private chat the last answered question is the context of the next one ("when was
that?"). In a group, where many talk at once, only a message replying to one of the bot's
answers leans on it, so every message of an answer is remembered with the question it
answered. ``/new`` forgets a chat's context. All of it is bounded (chats, answers per chat) and
expires (``ttl_seconds`` after the chat's last answer). Used from the event loop only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.telegram.state import StateStore
from retrieval.types import PriorTurn

#: Chats whose context is kept; beyond it the quietest chat forgets first.
MAX_CHATS = 20_000
#: Answers per chat a reply may still lean on (their messages are remembered).
ANSWERS_PER_CHAT = 20


@dataclass(frozen=True)
class ChatMemory:
    """A chat's last answered question, and its recent answers with the messages showing them."""

    last: PriorTurn
    #: ``(ids of the messages showing an answer, its question and quotes)``, oldest first.
    answers: tuple[tuple[tuple[int, ...], PriorTurn], ...]


class Conversations:
    """The context of each chat's next question, expiring ``ttl_seconds`` after its last answer."""

    def __init__(
        self,
        ttl_seconds: float,
        *,
        max_chats: int = MAX_CHATS,
        answers_per_chat: int = ANSWERS_PER_CHAT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if answers_per_chat <= 0:
            raise ValueError("answers_per_chat must be positive")
        self._chats: StateStore[ChatMemory] = StateStore(
            ttl_seconds, max_entries=max_chats, clock=clock
        )
        self._per_chat = answers_per_chat

    def remember(self, chat_id: int, message_ids: Sequence[int], turn: PriorTurn) -> None:
        """``turn`` was answered in ``chat_id`` by the messages ``message_ids``."""
        known = self._chats.get(chat_id)
        answers = (*(known.answers if known else ()), (tuple(message_ids), turn))
        self._chats.put_at(chat_id, ChatMemory(last=turn, answers=answers[-self._per_chat :]))

    def last(self, chat_id: int) -> PriorTurn | None:
        """The chat's last answered question and its quotes, unless forgotten or expired."""
        known = self._chats.get(chat_id)
        return known.last if known else None

    def answered_by(self, chat_id: int, message_id: int) -> PriorTurn | None:
        """The question the bot's message ``message_id`` answered, if it is still remembered."""
        known = self._chats.get(chat_id)
        if known is None:
            return None
        return next((turn for ids, turn in reversed(known.answers) if message_id in ids), None)

    def forget(self, chat_id: int) -> bool:
        """Forget the chat's context (``/new``); whether there was any."""
        return self._chats.pop(chat_id) is not None
