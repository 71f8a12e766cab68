"""A fuzz run: 10,000 generated updates through the Bot API stand-in, the real bot and engine.

Private and group messages (mentions, replies, commands, chatter), callback queries (stale,
garbage, and real buttons under the bot's answers), inline queries, edited messages and
channel posts, with hostile text: lone surrogates, huge, control characters, HTML-like,
empty, emoji. Each update is generated with what it deserves (an oracle written apart from
the bot's parser), and the run checks: no ERROR log record, every update that deserves a
reply gets exactly one, no reply to a message not addressed to the bot, and the bot stops
promptly after the run. The figures are printed and added to the transcript.

Telegram's flood limits are lifted here (the rate limiter still retries): they would only
stretch the run, and ``benchmarks/bot_load.py`` measures the bot under them. The engine is a
stand-in that answers with real answers computed once (``CannedEngine``): what is checked is
that every update gets the reply it deserves, not what the reply says, and 5,000 real answers
would take minutes of CPU (hostile questions go through the real engine in the retrieval
tests; More and Context presses use it here).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.telegram.ratelimit import RetryingRateLimiter
from retrieval.engine import Engine
from tests.support.telegram.botapi_standin import BotApiStandIn, Request
from tests.support.telegram.engines import CannedEngine
from tests.support.telegram.harness import (
    ADMIN,
    OFF_TOPIC_QUESTION,
    SEED_QUESTION,
    BotFactory,
)
from tests.support.telegram.updates import (
    STICKER,
    JSONDict,
    User,
    group_chat,
    mention_entity,
    private_chat,
    utf16_len,
)

pytestmark = pytest.mark.slow

SEED = 20_261_201
UPDATES = 10_000
BUTTON_PRESSES = 400
USERS = 150
GROUPS = 12
#: No progress for this long means the replies still missing will not come.
STALL_SECONDS = 60.0
RUN_TIMEOUT_SECONDS = 1_200.0
POLL_SECONDS = 0.5
#: Generous: the run's figure is printed; stopping has a 4 s grace period for work in flight.
STOP_BOUND_SECONDS = 10.0
KNOWN_COMMANDS = ("help", "about", "sources", "new", "ask", "reindex", "start")
OTHER_BOT = "other_bot"

HOSTILE = [
    "",
    " ",
    "\n\t  \n",
    "\ud800",
    "who \udfff won \ud83d?",
    f"{SEED_QUESTION} \ud800",
    "\x00\x01\x07\x1b[31m red \x7f",
    "Mosul\u200b\u202e victory\u2066?",
    "<b>Mosul</b> <script>alert('x')</script> &amp; &lt;victory&gt; </blockquote>",
    "*What* did _Amnesty_ say about `Mosul`? [x](http://e.x)",
    "🔥💥🇮🇶👍🏽👨‍👩‍👧‍👦",
    "ماذا قالت منظمة العفو الدولية عن الموصل؟",
    "x" * 4096,
    ("What did Amnesty say about Mosul? " * 600)[:20_000],
    "&" * 3000,
    "\ufeff\ufffe\uffff",
    "'; DROP TABLE answers; --",
    '=HYPERLINK("http://e.x")',
]
QUESTIONS = [
    SEED_QUESTION,
    OFF_TOPIC_QUESTION,
    "Who declared victory in Mosul?",
    "When was Mosul retaken?",
    "What did the coalition say?",
]


@dataclass
class Plan:
    """The generated updates and what each deserves."""

    replies: dict[tuple[int, int], str] = field(default_factory=dict)  # message -> kind
    silent: set[tuple[int, int]] = field(default_factory=set)  # messages owed nothing
    queries: set[str] = field(default_factory=set)
    inline: set[str] = field(default_factory=set)
    kinds: Counter[str] = field(default_factory=Counter)
    updates: int = 0


def _text(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.45:
        return rng.choice(QUESTIONS)
    if roll < 0.9:
        return rng.choice(HOSTILE)
    return "".join(chr(rng.randrange(0x20, 0x2FFF)) for _ in range(rng.randrange(1, 200)))


class Fuzzer:
    """Generates updates into the stand-in and keeps what each deserves."""

    def __init__(self, api: BotApiStandIn, rng: random.Random) -> None:
        self.api, self.rng, self.plan = api, rng, Plan()
        self.users = [User(900_000 + i, f"Fuzz {i}") for i in range(USERS)]
        self.groups = [group_chat(-100_700_000 - i, f"Fuzz group {i}") for i in range(GROUPS)]
        self.bot_messages = {
            g["id"]: api.chat_message(api.bot_user, g, "an earlier answer") for g in self.groups
        }
        self.sent: list[JSONDict] = []

    def _note(self, kind: str, message: JSONDict, deserves: bool) -> None:
        key = (message["chat"]["id"], message["message_id"])
        if deserves:
            self.plan.replies[key] = kind
        else:
            self.plan.silent.add(key)
        self.plan.kinds[kind] += 1
        self.plan.updates += 1
        self.sent.append(message)

    def one(self) -> None:
        roll = self.rng.random()
        user = self.rng.choice(self.users)
        if roll < 0.33:
            text = _text(self.rng)
            message = self.api.send(user, text, entities=[])
            self._note("private text", message, bool(text))
        elif roll < 0.38:
            self._command(user, private_chat(user))
        elif roll < 0.40:
            self._note("private sticker", self.api.send(user, sticker=STICKER), True)
        elif roll < 0.70:
            self._group(user)
        elif roll < 0.75:
            self._edit(user)
        elif roll < 0.88:
            self._stale_button(user)
        elif roll < 0.97:
            query = self.rng.choice([*QUESTIONS, *HOSTILE, "ab"])
            self.plan.inline.add(self.api.inline(user, query))
            self.plan.kinds["inline query"] += 1
            self.plan.updates += 1
        else:
            self.api.post_in_channel({"id": -100_999_000, "type": "channel", "title": "C"}, "x")
            self.plan.kinds["channel post"] += 1
            self.plan.updates += 1

    def _command(self, user: User, chat: JSONDict) -> None:
        private = chat["type"] == "private"
        names = (
            KNOWN_COMMANDS[:-1] if private else KNOWN_COMMANDS
        )  # /start in private quotes nothing
        name = self.rng.choice([*names, "frobnicate"])
        target = self.rng.choice(["", "", f"@{self.api.username}", f"@{OTHER_BOT}"])
        rest = self.rng.choice(
            ["", f" {self.rng.choice(QUESTIONS)}", f" {self.rng.choice(HOSTILE)}"]
        )
        command = f"/{name}{target}"
        text = command + rest
        entity = {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
        message = self.api.send(user, text, chat=chat, entities=[entity])
        ours = target in ("", f"@{self.api.username}")
        known = name in KNOWN_COMMANDS
        if private:
            deserves = True  # unknown ones and other bots' get "I don't know that command"
        else:
            deserves = (known and ours) or (name == "frobnicate" and target != "" and ours)
        self._note(f"{'private' if private else 'group'} command", message, deserves)

    def _group(self, user: User) -> None:
        group = self.rng.choice(self.groups)
        roll = self.rng.random()
        text = _text(self.rng)
        if roll < 0.3:
            message = self.api.send(user, text, chat=group, entities=[])
            self._note("group chatter", message, False)
        elif roll < 0.55:
            mention = f"@{self.rng.choice([self.api.username, self.api.username.upper()])}"
            text = self.rng.choice([f"{mention} {text}", f"{text} {mention}", mention])
            entities = [mention_entity(text, mention)]
            self._note(
                "group mention", self.api.send(user, text, chat=group, entities=entities), True
            )
        elif roll < 0.65:
            text = f"@{OTHER_BOT} {text}"
            entities = [mention_entity(text, f"@{OTHER_BOT}")]
            message = self.api.send(user, text, chat=group, entities=entities)
            self._note("group mention of another bot", message, False)
        elif roll < 0.8:
            replied = self.bot_messages[group["id"]]
            message = self.api.send(user, text, chat=group, entities=[], reply_to=replied)
            self._note("group reply to the bot", message, bool(text))
        elif roll < 0.88:
            replied = self.rng.choice(
                [m for m in self.sent[-50:] if m["chat"]["id"] == group["id"]] or [None]
            )
            message = self.api.send(user, text, chat=group, entities=[], reply_to=replied)
            self._note("group reply to someone else", message, False)
        else:
            self._command(user, group)

    def _edit(self, user: User) -> None:
        if not self.sent:
            return
        original = self.rng.choice(self.sent[-200:])
        if "text" not in original:
            return
        self.api.edit(original, _text(self.rng) or "edited")
        self.plan.kinds["edited message"] += 1
        self.plan.updates += 1

    def _stale_button(self, user: User) -> None:
        chat = private_chat(user) if self.rng.random() < 0.7 else self.rng.choice(self.groups)
        if self.rng.random() < 0.5:
            message = self.api.chat_message(self.api.bot_user, chat, "an old answer")
        else:  # a message the stand-in never saw (deleted since)
            message = {
                "message_id": 10_000_000 + self.plan.updates,
                "date": int(time.time()),
                "chat": chat,
                "from": self.api.bot_user.to_dict(),
                "text": "gone",
            }
        data = self.rng.choice(
            [
                "m:AAAAAAAA:0",
                "c:AAAAAAAA:1",
                "f:AAAAAAAA:1",
                "f:AAAAAAAA:7",
                f"s::{self.rng.randrange(-3, 30)}",
                "s::999999",
                "💥\x00garbage",
                "\ud800",
                "",
                "x" * 64,
            ]
        )
        self.plan.queries.add(self.api.press(user, message, data))
        self.plan.kinds["stale button"] += 1
        self.plan.updates += 1

    def press_answers(self, replies: list[Request], count: int) -> None:
        """Press real buttons (More, Context, 👍 / 👎) under the bot's answers."""
        with_buttons = [r for r in replies if self.api.buttons(r)]
        for reply in self.rng.sample(with_buttons, min(count, len(with_buttons))):
            label, data = self.rng.choice(sorted(self.api.buttons(reply).items()))
            presser = User(int(reply.params["chat_id"]), "Presser")
            if int(reply.params["chat_id"]) < 0:
                presser = self.rng.choice(self.users)
            self.plan.queries.add(self.api.press(presser, self.api.message_of(reply), data))
            self.plan.kinds[f"pressed {label.split()[0]}"] += 1
            self.plan.updates += 1


@dataclass
class Tally:
    """What the bot did, read incrementally from the stand-in's requests."""

    seen: int = 0
    replies: Counter[tuple[int, int]] = field(default_factory=Counter)
    answered: Counter[str] = field(default_factory=Counter)
    inline: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    answer_replies: list[Request] = field(default_factory=list)

    unfinished: list[int] = field(default_factory=list)

    def read(self, api: BotApiStandIn) -> None:
        """Count the requests answered since the last read (a long poll may still be open)."""
        requests = api.requests
        still = []
        for i in [*self.unfinished, *range(self.seen, len(requests))]:
            if requests[i].done:
                self._one(requests[i])
            else:
                still.append(i)
        self.seen, self.unfinished = len(requests), still

    def _one(self, r: Request) -> None:
        self.statuses[r.status] += 1
        if not r.delivered:
            return
        params: dict[str, Any] = r.params
        if r.method == "sendMessage" and params.get("reply_parameters"):
            key = (int(params["chat_id"]), int(params["reply_parameters"]["message_id"]))
            self.replies[key] += 1
            self.answer_replies.append(r)
        elif r.method == "answerCallbackQuery":
            self.answered[params["callback_query_id"]] += 1
        elif r.method == "answerInlineQuery":
            self.inline[params["inline_query_id"]] += 1

    def missing(self, plan: Plan) -> int:
        return (
            sum(1 for key in plan.replies if self.replies[key] == 0)
            + sum(1 for q in plan.queries if self.answered[q] == 0)
            + sum(1 for q in plan.inline if self.inline[q] == 0)
        )


async def _run_until_done(api: BotApiStandIn, tally: Tally, plan: Plan) -> None:
    started = last_progress = time.perf_counter()
    before = -1
    while time.perf_counter() - started < RUN_TIMEOUT_SECONDS:
        await asyncio.sleep(POLL_SECONDS)
        tally.read(api)
        missing = tally.missing(plan)
        if missing == 0:
            return
        if missing != before:
            before, last_progress = missing, time.perf_counter()
        elif time.perf_counter() - last_progress > STALL_SECONDS:
            return


async def test_fuzz_ten_thousand_updates(
    standin: BotApiStandIn,
    start_bot: BotFactory,
    seeds_engine: Engine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """10,000+ generated updates: no error, one reply for each that deserves one, none for
    messages not addressed to the bot, and a prompt stop."""
    caplog.set_level(logging.WARNING)
    limiter = RetryingRateLimiter(backoff_seconds=0.05, overall_max_rate=0, group_max_rate=0)
    engine = CannedEngine(seeds_engine, QUESTIONS)
    bot = await start_bot(engine=engine, rate_limiter=limiter, rate_limit_per_minute=100_000)
    fuzzer, tally = Fuzzer(standin, random.Random(SEED)), Tally()
    started = time.perf_counter()
    while fuzzer.plan.updates < UPDATES:
        fuzzer.one()
    await _run_until_done(standin, tally, fuzzer.plan)
    fuzzer.press_answers(tally.answer_replies, BUTTON_PRESSES)
    await _run_until_done(standin, tally, fuzzer.plan)
    await standin.settle(1.0)
    tally.read(standin)
    ran_for = time.perf_counter() - started

    stop_started = time.perf_counter()
    bot.stop.set()
    await asyncio.wait_for(bot.task, 60)
    stopped_in = time.perf_counter() - stop_started

    plan = fuzzer.plan
    lost = tally.missing(plan)
    twice = (
        sum(1 for key in plan.replies if tally.replies[key] > 1)
        + sum(1 for q in plan.queries if tally.answered[q] > 1)
        + sum(1 for q in plan.inline if tally.inline[q] > 1)
    )
    stray = sum(1 for key in plan.silent if tally.replies[key])
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    expected = len(plan.replies) + len(plan.queries) + len(plan.inline)
    figures = (
        f"fuzz: {plan.updates} updates ({dict(plan.kinds)}); {expected} deserved a reply, "
        f"lost {lost}, answered twice {twice}, replies to messages not addressed to the bot "
        f"{stray}; ERROR records {len(errors)}; Bot API statuses {dict(tally.statuses)}; "
        f"ran {ran_for:.1f}s; stopped {stopped_in:.2f}s after the run"
    )
    print(figures)
    standin.transcript.lines.clear()  # ten thousand updates are no reading; the figures are
    standin.transcript.section("Fuzz run")
    standin.transcript.note(figures)

    assert plan.updates >= UPDATES
    assert [r.getMessage() for r in errors[:5]] == []
    assert (lost, twice, stray) == (0, 0, 0), figures
    assert stopped_in < STOP_BOUND_SECONDS, figures
    assert ADMIN.id not in {u.id for u in fuzzer.users}  # nobody may /reindex
