"""Warm answering through a Milvus server against the embedded store, on the same questions.

Run: python -m benchmarks.milvus_latency [--squad PATH/squad-v2.0-dev.json] [--limit N]
       [--warmup N] [--index DIR] [--uri http://127.0.0.1:PORT] [--own-encoders]

Starts a ``milvus-lite server`` on loopback (unless ``--uri`` names a running one), indexes the
seeds (or the SQuAD file's articles) with the Milvus store (the embedded index stays in
``--index`` too), then answers every question warm through both stores and prints p50/p95,
hit@1 (the first quote holds a gold answer; seeds: it cites a gold source), the share of
questions whose first quote is the same, the Milvus calls per answer and, for a server of its
own, the server's CPU time per answer (less swayed by other jobs than wall time), with this
process's own CPU time per answer for each store. Both stores share one encoder: the Milvus
store answers each question right after the embedded one, so its encoding comes from the
encoder's query cache and its figures leave the encoding out (5-7 ms on 2 cores), unless
``--own-encoders``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from benchmarks import engine_settings
from retrieval.config import new_encoder
from retrieval.engine import Engine
from retrieval.evaluation.matching import contains_answer
from retrieval.evaluation.questions import load_questions
from retrieval.index.build import build_index
from tests.support.milvus import MilvusServer, server_binary

REPO = Path(__file__).resolve().parents[1]
#: Questions answered before timing by default (warms the model); ``--warmup`` sets it.
WARMUP = 5
#: MilvusClient methods counted as round trips.
COUNTED = ("search", "query", "query_iterator", "has_collection", "get", "load_collection")

calls: Counter[str] = Counter()
spent: Counter[str] = Counter()


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def count_calls() -> None:
    """Count every MilvusClient call named in COUNTED (each is one gRPC round trip or more)."""
    from pymilvus import MilvusClient

    for name in COUNTED:
        method = getattr(MilvusClient, name)

        def counted(*a: Any, _m: Callable[..., Any] = method, _n: str = name, **k: Any) -> Any:
            what = f"{_n} {str(a[1]).rsplit('_', 1)[-1]}" if len(a) > 1 else _n
            calls[what] += 1
            start = time.perf_counter()
            try:
                return _m(*a, **k)
            finally:
                spent[what] += (time.perf_counter() - start) * 1000

        setattr(MilvusClient, name, counted)


@contextmanager
def milvus_server(uri: str | None) -> Iterator[tuple[str, MilvusServer | None]]:
    """``uri`` when given, else a milvus-lite server of our own on a loopback port."""
    if uri:
        yield uri, None
        return
    binary = server_binary()
    if not binary:
        sys.exit("milvus-lite is not installed: pip install 'verbatim-qa[cluster]'")
    data = Path(tempfile.mkdtemp(prefix="verbatim-milvus-"))
    server = MilvusServer(binary, data / "db", data / "server.log")
    try:
        server.start()
    except RuntimeError as exc:
        sys.exit(str(exc))
    try:
        yield server.uri, server
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)


def first_quote(engine: Engine, question: str) -> tuple[float, Any]:
    start = time.perf_counter()
    answer = engine.answer(question)
    took = (time.perf_counter() - start) * 1000
    return took, answer.quotes[0] if answer.quotes else None


def timed(engine: Engine, question: str) -> tuple[float, float, Any]:
    """``first_quote`` and this process's CPU time for it, in ms (threads included)."""
    cpu = time.process_time()
    took, quote = first_quote(engine, question)
    return took, (time.process_time() - cpu) * 1000, quote


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--squad", type=Path, help="a SQuAD JSON file (default: the seeds)")
    parser.add_argument("--limit", type=int, default=None, help="ask only the first N questions")
    parser.add_argument("--index", type=Path, default=None, help="the embedded index folder")
    parser.add_argument("--uri", default=None, help="a running Milvus server (else one starts)")
    parser.add_argument("--prefix", default="bench_", help="the Milvus collection name prefix")
    parser.add_argument(
        "--warmup",
        type=int,
        default=WARMUP,
        help="answer the first N questions untimed (fills the caches, as a running bot's are); "
        "the timed ones are the next --limit",
    )
    parser.add_argument(
        "--own-encoders",
        action="store_true",
        help="give each store its own encoder (its figures then include encoding each question)",
    )
    args = parser.parse_args()
    squad = args.squad is not None
    if args.squad:
        question_set = load_questions(args.squad)
        corpus: Any = list(question_set.documents or ())
        questions = [(q.question, q.answers, q.sources) for q in question_set.questions]
        questions = [q for q in questions if q[1]]  # hit@1 is over answerable questions
    else:
        corpus = REPO / "seeds"
        lines = (REPO / "tests" / "data" / "seeds_questions.jsonl").read_text().splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
        questions = [(r["question"], (), tuple(r["sources"])) for r in rows]
    warmup = questions[: max(0, args.warmup)]
    questions = questions[len(warmup) :][: args.limit]
    index = args.index or Path(tempfile.mkdtemp(prefix="verbatim-bench-")) / "index"
    embedded_settings = engine_settings(store="embedded")
    encoder = new_encoder(embedded_settings)
    count_calls()
    with milvus_server(args.uri) as (uri, server):
        settings = embedded_settings.model_copy(
            update={"store": "milvus", "milvus_uri": uri, "milvus_prefix": args.prefix}
        )
        start = time.perf_counter()
        build_index(corpus, index, settings, encoder=encoder)
        print(f"indexed and mirrored into Milvus in {time.perf_counter() - start:.0f} s")
        stores = {
            "embedded": Engine.open(index, embedded_settings, encoder=encoder),
            "milvus": Engine.open(
                index,
                settings,
                encoder=new_encoder(embedded_settings) if args.own_encoders else encoder,
            ),
        }
        timings: dict[str, list[float]] = {name: [] for name in stores}
        client_cpu = dict.fromkeys(stores, 0.0)
        hits: Counter[str] = Counter()
        same = 0
        trips: list[int] = []
        for engine in stores.values():
            for question, _, _ in warmup:
                engine.answer(question)
        calls.clear()
        spent.clear()
        server_cpu = server.cpu_seconds() if server else None
        for question, answers, sources in questions:
            firsts = {}
            for name, engine in stores.items():
                before = sum(calls.values())
                ms, cpu, quote = timed(engine, question)
                client_cpu[name] += cpu
                if name == "milvus":
                    trips.append(sum(calls.values()) - before)
                timings[name].append(ms)
                firsts[name] = None if quote is None else (quote.source.id, quote.start, quote.end)
                if quote is not None and (
                    contains_answer(quote.text, answers) if squad else quote.source.id in sources
                ):
                    hits[name] += 1
            same += firsts["embedded"] == firsts["milvus"]
        first_calls, first_spent = Counter(calls), Counter(spent)
        if server is not None and server_cpu is not None:
            server_cpu = ((server.cpu_seconds() or 0.0) - server_cpu) * 1000 / len(questions)
        repeated = {
            name: [first_quote(e, q)[0] for q, _, _ in questions] for name, e in stores.items()
        }
        for engine in stores.values():
            engine.close()
    n = len(questions)
    print(
        f"{n} questions, warm, after {len(warmup)} others ({os.cpu_count()} CPUs; load "
        f"{os.getloadavg()[0]:.2f})"
    )
    for name, times in timings.items():
        print(
            f"  {name:8s} p50 {percentile(times, 0.5):7.1f} ms  p95 {percentile(times, 0.95):7.1f} "
            f"ms  hit@1 {hits[name] / n:.3f}  client CPU {client_cpu[name] / n:.1f} ms an answer"
        )
    print(f"  same first quote {same / n:.3f}")
    for name, times in repeated.items():
        print(
            f"  {name:8s} asked again: p50 {percentile(times, 0.5):7.1f} ms  "
            f"p95 {percentile(times, 0.95):7.1f} ms"
        )
    print(
        f"  Milvus calls per answer: p50 {percentile(trips, 0.5)}, max {max(trips)}; "
        f"by kind over all: {dict(first_calls)}"
    )
    if server_cpu is not None:
        print(f"  milvus-lite server CPU per first-time answer: {server_cpu:.1f} ms")
    print(
        "  ms in Milvus calls per answer (background calls overlap): "
        + ", ".join(f"{k} {v / n:.1f}" for k, v in first_spent.items())
    )


if __name__ == "__main__":
    main()
