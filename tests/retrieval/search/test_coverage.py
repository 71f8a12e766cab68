"""Term coverage from stored terms: IDF weights, name variants and corpus-defined acronyms."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from retrieval.index import store
from retrieval.index.build import _prepare
from retrieval.read.readers import content_hash
from retrieval.search.coverage import QueryTerms
from retrieval.split.terms import acronym_key, sentence_terms, stem
from retrieval.types import Document

TEXTS = {
    "a.txt": "The Syrian Democratic Forces (SDF) took the town. Iraqi troops watched.",
    "b.txt": "The SDF said the battle was over. Rain fell on Baghdad.",
    "c.txt": "Iraq declared victory. The weather was mild.",
}


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[object]:
    with contextlib.closing(store.connect(tmp_path / "s.sqlite3")) as connection:
        items = [
            _prepare(doc, content_hash(doc), None, 6, print)
            for doc in (Document(id=i, text=t) for i, t in TEXTS.items())
        ]
        keys = {a: acronym_key(a) for item in items for a, _ in item.acronyms}
        store.insert_documents(connection, items, acronym_key=keys)
        yield connection


def _terms(conn: object) -> QueryTerms:
    stats = store.stats(conn)  # type: ignore[arg-type]
    return QueryTerms(
        conn,  # type: ignore[arg-type]
        ["sdf", "iraq", "democratic", "weather"],
        sentences=stats.sentences,
        passages=stats.passages,
    )


def test_coverage_counts_terms_acronyms_and_variants(conn: object) -> None:
    terms = _terms(conn)
    held = [
        store.term_string(sentence_terms(text))
        for text in (
            "Iraqi troops watched.",  # iraq only through a variant
            "The SDF said the battle was over.",  # democratic through SDF
            "Syrian Democratic Forces attacked.",  # sdf through its long name
            "The weather was mild.",
        )
    ]
    plain = terms.coverage(held, only=["iraq"])
    assert plain.tolist() == [0.0, 0.0, 0.0, 0.0]
    assert terms.coverage(held, only=["iraq"], variants=True)[0] == 1.0
    assert terms.coverage(held, only=["democratic"])[1] == 1.0
    assert terms.coverage(held, only=["sdf"])[2] == 1.0
    both = terms.coverage(held)
    assert all(0.0 <= v <= 1.0 for v in both)


def test_rare_terms_weigh_more(conn: object) -> None:
    terms = _terms(conn)
    # "sdf" is in two sentences, "weather" in one: covering "weather" is worth more.
    weight = dict(zip(terms.stems, terms.sentence_weights, strict=True))
    assert weight[stem("weather")] > weight[stem("sdf")]


def test_deleting_a_document_takes_its_terms_along(conn: object) -> None:
    store.delete_documents(conn, ["b.txt"])  # type: ignore[arg-type]
    frequencies = store.term_frequencies(conn, [stem("baghdad"), stem("sdf")])  # type: ignore[arg-type]
    assert stem("baghdad") not in frequencies
    assert frequencies[stem("sdf")] == (1, 1)
    assert store.stats(conn).documents == 2  # type: ignore[arg-type]
