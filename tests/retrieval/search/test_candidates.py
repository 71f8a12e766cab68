"""Candidate search: common words are left out of the lexical search, the rarest always kept."""

from __future__ import annotations

from pathlib import Path

from retrieval.index import store
from retrieval.index.build import _prepare
from retrieval.read.readers import content_hash
from retrieval.search import candidates
from retrieval.search.coverage import QueryTerms
from retrieval.split.terms import acronym_key
from retrieval.types import Document


def _terms(tmp_path: Path) -> QueryTerms:
    docs = [
        Document(id=f"{i}.txt", text=f"The city council met. Report {i} was about rivers.")
        for i in range(50)
    ]
    docs.append(Document(id="x.txt", text="The city zoo opened a penguin house."))
    conn = store.connect(tmp_path / "s.sqlite3")
    items = [_prepare(d, content_hash(d), None, 6, print) for d in docs]
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
    monkeypatch.setattr(candidates, "LEXICAL_BUDGET", 40)
    terms = _terms(tmp_path)
    assert terms.sentence_frequency("city") == 51 and terms.sentence_frequency("penguin") == 1
    assert candidates.selective(terms, ("city", "council", "penguin", "zoo")) == ("penguin", "zoo")
    # however common, the two rarest words stay
    assert candidates.selective(terms, ("city", "council")) == ("city", "council")


def test_small_corpora_keep_every_word(tmp_path: Path) -> None:
    terms = _terms(tmp_path)
    words = ("city", "council", "penguin")
    assert candidates.selective(terms, words) == words


class _Postings:
    """What ``candidates.matching`` asks of a reader, over a real store."""

    def __init__(self, conn) -> None:
        self.conn = conn

    def postings(self, kind: str, fts_query: str):
        return store.postings(self.conn, kind, fts_query)


def test_matching_ranks_rows_by_the_idf_weight_they_hold(tmp_path: Path) -> None:
    terms = _terms(tmp_path)
    reader = _Postings(terms._conn)
    found = candidates.matching(reader, terms, ("city", "penguin", "zoo"), "sentences", 3)  # type: ignore[arg-type]
    first = store.sentence_rows(terms._conn, [found[0]])[0]
    assert first.text == "The city zoo opened a penguin house."
    # the next ones hold only "city": ties go to the earlier position
    assert found[1:] == sorted(found[1:])
    assert candidates.matching(reader, terms, ("unheard",), "sentences", 5) == []  # type: ignore[arg-type]


def test_matching_agrees_with_a_brute_force_count(tmp_path: Path) -> None:
    """Differential: every row's summed weight, from the texts themselves, decides the top."""
    import re

    terms = _terms(tmp_path)
    reader = _Postings(terms._conn)
    rows = terms._conn.execute("SELECT pos, text FROM sentences ORDER BY pos").fetchall()
    for words in [("city",), ("council", "zoo"), ("city", "council", "penguin", "zoo")]:
        expected = {}
        for pos, text in rows:
            tokens = set(re.findall(r"\w+", text.lower()))
            weight = sum(terms.weight(w) for w in words if w in tokens)
            if weight:
                expected[pos] = weight
        best = sorted(expected, key=lambda p: (-expected[p], p))[:10]
        assert candidates.matching(reader, terms, words, "sentences", 10) == best  # type: ignore[arg-type]


def test_postings_treat_query_syntax_as_text(tmp_path: Path) -> None:
    terms = _terms(tmp_path)
    assert len(store.postings(terms._conn, "sentences", '"penguin"')) == 1
    assert len(store.postings(terms._conn, "sentences", "")) == 0
    assert len(store.postings(terms._conn, "passages", '"nothing"')) == 0
