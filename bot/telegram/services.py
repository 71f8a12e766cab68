"""What the handlers share: the engine, button and conversation state, feedback, access, limits.

One ``Services`` lives in ``application.bot_data``; handlers reach it with ``services(context)``.
The engine reference is swapped whole by /reindex, so a handler reads it once per update.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.settings import Settings
from bot.telegram.access import SECONDS_PER_HOUR, AccessPolicy, UserRateLimiter
from bot.telegram.conversations import Conversations
from bot.telegram.feedback import FeedbackStore
from bot.telegram.state import AnswerState, StateStore
from retrieval.engine import Engine
from retrieval.index.ingest import Added, Received, add_article, fetch_article

logger = logging.getLogger(__name__)

SERVICES_KEY = "verbatim"
#: Inline queries arrive as the user types, so they get a larger budget than questions.
INLINE_BUDGET_FACTOR = 5


@dataclass
class Services:
    """The bot's shared, long-lived parts."""

    settings: Settings
    engine: Engine
    index_dir: Path
    states: StateStore[AnswerState]
    conversations: Conversations
    feedback: FeedbackStore
    access: AccessPolicy
    limiter: UserRateLimiter
    inline_limiter: UserRateLimiter
    article_limiter: UserRateLimiter
    reindex_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    def create(
        cls, settings: Settings, engine: Engine, *, index_dir: Path | None = None
    ) -> Services:
        """Everything the handlers need, from the settings and an opened engine."""
        return cls(
            settings=settings,
            engine=engine,
            index_dir=index_dir or settings.index_dir,
            states=StateStore(settings.state_ttl_seconds),
            conversations=Conversations(settings.followup_ttl_seconds),
            feedback=FeedbackStore(settings.feedback_db),
            access=AccessPolicy(
                allowed_user_ids=settings.allowed_user_ids,
                allowed_chat_ids=settings.allowed_chat_ids,
                admin_user_ids=settings.admin_user_ids,
            ),
            limiter=UserRateLimiter(settings.rate_limit_per_minute),
            inline_limiter=UserRateLimiter(settings.rate_limit_per_minute * INLINE_BUDGET_FACTOR),
            article_limiter=UserRateLimiter(
                settings.articles_per_hour, period_seconds=SECONDS_PER_HOUR
            ),
        )

    def may_add_articles(self, user_id: int | None, chat_id: int | None) -> bool:
        """Whether this user may send articles in: an admin, or anyone allowed if so set."""
        if self.access.is_admin(user_id):
            return True
        return self.settings.articles_from == "allowed" and self.access.allows(user_id, chat_id)

    def fetch(self, url: str) -> Received:
        """The article behind a link sent in (blocking: run it in a thread of its own).

        Raises ArticleRefused when it is indexed already or cannot or may not be fetched.
        """
        return fetch_article(url, self.index_dir, self.settings.fetch_policy())

    def add(self, received: Received) -> Added:
        """Save an article sent in to the corpus and index it in place (blocking; one writer at
        a time: hold ``reindex_lock``). The engine in use sees it on its next question."""
        engine_settings = self.settings.engine().model_copy(update={"progress": False})
        return add_article(
            received,
            self.settings.corpus,
            self.index_dir,
            engine_settings,
            encoder=self.engine.index.encoder,
        )

    def rebuild(self) -> Engine:
        """Re-read the corpus into the index and open it (blocking: run it in a thread).

        The loaded model is reused. Raises VerbatimError when the corpus or index is unusable;
        the engine in use is left as it was.
        """
        from retrieval.index.build import build_index

        engine_settings = self.settings.engine().model_copy(update={"progress": False})
        encoder = self.engine.index.encoder  # reuse the loaded model
        report = build_index(self.settings.corpus, self.index_dir, engine_settings, encoder=encoder)
        for warning in report.warnings:  # for the operator; the admin sees the counts
            logger.warning("%s", warning)
        return Engine.open(self.index_dir, engine_settings, encoder=encoder)

    def close(self) -> None:
        self.feedback.close()


def services(context: Any) -> Services:
    """The ``Services`` of the application handling ``context``."""
    found = context.bot_data[SERVICES_KEY]
    if not isinstance(found, Services):
        raise TypeError(f"bot_data[{SERVICES_KEY!r}] holds {type(found).__name__}, not Services")
    return found
