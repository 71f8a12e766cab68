"""Warm answering latency on the seeds: p50/p95 of Engine.answer over the seeds question set.

Run: python -m benchmarks.answer_latency [--rounds N] [--index DIR]
Builds (or reuses) an index of seeds/ and times every question of tests/data/ several times
after a warm-up, as the bot and the CLI call it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from retrieval.config import EngineSettings
from retrieval.engine import Engine
from retrieval.index.build import build_index

REPO = Path(__file__).resolve().parents[1]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--index", type=Path, default=None)
    args = parser.parse_args()
    settings = EngineSettings(progress=False)
    index = args.index or Path(tempfile.mkdtemp(prefix="verbatim-bench-")) / "index"
    build_index(REPO / "seeds", index, settings)
    engine = Engine.open(index, settings)
    lines = (REPO / "tests" / "data" / "seeds_questions.jsonl").read_text().splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()]
    for question in questions[:5]:
        engine.answer(question)  # warm-up (these five are then asked again, not first)
    first: list[float] = []
    again: list[float] = []
    for round_number in range(args.rounds):
        for i, question in enumerate(questions):
            start = time.perf_counter()
            engine.answer(question)
            took = (time.perf_counter() - start) * 1000
            # a question asked before finds its vector in the encoder's cache: count it apart
            (again if round_number or i < 5 else first).append(took)
    print(
        f"warm answering on seeds ({len(questions)} questions x {args.rounds} rounds; the first"
        " time a question is asked it is encoded, later its vector comes from the cache):"
    )
    for name, timings in (("first time", first), ("asked again", again)):
        if not timings:
            continue
        print(
            f"  {name:11} {len(timings):4} answers: p50 {percentile(timings, 0.50):5.1f} ms, "
            f"p95 {percentile(timings, 0.95):5.1f} ms, mean {statistics.fmean(timings):5.1f} ms, "
            f"max {max(timings):.1f} ms"
        )


if __name__ == "__main__":
    main()
