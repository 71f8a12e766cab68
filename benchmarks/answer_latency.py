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
        engine.answer(question)  # warm-up
    timings: list[float] = []
    for _ in range(args.rounds):
        for question in questions:
            start = time.perf_counter()
            engine.answer(question)
            timings.append((time.perf_counter() - start) * 1000)
    print(
        f"warm answering on seeds: {len(timings)} answers ({len(questions)} questions x "
        f"{args.rounds} rounds)"
    )
    print(f"  p50 {percentile(timings, 0.50):6.1f} ms   (target <= 20 ms)")
    print(f"  p95 {percentile(timings, 0.95):6.1f} ms   (target <= 40 ms)")
    print(f"  mean {statistics.fmean(timings):5.1f} ms   max {max(timings):.1f} ms")


if __name__ == "__main__":
    main()
