"""Hostile and odd input, end to end: each gets a sensible reply or is ignored, never a crash.

Each case records what the bot did; the table is written next to the transcript
(``hostile_inputs.md``).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from bot.telegram import render
from bot.telegram.callbacks import Action, encode
from bot.telegram.state import AnswerState
from retrieval.engine import Engine
from tests.support.telegram.botapi_standin import BOT_USERNAME as BOT
from tests.support.telegram.botapi_standin import BotApiStandIn, Request
from tests.support.telegram.harness import (
    ALICE,
    BOB,
    CHANNEL,
    GROUP,
    SEED_QUESTION,
    RunningBot,
    quotes_in,
    text_of,
    visible,
)
from tests.support.telegram.updates import PHOTO, STICKER, mention_entity, private_chat
from tests.support.telegram.updates import message as make_message

OUTPUT_METHODS = ("sendMessage", "answerCallbackQuery", "answerInlineQuery", "editMessageText")
SHOWN_CHARS = 70
LONG_QUESTION = ("What did Amnesty say about Mosul? " * 130)[:4096]

Trigger = Callable[[BotApiStandIn, RunningBot, Engine], None]


@dataclass(frozen=True)
class Case:
    """An input, and what must come of it: ``ignored``, ``reply``, ``quotes``, ``button``,
    ``inline`` or ``edit``, with text the output must contain (if any)."""

    name: str
    trigger: Trigger
    expect: str
    contains: str | None = None


def _text(text: str) -> Trigger:
    return lambda api, bot, engine: api.send(ALICE, text) and None


def _group(text: str, mention: str | None = None) -> Trigger:
    def trigger(api: BotApiStandIn, bot: RunningBot, engine: Engine) -> None:
        entities = [mention_entity(text, mention)] if mention else None
        api.send(BOB, text, chat=GROUP, entities=entities)

    return trigger


def _press(data: Callable[[RunningBot, Engine], str]) -> Trigger:
    def trigger(api: BotApiStandIn, bot: RunningBot, engine: Engine) -> None:
        message = api.chat_message(api.bot_user, private_chat(ALICE), "an earlier answer")
        api.press(ALICE, message, data(bot, engine))

    return trigger


def _state_key(bot: RunningBot, engine: Engine) -> str:
    return bot.services.states.put(AnswerState(engine.answer(SEED_QUESTION)))


def _edited(api: BotApiStandIn, bot: RunningBot, engine: Engine) -> None:
    api.edit(api.chat_message(ALICE, private_chat(ALICE), "Mosul?"), SEED_QUESTION)


CASES = [
    Case('empty text (`""`)', _text(""), "ignored"),
    Case("whitespace only", _text("   \n\t  "), "reply", "Please ask a question"),
    Case(
        "sticker", lambda a, b, e: a.send(ALICE, sticker=STICKER) and None, "reply", render.NON_TEXT
    ),
    Case(
        "photo with a caption",
        lambda a, b, e: a.send(ALICE, photo=PHOTO, caption=SEED_QUESTION) and None,
        "reply",
        render.NON_TEXT,
    ),
    Case(
        "location",
        lambda a, b, e: a.send(ALICE, location={"latitude": 36.34, "longitude": 43.13}) and None,
        "reply",
        render.NON_TEXT,
    ),
    Case("4,096-character question", _text(LONG_QUESTION), "reply", "at most"),
    Case("4,096 characters without a space", _text("x" * 4096), "reply", "at most"),
    Case("RTL Arabic question", _text("ماذا قالت منظمة العفو الدولية عن الموصل؟"), "reply"),
    Case("RTL Hebrew mixed with English", _text("מה אמרה Amnesty על Mosul?"), "reply"),
    Case("emoji only", _text("🔥💥🇮🇶👍🏽"), "reply"),
    Case("question wrapped in emoji", _text(f"🔥 {SEED_QUESTION} 🇮🇶"), "quotes"),
    Case(
        "HTML markup and a script tag",
        _text("<b>Mosul</b> <script>alert('x')</script> &amp; &lt;victory&gt;?"),
        "reply",
    ),
    Case(
        "Markdown markup", _text("*What* did _Amnesty_ say about `Mosul`? [x](http://e.x)"), "reply"
    ),
    Case(
        "zero-width, bidi and control characters",
        _text("Mosul\u200b\u202e victory\x00\x07?"),
        "reply",
    ),
    Case("edited message", _edited, "ignored"),
    Case("channel post", lambda a, b, e: a.post_in_channel(CHANNEL, SEED_QUESTION), "ignored"),
    Case("unknown command", _text("/frobnicate now"), "reply", render.UNKNOWN_COMMAND),
    Case(
        "command for another bot", _text("/start@some_other_bot"), "reply", render.UNKNOWN_COMMAND
    ),
    Case("group chatter replying to someone else", _group("I disagree with that"), "ignored"),
    Case(
        "unknown command naming this bot in a group",
        _group(f"/frobnicate@{BOT} now"),
        "reply",
        render.UNKNOWN_COMMAND,
    ),
    Case("command for another bot in a group", _group("/help@some_other_bot"), "ignored"),
    Case("group mention of another bot", _group("@other_bot what?", "@other_bot"), "ignored"),
    Case("garbage callback data", _press(lambda b, e: "💥\x00garbage"), "button", render.EXPIRED),
    Case(
        "callback for an expired answer",
        _press(lambda b, e: "m:AAAAAAAA:0"),
        "button",
        render.EXPIRED,
    ),
    Case(
        "Context button with an index out of range",
        _press(lambda b, e: encode(Action.CONTEXT, _state_key(b, e), 99)),
        "button",
        render.EXPIRED,
    ),
    Case(
        "feedback button with a made-up rating",
        _press(lambda b, e: encode(Action.FEEDBACK, _state_key(b, e), 7)),
        "button",
        render.EXPIRED,
    ),
    Case("/sources page out of range", _press(lambda b, e: "s::999"), "edit", "Indexed articles"),
    Case("inline query of markup", lambda a, b, e: a.inline(ALICE, "<>&" * 85) and None, "inline"),
    Case("empty inline query", lambda a, b, e: a.inline(ALICE, "") and None, "inline"),
]


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def describe(outputs: list[Request]) -> str:
    """What the bot did, in words, for the table."""
    parts = []
    for r in outputs:
        if r.method == "sendMessage":
            quotes = quotes_in(text_of(r))
            shown = visible(text_of(r)) if r.params.get("parse_mode") == "HTML" else text_of(r)
            parts.append(
                f"answered with {len(quotes)} quotes" if quotes else f"replied “{_clip(shown)}”"
            )
        elif r.method == "answerCallbackQuery":
            notice = r.params.get("text")
            parts.append(f"answered the button: “{notice}”" if notice else "answered the button")
        elif r.method == "answerInlineQuery":
            button = (r.params.get("button") or {}).get("text")
            extra = f" and the button “{button}”" if button else ""
            parts.append(
                f"answered with {len(r.params.get('results') or [])} inline results{extra}"
            )
        elif r.method == "editMessageText":
            parts.append(f"edited the message to “{_clip(visible(text_of(r)))}”")
    return "; ".join(parts) or "ignored it (sent nothing)"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_hostile_input(
    case: Case,
    standin: BotApiStandIn,
    bot: RunningBot,
    seeds_engine: Engine,
    record: object,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Hostile or odd input: a sensible reply, or nothing at all; never an error."""
    case.trigger(standin, bot, seeds_engine)
    last = max(standin.queued_at)
    await standin.wait_for(lambda: standin.fetched(last))
    await standin.settle()
    outputs = [r for r in standin.requests if r.method in OUTPUT_METHODS and r.delivered]
    outcome = describe(outputs)
    record.hostile.append((case.name, outcome))  # type: ignore[attr-defined]

    assert not [
        r for r in caplog.records if r.name == "bot.telegram.guards" and r.levelname == "ERROR"
    ]
    assert all(render.ERROR not in text_of(r) for r in outputs)
    assert all(r.status in (200, 400) for r in standin.requests if r.done)
    kinds = {r.method for r in outputs}
    if case.expect == "ignored":
        assert outputs == [], outcome
    elif case.expect in ("reply", "quotes"):
        (reply,) = outputs
        assert reply.method == "sendMessage", outcome
        assert (reply.params.get("reply_parameters") or {}).get("message_id"), (
            "replies quote the message"
        )
        if case.expect == "quotes":
            assert quotes_in(text_of(reply)), outcome
    elif case.expect == "button":
        assert kinds == {"answerCallbackQuery"} and len(outputs) == 1, outcome
    elif case.expect == "inline":
        assert kinds == {"answerInlineQuery"}, outcome
    elif case.expect == "edit":
        assert kinds == {"answerCallbackQuery", "editMessageText"}, outcome
    if case.contains is not None:
        assert any(case.contains in (r.params.get("text") or "") for r in outputs), outcome


# ---- defect 7: lone surrogates, vanished messages ------------------------------------------
# Telegram sends JSON: a lone surrogate arrives as the escape "\ud800", which Python's json
# decodes into a lone surrogate in a str. The stand-in serves its updates as JSON, so the bot
# receives exactly that.

SURROGATE = "\ud800"


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def test_group_mention_with_a_lone_surrogate_is_answered(
    standin: BotApiStandIn, bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    """A mention holding a lone surrogate: one answer, no error (it crashed the parser)."""
    text = f"@{standin.username} {SURROGATE} {SEED_QUESTION}"
    asked = standin.send(BOB, text, chat=GROUP, entities=[mention_entity(text, f"@{BOT}")])
    reply = await standin.reply_to(asked)
    await standin.settle()
    assert quotes_in(text_of(reply))
    assert len(standin.sent_to(GROUP["id"])) == 1
    assert _errors(caplog) == []


async def test_private_question_with_a_lone_surrogate_gets_one_reply(
    standin: BotApiStandIn, bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    """One answer and no apology after it; the question is logged for feedback."""
    asked = standin.send(ALICE, f"{SEED_QUESTION} {SURROGATE}")
    await standin.reply_to(asked)
    await standin.settle()
    replies = standin.sent_to(ALICE.id)
    assert len(replies) == 1 and render.ERROR not in text_of(replies[0])
    out = io.StringIO()
    assert bot.services.feedback.export_csv(out) == 1
    assert f"{SEED_QUESTION} \ufffd" in out.getvalue()
    assert _errors(caplog) == []


async def test_unaddressed_group_text_with_a_surrogate_gets_nothing(
    standin: BotApiStandIn, bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    """Group chatter that starts with "/" but is no command, mentioning another bot and holding
    a lone surrogate: ignored (it crashed the parser, and the error handler apologised)."""
    text = f"/{SURROGATE} @other_bot meh"
    chatter = standin.chat_message(BOB, GROUP, text, entities=[mention_entity(text, "@other_bot")])
    last = standin.queue({"message": chatter})
    await standin.wait_for(lambda: standin.fetched(last))
    await standin.settle()
    assert standin.sent_to(GROUP["id"]) == []
    assert _errors(caplog) == []


async def test_sources_page_under_a_vanished_message_says_expired(
    standin: BotApiStandIn, bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    """A /sources page button under a message that is gone: "expired", no error logged."""
    gone = make_message(message_id=9999, chat=private_chat(ALICE), sender=standin.bot_user)
    query_id = standin.press(ALICE, gone, encode(Action.SOURCES_PAGE, "", 1))
    await standin.wait_for(lambda: standin.calls("answerCallbackQuery"))
    await standin.settle()
    (answered,) = standin.calls("answerCallbackQuery")
    assert answered.params["callback_query_id"] == query_id
    assert answered.params.get("text") == render.EXPIRED
    assert _errors(caplog) == []
