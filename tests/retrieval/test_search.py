"""Candidate search: common words are left out of the BM25 query, the rarest always kept."""

from __future__ import annotations

from pathlib import Path

from retrieval import search, store
from retrieval.indexer import _prepare
from retrieval.lexicon import QueryTerms, acronym_key
from retrieval.readers import content_hash
from retrieval.types import Document


def _terms(tmp_path: Path) -> QueryTerms:
    docs = [
        Document(id=f"{i}.txt", text=f"The city council met. Report {i} was about rivers.")
        for i in range(50)
    ]
    docs.append(Document(id="x.txt", text="The city zoo opened a penguin house."))
    conn = store.connect(tmp_path / "s.sqlite3")
    items = [_prepare(d, content_hash(d), None, 6) for d in docs]
    store.insert_documents(
        conn, items, acronym_key={a: acronym_key(a) for i in items for a, _ in i.acronyms}
    )
    stats = store.stats(conn)
    return QueryTerms(
        conn,
        ["city", "council", "penguin", "zoo"],
        sentences=stats.sentences,
        passages=stats.passages,
    )


def test_common_words_are_left_out(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(search, "LEXICAL_BUDGET", 40)
    terms = _terms(tmp_path)
    assert terms.sentence_frequency("city") == 51 and terms.sentence_frequency("penguin") == 1
    assert search.selective(terms, ("city", "council", "penguin", "zoo")) == ("penguin", "zoo")
    # however common, the two rarest words stay
    assert search.selective(terms, ("city", "council")) == ("city", "council")


def test_small_corpora_keep_every_word(tmp_path: Path) -> None:
    terms = _terms(tmp_path)
    words = ("city", "council", "penguin")
    assert search.selective(terms, words) == words
