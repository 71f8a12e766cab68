"""One cold ``verbatim ask`` process: wall time and peak memory (max RSS).

Run: python -m benchmarks.cold_ask [--runs N]
Indexes seeds/ first (not timed), then starts ``verbatim ask`` as a fresh process each run.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
QUESTION = "Who is the research director for the Mideast at Amnesty?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    index = Path(tempfile.mkdtemp(prefix="verbatim-bench-")) / "index"
    cli = [sys.executable, "-m", "bot.cli"]
    subprocess.run(
        [*cli, "index", "seeds", "--index", str(index), "--quiet"],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
    )
    walls = []
    peak_kib = 0
    for _ in range(args.runs):
        start = time.perf_counter()
        subprocess.run(
            [*cli, "ask", QUESTION, "--index", str(index)],
            cwd=REPO,
            env=env,
            check=True,
            capture_output=True,
        )
        walls.append(time.perf_counter() - start)
        peak_kib = max(peak_kib, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print(
        f"cold `verbatim ask` ({args.runs} runs): wall {min(walls):.2f} s best, "
        f"{sorted(walls)[len(walls) // 2]:.2f} s median; peak RSS {peak_kib / 1024:.0f} MiB"
    )


if __name__ == "__main__":
    main()
