"""Term coverage from stored terms: IDF weights, name variants and corpus-defined acronyms."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from retrieval.index import store, store_read, store_write
from retrieval.index.build_embed import prepare_document
from retrieval.index.loaded import LoadedIndex
from retrieval.index.rows import term_string
from retrieval.read.readers import content_hash
from retrieval.search.coverage import QueryTerms, idf, query_terms
from retrieval.split.terms import acronym_key, sentence_terms, stem
from retrieval.types import Document
from tests.support.store_terms import StoreTerms

TEXTS = {
    "a.txt": "The Syrian Democratic Forces (SDF) took the town. Iraqi troops watched.",
    "b.txt": "The SDF said the battle was over. Rain fell on Baghdad.",
    "c.txt": "Iraq declared victory. The weather was mild.",
}


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[object]:
    with contextlib.closing(store.connect(tmp_path / "s.sqlite3")) as connection:
        items = [
            prepare_document(doc, content_hash(doc), None, 6, print)
            for doc in (Document(id=i, text=t) for i, t in TEXTS.items())
        ]
        keys = {a: acronym_key(a) for item in items for a, _ in item.acronyms}
        store_write.insert_documents(connection, items, acronym_key=keys)
        yield connection


def _terms(conn: object) -> QueryTerms:
    stats = store.stats(conn)  # type: ignore[arg-type]
    return QueryTerms(
        StoreTerms(conn),  # type: ignore[arg-type]
        ["sdf", "iraq", "democratic", "weather"],
        sentences=stats.sentences,
        passages=stats.passages,
    )


def test_coverage_counts_terms_acronyms_and_variants(conn: object) -> None:
    terms = _terms(conn)
    held = [
        term_string(sentence_terms(text))
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


def test_other_forms_count_as_the_term(conn: object) -> None:
    stats = store.stats(conn)  # type: ignore[arg-type]
    held = [term_string(sentence_terms(t)) for t in ("Rain fell on Baghdad.", "Rain fall.")]
    plain = QueryTerms(
        StoreTerms(conn),  # type: ignore[arg-type]
        ["fallen"],
        sentences=stats.sentences,
        passages=stats.passages,
    )
    assert plain.coverage(held).tolist() == [0.0, 0.0]
    assert plain.other_forms == ()
    formed = QueryTerms(
        StoreTerms(conn),  # type: ignore[arg-type]
        ["fallen"],
        sentences=stats.sentences,
        passages=stats.passages,
        forms={"fallen": ["fell", "fall"]},
    )
    assert formed.coverage(held).tolist() == [1.0, 1.0]
    assert formed.other_forms == (stem("fell"), stem("fall"))
    # a form stored in the corpus has its own weight, for the lexical candidate search
    assert formed.weight("fell") > 0


def test_rare_terms_weigh_more(conn: object) -> None:
    terms = _terms(conn)
    # "sdf" is in two sentences, "weather" in one: covering "weather" is worth more.
    weight = dict(zip(terms.stems, terms.sentence_weights, strict=True))
    assert weight[stem("weather")] > weight[stem("sdf")]


def test_deleting_a_document_takes_its_terms_along(conn: object) -> None:
    store_write.delete_documents(conn, ["b.txt"])  # type: ignore[arg-type]
    frequencies = store_read.term_frequencies(conn, [stem("baghdad"), stem("sdf")])  # type: ignore[arg-type]
    assert stem("baghdad") not in frequencies
    assert frequencies[stem("sdf")] == (1, 1)
    assert store.stats(conn).documents == 2  # type: ignore[arg-type]


def test_idf_falls_as_a_term_gets_common() -> None:
    weights = [idf(df, 100) for df in (0, 1, 10, 100)]
    assert weights == sorted(weights, reverse=True) and len(set(weights)) == 4
    assert weights[-1] > 0


def test_weights_and_frequencies_are_of_the_stems(conn: object) -> None:
    terms = _terms(conn)
    stats = store.stats(conn)  # type: ignore[arg-type]
    assert terms.sentence_frequency("sdf") == 2 and terms.sentence_frequency("weather") == 1
    assert terms.weight("weather") == pytest.approx(idf(1, stats.sentences))
    assert terms.weight("weather", passages=True) == pytest.approx(idf(1, stats.passages))
    # a word the question does not hold weighs nothing, however common
    assert terms.weight("rain") == 0.0 and terms.sentence_frequency("rain") == 0


def test_passage_coverage_uses_passage_weights(conn: object) -> None:
    terms = _terms(conn)
    held = [term_string(sentence_terms("The weather was mild."))]
    for passages, weights in [(False, terms.sentence_weights), (True, terms.passage_weights)]:
        weather = dict(zip(terms.stems, weights, strict=True))[stem("weather")]
        share = terms.coverage(held, passages=passages)[0]
        assert share == pytest.approx(weather / weights.sum())
    assert terms.coverage(held)[0] != pytest.approx(terms.coverage(held, passages=True)[0])


DOCS = [Document(id=i, text=t) for i, t in TEXTS.items()]


def test_a_question_shares_the_index_caches(
    index_of: Callable[[Sequence[Document]], LoadedIndex], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Facts read for one question serve the next: the store is not asked again."""
    index = index_of(DOCS)
    words = ["sdf", "iraq", "weather"]
    with index.reader() as reader:
        stats = reader.stats
        first = query_terms(reader, words)
        assert set(first.stems) <= index.shared.facts.keys()

        def no_store(*_args: object) -> None:
            raise AssertionError("asked the store again")

        monkeypatch.setattr(store_read, "term_facts", no_store)
        again = query_terms(reader, words)
        monkeypatch.undo()
        fresh = QueryTerms(reader, words, sentences=stats.sentences, passages=stats.passages)
    assert again.sentence_weights.tolist() == fresh.sentence_weights.tolist()
    assert again.passage_weights.tolist() == fresh.passage_weights.tolist()
