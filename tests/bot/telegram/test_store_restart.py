"""The bot over the Milvus store while the Milvus server is killed and restarted.

The seeds index is mirrored into a real ``milvus-lite server`` (loopback); the bot answers from
it over real HTTP with the Bot API stand-in. The server is killed (SIGKILL) and later started
again on the same port and data folder: questions and buttons meanwhile get the short "try
again" reply, later ones are answered, the bot keeps running and every update gets one reply.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.telegram import render
from embeddings import Encoder
from retrieval.config import EngineSettings
from retrieval.engine import Engine
from retrieval.index import milvus_view
from tests.support.milvus import MilvusServer
from tests.support.telegram.botapi_standin import BotApiStandIn
from tests.support.telegram.harness import (
    ALICE,
    BOB,
    SEED_QUESTION,
    BotFactory,
    assert_quoted_and_cited,
    text_of,
    visible,
)

pytestmark = pytest.mark.slow

#: A second question about the seeds, asked once the server is back.
LATER_QUESTION = "Who is Lynn Maalouf?"


@pytest.fixture
def milvus_engine(
    seeds_index: Path, mirrored_seeds: EngineSettings, encoder: Encoder
) -> Iterator[Engine]:
    """The engine answering from the seeds index mirrored into the test's Milvus server."""
    engine = Engine.open(seeds_index, mirrored_seeds, encoder=encoder)
    try:
        yield engine
    finally:
        engine.close()


def _titles(engine: Engine) -> set[str]:
    return {doc.source.title or doc.source.id for doc in engine.sources()}


async def test_server_restart_while_the_bot_runs(
    standin: BotApiStandIn,
    start_bot: BotFactory,
    milvus_engine: Engine,
    milvus_server: MilvusServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Milvus killed: "try again" (messages and buttons); restarted: answered, nothing lost."""
    caplog.set_level(logging.INFO)
    titles = _titles(milvus_engine)
    bot = await start_bot(engine=milvus_engine, store="milvus", milvus_uri=milvus_server.uri)

    before = standin.send(ALICE, SEED_QUESTION)
    answer = await standin.reply_to(before)
    assert_quoted_and_cited(text_of(answer), titles)

    milvus_server.kill()
    # a question may be answered from the rows kept and a meta read of the last half second;
    # past that, each reads meta first
    await asyncio.sleep(milvus_view.META_REUSE_SECONDS)
    down = [standin.send(ALICE, SEED_QUESTION), standin.send(BOB, LATER_QUESTION)]
    for asked in down:
        reply = await standin.reply_to(asked)
        assert text_of(reply) == render.STORE_UNAVAILABLE
    pressed = standin.press(
        ALICE, standin.message_of(answer), standin.buttons(answer)["Context [1]"]
    )
    await standin.wait_for(lambda: _callback_answer(standin, pressed) is not None)
    assert _callback_answer(standin, pressed) == render.STORE_UNAVAILABLE
    typed = standin.inline(BOB, "Amnesty Mosul civilians")
    await standin.wait_for(lambda: _inline_answer(standin, typed) is not None)
    inline = _inline_answer(standin, typed)
    assert inline is not None and inline["results"] == []
    assert inline["button"]["text"] == render.STORE_UNAVAILABLE and inline["cache_time"] == 0

    milvus_server.start()
    after = [standin.send(ALICE, SEED_QUESTION), standin.send(BOB, LATER_QUESTION)]
    for asked in after:
        assert_quoted_and_cited(text_of(await standin.reply_to(asked)), titles)
    # the button pressed while the server was down works now (its answer was kept)
    again = standin.press(ALICE, standin.message_of(answer), standin.buttons(answer)["Context [1]"])
    context = await standin.reply_to(standin.message_of(answer))
    assert visible(text_of(context)).startswith("Context of [1]")
    await standin.settle()

    assert not bot.task.done(), "the bot stopped"
    for asked in [before, *down, *after]:
        assert len(standin.replies_to(asked)) == 1, asked["text"]
    assert _callback_answer(standin, again) == ""  # answered, without a notice
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    warned = [r for r in caplog.records if r.name == "bot.telegram.guards"]
    assert [r.levelname for r in warned] == ["WARNING"] * 4
    assert all("Cannot reach the Milvus server" in r.getMessage() for r in warned)


def _callback_answer(standin: BotApiStandIn, query_id: str) -> str | None:
    """The notice the bot showed for button press ``query_id`` ("" for none; None: not yet)."""
    for call in standin.calls("answerCallbackQuery"):
        if call.params["callback_query_id"] == query_id:
            return str(call.params.get("text") or "")
    return None


def _inline_answer(standin: BotApiStandIn, query_id: str) -> dict | None:
    """The parameters the bot answered inline query ``query_id`` with, if it has."""
    for call in standin.calls("answerInlineQuery"):
        if call.params["inline_query_id"] == query_id:
            return dict(call.params)
    return None
