"""Load on the Telegram bot: many users asking at once, through the local Bot API stand-in.

Every simulated user writes all their questions at the same moment; the real bot (the
python-telegram-bot Application, polling over HTTP, answering with the real engine) must
answer each question exactly once. Reports lost and duplicated answers, the time from a
user's message being queued to the bot's reply reaching the stand-in (p50, p95, max), and the
time until each user's first reply (p50, p95, max over users): with fair turns a user's first
answer does not wait for anyone else's tenth.

By default the bot keeps Telegram's flood limit (30 messages a second for the whole bot, the
rate limiter python-telegram-bot provides), so with 500 questions the limiter, not the engine,
sets the pace; ``--overall-rate 0`` lifts it to show the bot's own latency. The stand-in runs
in the same process as the bot and shares its event loop and CPU.

Run: ``.venv/bin/python -m benchmarks.bot_load [--users 50] [--questions 10] [--index DIR]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

from pydantic import SecretStr

from benchmarks import engine_settings as benchmark_settings
from bot.settings import Settings
from bot.telegram.app import build_application
from bot.telegram.ratelimit import RetryingRateLimiter
from bot.telegram.runner import Polling, run_bot
from bot.telegram.services import Services
from retrieval.engine import Engine
from retrieval.errors import VerbatimError
from retrieval.index.build import build_index
from tests.support.telegram.botapi_standin import BotApiStandIn, Request
from tests.support.telegram.updates import User

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
QUESTIONS_FILE = ROOT / "tests" / "data" / "seeds_questions.jsonl"
OFF_TOPIC = (
    "What is the best recipe for sourdough bread?",
    "Who won the 2018 football World Cup?",
    "How do I reset my router password?",
)
TELEGRAM_MESSAGES_PER_SECOND = 30.0
FIRST_USER_ID = 10_000
TIMEOUT_SECONDS = 600.0
SETTLE_SECONDS = 1.0
#: What the bot should manage under Telegram's flood limit: 50 first answers at 30 a second.
FIRST_REPLY_P95_TARGET_SECONDS = 2.5


def question_pool() -> list[str]:
    lines = QUESTIONS_FILE.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()] + list(OFF_TOPIC)


def percentile(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


async def load_run(engine: Engine, args: argparse.Namespace, workdir: Path) -> int:
    pool = question_pool()
    async with BotApiStandIn() as api:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            telegram_bot_token=SecretStr(api.token),
            telegram_api_base_url=api.base_url,
            feedback_db=workdir / "feedback.sqlite3",
            rate_limit_per_minute=max(20, args.questions),
            allowed_user_ids=frozenset(),
            allowed_chat_ids=frozenset(),
            webhook_url=None,
        )
        services = Services.create(settings, engine)
        limiter = RetryingRateLimiter(
            overall_max_rate=args.overall_rate, overall_time_period=1 if args.overall_rate else 0
        )
        app = build_application(settings, services, rate_limiter=limiter)
        stop = asyncio.Event()
        bot = asyncio.create_task(run_bot(app, Polling(), stop))
        await api.wait_for(lambda: api.calls("getUpdates", delivered=False))

        users = [User(FIRST_USER_ID + i, f"User {i}") for i in range(args.users)]
        asked = []
        started = time.perf_counter()
        for i, user in enumerate(users):
            for j in range(args.questions):
                asked.append(api.send(user, pool[(i * args.questions + j) % len(pool)]))
        queued = {
            (m["chat"]["id"], m["message_id"]): api.queued_at[k]
            for k, m in zip(sorted(api.queued_at), asked, strict=True)
        }

        def replied() -> bool:
            return len({key for key in _reply_keys(api)} & queued.keys()) == len(queued)

        try:
            await api.wait_for(replied, timeout=TIMEOUT_SECONDS)
        except TimeoutError:
            print(f"timed out after {TIMEOUT_SECONDS:.0f}s", file=sys.stderr)
        finished = time.perf_counter()
        await asyncio.sleep(SETTLE_SECONDS)  # late duplicates would show up here
        stop.set()
        await bot
        services.close()

    replies: dict[tuple[int, int], list[float]] = {}
    with_quotes = 0
    for key, request in zip(_reply_keys(api), _replies(api), strict=True):
        replies.setdefault(key, []).append(request.at)
        with_quotes += "<blockquote>" in str(request.params.get("text", ""))
    latencies = [min(replies[k]) - t for k, t in queued.items() if k in replies]
    lost = len(queued) - len(latencies)
    duplicated = sum(len(v) > 1 for v in replies.values())
    first_asked: dict[int, float] = {}
    first_reply: dict[int, float] = {}
    for (chat_id, _), asked_at in queued.items():
        first_asked[chat_id] = min(first_asked.get(chat_id, asked_at), asked_at)
    for (chat_id, message_id), times in replies.items():
        if (chat_id, message_id) in queued:
            first_reply[chat_id] = min(first_reply.get(chat_id, times[0]), *times)
    firsts = [first_reply[u] - first_asked[u] for u in first_asked if u in first_reply]
    faults = sum(r.status not in (0, 200) and r.method != "getUpdates" for r in api.requests)

    limit = f"{args.overall_rate:g} messages/s" if args.overall_rate else "off"
    print(f"users: {args.users}, questions each: {args.questions}, total: {len(queued)}")
    print(f"flood limit (AIORateLimiter overall rate): {limit}")
    print(
        f"answered: {len(latencies)} ({with_quotes} with quotes, "
        f"{len(latencies) - with_quotes} declines), lost: {lost}, answered twice: {duplicated}"
    )
    print(f"Bot API errors seen: {faults}; requests to the stand-in: {len(api.requests)}")
    if latencies:
        print(
            f"message -> reply latency: p50 {percentile(latencies, 50):.2f}s, "
            f"p95 {percentile(latencies, 95):.2f}s, max {max(latencies):.2f}s"
        )
    if firsts:
        p95 = percentile(firsts, 95)
        verdict = "met" if p95 <= FIRST_REPLY_P95_TARGET_SECONDS else "MISSED"
        print(
            f"each user's first reply ({len(firsts)} of {len(first_asked)} users): "
            f"p50 {percentile(firsts, 50):.2f}s, p95 {p95:.2f}s, max {max(firsts):.2f}s "
            f"(target p95 <= {FIRST_REPLY_P95_TARGET_SECONDS:g}s: {verdict})"
        )
    print(f"lost: {lost}, duplicated: {duplicated}")
    print(
        f"wall time for all answers: {finished - started:.1f}s "
        f"({len(latencies) / (finished - started):.1f} answers/s)"
    )
    return 0 if lost == 0 and duplicated == 0 else 1


def _replies(api: BotApiStandIn) -> list[Request]:
    return [r for r in api.calls("sendMessage") if (r.params.get("reply_parameters") or {})]


def _reply_keys(api: BotApiStandIn) -> list[tuple[int, int]]:
    return [
        (int(r.params["chat_id"]), int(r.params["reply_parameters"]["message_id"]))
        for r in _replies(api)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bot_load", description=__doc__)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--questions", type=int, default=10, help="questions per user")
    parser.add_argument("--index", type=Path, help="index to use (default: seeds/ indexed now)")
    parser.add_argument(
        "--overall-rate",
        type=float,
        default=TELEGRAM_MESSAGES_PER_SECOND,
        help="bot-wide messages per second (Telegram's limit); 0 lifts it",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    engine_settings = benchmark_settings()
    with tempfile.TemporaryDirectory(prefix="verbatim-bot-load-") as tmp:
        workdir = Path(tmp)
        index = args.index
        if index is None:
            index = workdir / "index"
            print(f"indexing {SEEDS} ...", file=sys.stderr)
            build_index(SEEDS, index, engine_settings)
        try:
            engine = Engine.open(index, engine_settings)
        except VerbatimError as exc:
            print(exc.message, file=sys.stderr)
            return 2
        return asyncio.run(load_run(engine, args, workdir))


if __name__ == "__main__":
    raise SystemExit(main())
