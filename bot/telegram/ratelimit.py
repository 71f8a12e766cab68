"""python-telegram-bot's AIORateLimiter plus retries on network errors and 5xx replies.

The base class keeps within Telegram's flood limits and, given ``max_retries``, waits the
``retry_after`` a 429 asks for and sends again. On top, a request that fails for network
reasons (connection errors, timeouts, 5xx) is retried with exponential backoff, so no answer
is dropped for a passing fault. A 400 (BadRequest) is never retried: sending the same thing
again would fail the same way. Chat actions ("typing…") are cosmetic: sent once, at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import BadRequest, NetworkError
from telegram.ext import AIORateLimiter

log = logging.getLogger(__name__)

RETRY_AFTER_RETRIES = 3
NETWORK_RETRIES = 4
BACKOFF_FIRST_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 8.0
BEST_EFFORT_ENDPOINTS = frozenset({"sendChatAction"})

JSON = bool | dict[str, Any] | list[dict[str, Any]]


class RetryingRateLimiter(AIORateLimiter):
    """AIORateLimiter that also retries network failures with exponential backoff."""

    def __init__(
        self,
        *,
        network_retries: int = NETWORK_RETRIES,
        backoff_seconds: float = BACKOFF_FIRST_SECONDS,
        max_retries: int = RETRY_AFTER_RETRIES,
        **limits: Any,
    ) -> None:
        super().__init__(max_retries=max_retries, **limits)
        self._network_retries = network_retries
        self._backoff = backoff_seconds

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSON]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> JSON:
        if endpoint in BEST_EFFORT_ENDPOINTS:
            return await callback(*args, **kwargs)
        delay = self._backoff
        attempt = 0
        while True:
            try:
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
            except BadRequest:
                raise
            except NetworkError as exc:
                if attempt >= self._network_retries:
                    raise
                attempt += 1
                log.warning(
                    "%s failed (%s); retry %d of %d in %.1fs",
                    endpoint,
                    exc,
                    attempt,
                    self._network_retries,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX_SECONDS)
