"""app.py and runner.py: endpoints, settings checks, and the mode chosen from the settings."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from bot.settings import Settings
from bot.telegram.app import MissingTokenError, build_application, file_base_url
from bot.telegram.runner import DEFAULT_WEBHOOK_PATH, Polling, Webhook, mode_from_settings


@pytest.mark.parametrize(
    ("base", "files"),
    [
        ("https://api.telegram.org/bot", "https://api.telegram.org/file/bot"),
        ("http://127.0.0.1:8081/bot", "http://127.0.0.1:8081/file/bot"),
        ("http://127.0.0.1:8081/bot/", "http://127.0.0.1:8081/file/bot/"),
        ("http://host/custom/{token}", "http://host/custom/{token}"),
    ],
)
def test_file_base_url(base: str, files: str) -> None:
    assert file_base_url(base) == files


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_polling_unless_a_webhook_url_is_set() -> None:
    assert mode_from_settings(_settings(webhook_url=None)) == Polling()


def test_webhook_mode_from_settings() -> None:
    mode = mode_from_settings(
        _settings(
            webhook_url="https://bot.example.org/tg/hook",
            webhook_listen="127.0.0.1",
            webhook_port=9000,
            webhook_secret_token=SecretStr("s3cret"),
        )
    )
    assert mode == Webhook("https://bot.example.org/tg/hook", "127.0.0.1", 9000, "s3cret")
    assert isinstance(mode, Webhook) and mode.url_path == "tg/hook"


def test_webhook_without_a_secret_gets_a_random_one() -> None:
    first = mode_from_settings(_settings(webhook_url="https://bot.example.org"))
    second = mode_from_settings(_settings(webhook_url="https://bot.example.org"))
    assert isinstance(first, Webhook) and isinstance(second, Webhook)
    assert len(first.secret_token) >= 32 and first.secret_token != second.secret_token
    assert first.url_path == DEFAULT_WEBHOOK_PATH


def test_building_without_a_token_is_refused() -> None:
    with pytest.raises(MissingTokenError):
        build_application(_settings(telegram_bot_token=None), services=None)  # type: ignore[arg-type]
