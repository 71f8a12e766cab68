"""Keep secrets (the bot token) out of every log record, whichever library writes it.

python-telegram-bot and httpx log request URLs, and a Bot API URL holds the token
(``.../bot<TOKEN>/getMe``). A filter on one handler would miss handlers added later, so the
redaction sits in the log-record factory: every record is scrubbed as it is created, message,
arguments and traceback text alike.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from typing import Any

REDACTED = "<redacted>"

_lock = threading.Lock()
_secrets: set[str] = set()
_previous_factory: Callable[..., logging.LogRecord] | None = None


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``REDACTED``."""
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def _secret_parts(token: str) -> set[str]:
    """The token, and its secret half: ``id:secret`` may be logged split or URL-encoded."""
    parts = {token}
    _, _, tail = token.partition(":")
    if len(tail) >= 8:
        parts.add(tail)
    return {part for part in parts if part}


def _scrub(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a malformed record is logging's business, not ours
        return
    cleaned = redact(message)
    if cleaned != message:
        record.msg, record.args = cleaned, None
    if record.exc_info and record.exc_info[0] is not None:
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        cleaned = redact(text)
        if cleaned != text:
            record.exc_text = cleaned  # the formatter uses this instead of formatting anew
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def _factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    make = _previous_factory if _previous_factory is not None else logging.LogRecord
    record = make(*args, **kwargs)
    if _secrets:
        _scrub(record)
    return record


def install_redaction(token: str) -> None:
    """Redact ``token`` from all log records from now on; safe to call again."""
    global _previous_factory
    with _lock:
        _secrets.update(_secret_parts(token))
        if _previous_factory is None:
            _previous_factory = logging.getLogRecordFactory()
            logging.setLogRecordFactory(_factory)


def uninstall_redaction() -> None:
    """Forget every secret and restore the previous record factory (for tests)."""
    global _previous_factory
    with _lock:
        _secrets.clear()
        if _previous_factory is not None:
            logging.setLogRecordFactory(_previous_factory)
            _previous_factory = None
