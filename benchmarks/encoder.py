"""The encoder alone: load time, one question's latency, throughput, closeness to fp32.

Run: python -m benchmarks.encoder [--squad PATH] [--backends onnx-int8,torch]
Load time is a fresh process importing ``embeddings`` and loading the model answering uses
(``load(questions=True)``; the ONNX files are prepared first, not timed). Latency encodes SQuAD
questions one at a time (``encode_one``) after a warm-up; for onnx-int8 the question model
(``lean``) and the documents' model (``same``) take turns in blocks of BLOCK questions.
Throughput encodes SQuAD context sentences (sentencex) in the encoder's sorted batches. The
cosines compare each backend's sentence and question vectors with the torch-fp32 ones.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from embeddings import DEFAULT_MODEL, ENCODER_BACKENDS, Encoder
from embeddings.onnx_backend import usable_cores

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SQUAD = REPO.parent / "shared" / "data" / "squad-v2.0-dev.json"
QUESTIONS = 200
SENTENCES = 2000
LOAD_RUNS = 3
WARM_UP = 10
#: Questions each question model encodes before the other takes its turn.
BLOCK = 50
REFERENCE = "torch-fp32"
_LOAD_SCRIPT = (
    "import sys, time\n"
    "start = time.perf_counter()\n"
    "from embeddings import Encoder\n"
    "Encoder(backend=sys.argv[1]).load(questions=True)\n"
    "print(time.perf_counter() - start)\n"
)


def squad_text(squad: Path) -> tuple[list[str], list[str]]:
    """About QUESTIONS questions and SENTENCES context sentences, spread over the articles."""
    import sentencex

    data = json.loads(squad.read_text(encoding="utf-8"))["data"]
    paragraphs = [p for article in data for p in article["paragraphs"]]
    questions = [qa["question"] for p in paragraphs for qa in p["qas"]]
    sentences = [
        s.strip() for p in paragraphs for s in sentencex.segment("en", p["context"]) if s.strip()
    ]
    return (
        questions[:: max(1, len(questions) // QUESTIONS)][:QUESTIONS],
        sentences[:: max(1, len(sentences) // SENTENCES)][:SENTENCES],
    )


def load_seconds(backend: str) -> float:
    """The best of LOAD_RUNS fresh processes: import plus load, Python's own start excluded."""
    runs = []
    for _ in range(LOAD_RUNS):
        done = subprocess.run(
            [sys.executable, "-c", _LOAD_SCRIPT, backend],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(float(done.stdout.strip().splitlines()[-1]))
    return min(runs)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--squad", type=Path, default=DEFAULT_SQUAD)
    parser.add_argument("--backends", default="onnx-int8,torch")
    args = parser.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(backends) - set(ENCODER_BACKENDS)
    if unknown:
        parser.error(f"unknown backends {sorted(unknown)}: choose from {ENCODER_BACKENDS}")
    questions, sentences = squad_text(args.squad)
    print(
        f"encoder {DEFAULT_MODEL} on {usable_cores()} cores: {len(questions)} questions, "
        f"{len(sentences)} sentences"
    )
    vectors: dict[str, np.ndarray] = {}
    asked: dict[str, np.ndarray] = {}
    for backend in backends:
        Encoder(backend=backend).load().load(questions=True)  # files prepared outside timings
        loaded = load_seconds(backend)
        encoder = Encoder(backend=backend).load()
        kinds = {"": encoder}
        if encoder.lean_questions:
            kinds = {"lean": encoder, "same": Encoder(backend=backend, questions="same").load()}
        latencies = question_latencies(kinds, questions)
        asked[encoder.variant] = np.stack([encoder.encode_one(q) for q in questions])
        start = time.perf_counter()
        vectors[encoder.variant] = encoder.encode(sentences)
        rate = len(sentences) / (time.perf_counter() - start)
        print(f"  {encoder.variant:26} load {loaded:4.2f} s   {rate:5.0f} sentences/s")
        for kind, timings in latencies.items():
            name = f"{encoder.variant} questions={kind}" if kind else encoder.variant
            print(
                f"  {name:26} question p50 {percentile(timings, 0.5):5.2f} ms  "
                f"p95 {percentile(timings, 0.95):5.2f} ms"
            )
    for found, texts in ((vectors, "sentences"), (asked, "questions (each encoded alone)")):
        reference = found.pop(REFERENCE, None)
        if reference is None:
            continue
        for variant, made in found.items():
            similarity = np.einsum("ij,ij->i", made, reference)
            print(
                f"  {variant} vs {REFERENCE}: cosine min {similarity.min():.4f} "
                f"mean {similarity.mean():.4f} over {len(made)} {texts}"
            )


def question_latencies(kinds: dict[str, Encoder], questions: list[str]) -> dict[str, list[float]]:
    """Milliseconds of ``encode_one`` per question, each encoder in turn for BLOCK questions
    (a pause between turns, so that one's spinning threads have stopped before the other)."""
    for encoder in kinds.values():
        for question in questions[:WARM_UP]:
            encoder.encode_one(question)
    timings: dict[str, list[float]] = {kind: [] for kind in kinds}
    for start in range(0, len(questions), BLOCK):
        for kind, encoder in kinds.items():
            time.sleep(0.2)
            for question in questions[start : start + BLOCK]:
                began = time.perf_counter()
                encoder.encode_question(question)
                timings[kind].append((time.perf_counter() - began) * 1000)
    return timings


if __name__ == "__main__":
    main()
