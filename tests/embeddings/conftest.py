"""Fixtures for the encoder tests: the reference sentence-transformers model and SQuAD text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from embeddings import DEFAULT_MODEL, Encoder

ROOT = Path(__file__).resolve().parents[2]
SQUAD_CANDIDATES = [
    ROOT / "shared" / "data" / "squad-v2.0-dev.json",
    ROOT.parent / "shared" / "data" / "squad-v2.0-dev.json",
]


@pytest.fixture(scope="session")
def torch_encoder() -> Encoder:
    """The default model through sentence-transformers in float32: the reference."""
    return Encoder(DEFAULT_MODEL, backend="torch").load()


@pytest.fixture(scope="session")
def fp32_encoder() -> Encoder:
    """The default model through onnxruntime in float32."""
    return Encoder(DEFAULT_MODEL, backend="onnx").load()


@pytest.fixture(scope="session")
def squad_sentences() -> list[str]:
    """Every sentence of every SQuAD 2.0 dev context, as sentencex splits them (about 6k)."""
    import sentencex

    data = _squad()
    contexts = [p["context"] for article in data["data"] for p in article["paragraphs"]]
    return [
        sentence.strip()
        for context in contexts
        for sentence in sentencex.segment("en", context)
        if sentence.strip()
    ]


@pytest.fixture(scope="session")
def squad_paragraphs() -> list[str]:
    """Every SQuAD 2.0 dev context (about 1,200 paragraphs), in the file's order."""
    data = _squad()
    return [p["context"] for article in data["data"] for p in article["paragraphs"]]


@pytest.fixture(scope="session")
def squad_questions() -> list[str]:
    """Every distinct SQuAD 2.0 dev question (about 11,900), in the file's order."""
    data = _squad()
    questions = (
        qa["question"].strip()
        for article in data["data"]
        for paragraph in article["paragraphs"]
        for qa in paragraph["qas"]
    )
    return list(dict.fromkeys(q for q in questions if q))


def _squad() -> dict:
    """The SQuAD 2.0 dev file beside the checkout, parsed (the test skips without it)."""
    path = next((p for p in SQUAD_CANDIDATES if p.is_file()), None)
    if path is None:
        pytest.skip("shared/data/squad-v2.0-dev.json is not beside the checkout")
    return json.loads(path.read_text(encoding="utf-8"))
