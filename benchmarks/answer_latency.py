"""Warm answering latency: p50/p95 of Engine.answer on the seeds and on the SQuAD dev corpus.

Run: python -m benchmarks.answer_latency [--rounds N] [--index DIR] [--squad PATH]
         [--squad-questions N] [--squad-index DIR]

Seeds: builds (or reuses) an index of seeds/ and times every question of tests/data/ several
times after a warm-up, as the bot and the CLI call it. The first time a question is asked it
is encoded; later its vector comes from the encoder's cache, so those are counted apart.

SQuAD (when ``../shared/data/squad-v2.0-dev.json`` or ``--squad`` exists): the 35 articles
indexed as ``verbatim eval`` indexes them (``.verbatim/eval``, built once), then the first
``--squad-questions`` distinct questions of the file, each asked once, as the harness asks
them: every figure there is a first-time question.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks import engine_settings
from retrieval.config import EngineSettings, new_encoder
from retrieval.engine import Engine
from retrieval.index.build import build_index

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SQUAD = REPO.parent / "shared" / "data" / "squad-v2.0-dev.json"
#: Questions asked before timing, so that lazily loaded parts are loaded.
WARM_UP = 20


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def timed(engine: Engine, questions: list[str]) -> list[float]:
    """Milliseconds of each answer, in order."""
    took: list[float] = []
    for question in questions:
        start = time.perf_counter()
        engine.answer(question)
        took.append((time.perf_counter() - start) * 1000)
    return took


def line(name: str, timings: list[float]) -> str:
    return (
        f"  {name:11} {len(timings):4} answers: p50 {percentile(timings, 0.50):5.1f} ms, "
        f"p95 {percentile(timings, 0.95):5.1f} ms, mean {statistics.fmean(timings):5.1f} ms, "
        f"max {max(timings):.1f} ms"
    )


def seeds(index: Path | None, rounds: int, settings: EngineSettings) -> None:
    index = index or Path(tempfile.mkdtemp(prefix="verbatim-bench-")) / "index"
    build_index(REPO / "seeds", index, settings)
    engine = Engine.open(index, settings)
    lines = (REPO / "tests" / "data" / "seeds_questions.jsonl").read_text().splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()]
    timed(engine, questions[:5])  # warm-up (these five are then asked again, not first)
    first: list[float] = []
    again: list[float] = []
    for round_number in range(rounds):
        for i, took in enumerate(timed(engine, questions)):
            # a question asked before finds its vector in the encoder's cache: count it apart
            (again if round_number or i < 5 else first).append(took)
    print(
        f"warm answering on seeds ({len(questions)} questions x {rounds} rounds; the first"
        " time a question is asked it is encoded, later its vector comes from the cache):"
    )
    for name, timings in (("first time", first), ("asked again", again)):
        if timings:
            print(line(name, timings))


def squad(path: Path, count: int, index: Path | None, settings: EngineSettings) -> None:
    from bot.eval_cmd import cached_index
    from retrieval.evaluation.questions import load_questions

    question_set = load_questions(path)
    encoder = new_encoder(settings)
    if index is None:
        index = cached_index(path, settings, encoder, question_set)
    else:
        build_index(list(question_set.documents or ()), index, settings, encoder=encoder)
    engine = Engine.open(index, settings, encoder=encoder)
    questions = list(dict.fromkeys(q.question for q in question_set.questions))
    timed(engine, questions[-WARM_UP:])
    timings = timed(engine, questions[:count])
    print(
        f"warm answering on the SQuAD dev corpus ({len(question_set.documents or ())} articles;"
        f" {len(timings)} distinct questions, each asked once):"
    )
    print(line("first time", timings))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--index", type=Path, default=None, help="the seeds index to use")
    parser.add_argument("--squad", type=Path, default=DEFAULT_SQUAD)
    parser.add_argument("--squad-questions", type=int, default=2000)
    parser.add_argument("--squad-index", type=Path, default=None)
    args = parser.parse_args()
    settings = engine_settings()
    seeds(args.index, args.rounds, settings)
    if args.squad_questions <= 0:
        return
    if not args.squad.is_file():
        print(f"(no SQuAD file at {args.squad}: the SQuAD figures are left out)", file=sys.stderr)
        return
    squad(args.squad, args.squad_questions, args.squad_index, settings)


if __name__ == "__main__":
    main()
