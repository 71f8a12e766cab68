"""redact.py: the token is scrubbed from messages, arguments and tracebacks of any logger."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bot.telegram.redact import REDACTED, install_redaction, redact, uninstall_redaction

TOKEN = "123456:AAH-very-secret-token-part"


@pytest.fixture
def redaction() -> Iterator[None]:
    install_redaction(TOKEN)
    yield
    uninstall_redaction()


def test_messages_and_arguments(redaction: None, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    logging.getLogger("httpx").info(
        'HTTP Request: POST %s "200 OK"', f"https://api/bot{TOKEN}/getMe"
    )
    logging.getLogger("x").warning(f"secret half alone: {TOKEN.split(':')[1]}")
    assert TOKEN not in caplog.text and "very-secret" not in caplog.text
    assert f"/bot{REDACTED}/getMe" in caplog.text


def test_tracebacks(redaction: None, caplog: pytest.LogCaptureFixture) -> None:
    try:
        raise RuntimeError(f"failed calling https://api/bot{TOKEN}/sendMessage")
    except RuntimeError:
        logging.getLogger("telegram.ext").exception("boom")
    assert "RuntimeError" in caplog.text and TOKEN not in caplog.text
    assert REDACTED in caplog.text


def test_other_text_is_untouched(redaction: None) -> None:
    assert redact("nothing to hide: 123456") == "nothing to hide: 123456"


def test_uninstall_restores_logging(caplog: pytest.LogCaptureFixture) -> None:
    install_redaction(TOKEN)
    uninstall_redaction()
    logging.getLogger("x").warning(TOKEN)
    assert TOKEN in caplog.text
