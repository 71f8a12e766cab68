"""The synthetic corpus generator of the scale benchmark: exact, unique, deterministic, readable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.scale_corpus import (
    generate,
    real_sentences,
    standin_vectors,
    write_corpus,
    write_jsonl,
)
from retrieval.read.readers import read_corpus

N = 2_000


@pytest.fixture(scope="module")
def articles():
    return list(generate(N, seed=1))


def test_real_sentences_are_distinct_and_in_bounds() -> None:
    sentences = real_sentences()
    assert len(sentences) > 5_000
    assert len(set(sentences)) == len(sentences)
    assert all(20 <= len(s) <= 400 and s == s.strip() for s in sentences)


def test_exact_count_and_shape(articles) -> None:
    assert sum(a.sentence_count for a in articles) == N
    assert len(articles) == -(-N // 30)
    assert all(a.sentence_count == 30 for a in articles[:-1])
    assert len({a.id for a in articles}) == len(articles)
    assert articles[0].id == "synthetic/000000.txt"
    for article in articles:
        assert len(article.sentences) == article.sentence_count
        head, body = article.text.split("\n\n", 1)
        assert head == article.title
        paragraphs = body.rstrip("\n").split("\n\n")
        assert " ".join(paragraphs) == " ".join(article.sentences)
        assert all("\n" not in p for p in paragraphs)


def test_no_two_sentences_equal(articles) -> None:
    sentences = [s for a in articles for s in a.sentences]
    assert len(set(sentences)) == len(sentences) == N
    assert len({a.title for a in articles}) == len(articles)


def test_deterministic_and_seeded(articles) -> None:
    assert list(generate(N, seed=1)) == articles
    other = list(generate(N, seed=2))
    assert [a.text for a in other] != [a.text for a in articles]


def test_names_and_numbers_are_changed(articles) -> None:
    real = set(real_sentences())
    changed = sum(s not in real for a in articles for s in a.sentences)
    assert changed / N > 0.4


def test_jsonl_reads_back(tmp_path: Path, articles) -> None:
    path = tmp_path / "corpus.jsonl"
    assert write_jsonl(path, N, seed=1) == len(articles)
    result = read_corpus(path)
    assert not result.skipped
    assert [d.id for d in result.documents] == [a.id for a in articles]
    assert result.documents[0].text == articles[0].text
    assert result.documents[0].title == articles[0].title


def test_corpus_folder(tmp_path: Path) -> None:
    files = write_corpus(tmp_path / "corpus", 300, seed=3)
    assert files == 10
    assert len(list((tmp_path / "corpus").rglob("*.txt"))) == 10
    assert len(read_corpus(tmp_path / "corpus").documents) == 10


def test_standin_vectors() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=(50, 16)).astype(np.float32)
    vectors = standin_vectors(1_000, base, seed=4)
    assert vectors.shape == (1_000, 16) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(vectors, standin_vectors(1_000, base, seed=4))
    assert not np.array_equal(vectors, standin_vectors(1_000, base, seed=5))
    unit = base / np.linalg.norm(base, axis=1, keepdims=True)
    # Each stand-in lies close to the real vectors it is mixed from (unlike random vectors).
    assert float(np.mean(np.max(vectors @ unit.T, axis=1))) > 0.6
