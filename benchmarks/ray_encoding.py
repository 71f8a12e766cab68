"""Encoding the SQuAD corpus's sentences on Ray against encoding them locally: sentences/s.

Run: python -m benchmarks.ray_encoding [--squad PATH] [--workers 2] [--address ADDRESS]
Without ``--address`` Ray runs inside this process with ``--workers`` CPUs (one actor with one
ONNX thread each); locally the encoder uses every core this process may use. Both encode the
same sentences once after a warm-up (the model loaded, and on Ray the actors started); the
cosine between the two sets of vectors is printed too.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.encoder import DEFAULT_SQUAD
from embeddings import Encoder
from embeddings.onnx_backend import usable_cores
from embeddings.ray_backend import LOCAL_CLUSTER, RayEncoder, import_ray

WARM_UP = 256


def squad_sentences(squad: Path) -> list[str]:
    """Every sentence of every SQuAD 2.0 dev context, as sentencex splits them."""
    import json

    import sentencex

    data = json.loads(squad.read_text(encoding="utf-8"))["data"]
    contexts = [p["context"] for article in data for p in article["paragraphs"]]
    return [s.strip() for c in contexts for s in sentencex.segment("en", c) if s.strip()]


def rate(encoder: Encoder, texts: list[str]) -> tuple[float, np.ndarray]:
    """Sentences per second of one call, after a warm-up call."""
    encoder.encode(texts[:WARM_UP])
    start = time.perf_counter()
    vectors = encoder.encode(texts)
    return len(texts) / (time.perf_counter() - start), vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=DEFAULT_SQUAD)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--address", default=LOCAL_CLUSTER)
    parser.add_argument("--limit", type=int, default=0, help="only the first N sentences")
    args = parser.parse_args()
    texts = squad_sentences(args.squad)
    if args.limit:
        texts = texts[: args.limit]
    local_rate, local = rate(Encoder().load(), texts)
    print(f"local: {len(texts)} sentences, {usable_cores()} cores: {local_rate:.0f} sentences/s")
    if args.address == LOCAL_CLUSTER:
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # else it writes ~/.ray/auth_token
        import_ray().init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
    on_ray = RayEncoder(address=args.address).load()
    actors, _cpus, _gpus = on_ray.pool()
    ray_rate, remote = rate(on_ray, texts)
    cosine = float(np.einsum("ij,ij->i", local, remote).min())
    print(
        f"ray ({args.address}): {actors} actors x {on_ray.threads_per_actor} thread: "
        f"{ray_rate:.0f} sentences/s ({ray_rate / local_rate:.2f}x local); "
        f"lowest cosine to local {cosine:.6f}"
    )


if __name__ == "__main__":
    main()
