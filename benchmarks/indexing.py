"""Indexing speed: the SQuAD 2.0 dev corpus from scratch, then again unchanged, via the CLI.

Run: python -m benchmarks.indexing [--squad PATH]
The 35 SQuAD articles (1,204 paragraphs, about 6,300 sentences) are written as 35 text files
(title on the first line, paragraphs after); ``verbatim index`` is run as a real process
twice: a cold full build, then a re-run on the unchanged corpus (which reads no file, loads
no model and embeds nothing). Wall time and peak RSS of each process are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SQUAD = REPO.parent / "shared" / "data" / "squad-v2.0-dev.json"


def write_corpus(squad: Path, out: Path) -> int:
    """The SQuAD articles as text files in ``out``; returns how many."""
    data = json.loads(squad.read_text(encoding="utf-8"))["data"]
    out.mkdir(parents=True)
    for article in data:
        text = "\n\n".join(p["context"] for p in article["paragraphs"])
        title = article["title"].replace("_", " ")
        (out / f"{article['title']}.txt").write_text(f"{title}\n\n{text}\n", encoding="utf-8")
    return len(data)


def timed_index(corpus: Path, index: Path) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MiB) and summary line of one ``verbatim index`` process."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "bot.cli", "index", str(corpus), "--index", str(index)]
    runner = [
        sys.executable,
        "-c",
        "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], check=True,"
        " capture_output=True, text=True); print(r.stdout.strip());"
        " print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)",
    ]
    start = time.perf_counter()
    done = subprocess.run(
        [*runner, *command, "--quiet"], cwd=REPO, env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    lines = done.stdout.strip().splitlines()
    peak = int(lines[-1]) / 1024
    summary = "\n    ".join(lines[:-1])
    return wall, peak, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--squad", type=Path, default=DEFAULT_SQUAD)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="verbatim-bench-"))
    corpus = work / "squad"
    articles = write_corpus(args.squad, corpus)
    index = work / "index"
    cold, cold_peak, out = timed_index(corpus, index)
    print(f"SQuAD corpus: {articles} articles as text files")
    print(
        f"  full build (process wall time): {cold:6.1f} s, peak RSS {cold_peak:.0f} MiB"
        "   (targets <= 30 s, <= 600 MB)"
    )
    print(f"    {out}")
    again, again_peak, out = timed_index(corpus, index)
    print(
        f"  unchanged re-run (process wall time): {again:6.2f} s, peak RSS {again_peak:.0f} MiB"
        "   (target <= 1 s)"
    )
    print(f"    {out}")


if __name__ == "__main__":
    main()
