"""End to end in webhook mode: setWebhook with a secret, updates POSTed, wrong secrets refused."""

from __future__ import annotations

import socket

from tests.support.telegram.botapi_standin import BotApiStandIn
from tests.support.telegram.harness import ALICE, SEED_QUESTION, BotFactory, quotes_in, text_of
from tests.support.telegram.updates import message as make_message
from tests.support.telegram.updates import private_chat

SECRET = "webhook-secret_0123456789"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_answers_and_checks_the_secret(
    standin: BotApiStandIn, start_bot: BotFactory
) -> None:
    """Webhook mode: Telegram's POSTs with the secret are answered; others get 403."""
    standin.transcript.show_setup = True
    port = _free_port()
    url = f"http://127.0.0.1:{port}/verbatim/hook"
    overrides = {
        "webhook_url": url,
        "webhook_listen": "127.0.0.1",
        "webhook_port": port,
        "webhook_secret_token": SECRET,
    }
    bot = await start_bot(**overrides)  # the mode comes from the settings, as in serve
    (hook,) = standin.calls("setWebhook")
    assert hook.params["url"] == url and hook.params["secret_token"] == SECRET
    assert set(hook.params["allowed_updates"]) == {"message", "callback_query", "inline_query"}

    asked = standin.send(ALICE, SEED_QUESTION)  # delivered by POST, with the secret header
    reply = await standin.reply_to(asked)
    assert quotes_in(text_of(reply))

    forged = {
        "update_id": 999,
        "message": make_message(
            message_id=50, chat=private_chat(ALICE), sender=ALICE, text=SEED_QUESTION
        ),
    }
    assert await standin.post_update(forged, secret="wrong-secret") == 403
    assert await standin.post_update(forged, secret=None) == 403
    await standin.settle()
    assert len(standin.sent_to(ALICE.id)) == 1  # the forged updates were never processed
    assert standin.calls("getUpdates") == []
    assert bot.settings.webhook_url == url
