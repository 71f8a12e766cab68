"""Indexing speed: the SQuAD 2.0 dev corpus from scratch, then again unchanged, via the CLI.

Run: python -m benchmarks.indexing [--squad PATH]
The 35 SQuAD articles (1,204 paragraphs, about 6,300 sentences) are written as one JSONL
corpus; ``verbatim index`` is run as a real process twice: a cold full build, then a re-run
on the unchanged corpus (which must not load the model or re-embed anything).
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
    data = json.loads(squad.read_text(encoding="utf-8"))["data"]
    with out.open("w", encoding="utf-8") as handle:
        for article in data:
            text = "\n\n".join(p["context"] for p in article["paragraphs"])
            record = {
                "id": article["title"],
                "title": article["title"].replace("_", " "),
                "text": text,
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(data)


def timed_index(corpus: Path, index: Path) -> tuple[float, str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "index", str(corpus), "--index", str(index), "--quiet"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return time.perf_counter() - start, done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--squad", type=Path, default=DEFAULT_SQUAD)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="verbatim-bench-"))
    corpus = work / "squad.jsonl"
    articles = write_corpus(args.squad, corpus)
    index = work / "index"
    cold, out = timed_index(corpus, index)
    print(f"SQuAD corpus: {articles} articles")
    print(f"  full build (process wall time): {cold:6.1f} s   (target <= 90 s)")
    print(f"    {out}")
    again, out = timed_index(corpus, index)
    print(f"  unchanged re-run (process wall time): {again:6.2f} s   (target <= 3 s)")
    print(f"    {out}")


if __name__ == "__main__":
    main()
