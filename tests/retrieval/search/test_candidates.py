"""Candidate search: the words the lexical search can afford, and the scores of the rankings.

The hand formula's rules are each checked against a run without them (focus floor, answer
type); the learned hybrid against the shipped model applied to the gathered features; RRF
against a reference computed from the reader's own rankings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from embeddings import Encoder
from retrieval.config import Retriever
from retrieval.index import store, store_read, store_write
from retrieval.index.build_embed import prepare_document
from retrieval.index.loaded import LoadedIndex
from retrieval.index.reader import Reader
from retrieval.read.readers import content_hash
from retrieval.search import candidates, features, lexical
from retrieval.search.answer_type import AnswerType, expected_type, holds, question_words
from retrieval.search.coverage import QueryTerms
from retrieval.search.query import prepare
from retrieval.split.terms import acronym_key
from retrieval.types import Document
from tests.support.store_terms import StoreTerms


def _terms(tmp_path: Path) -> QueryTerms:
    docs = [
        Document(id=f"{i}.txt", text=f"The city council met. Report {i} was about rivers.")
        for i in range(50)
    ]
    docs.append(Document(id="x.txt", text="The city zoo opened a penguin house."))
    conn = store.connect(tmp_path / "s.sqlite3")
    items = [prepare_document(d, content_hash(d), None, 6, print) for d in docs]
    store_write.insert_documents(
        conn, items, acronym_key={a: acronym_key(a) for i in items for a, _ in i.acronyms}
    )
    stats = store.stats(conn)
    return QueryTerms(
        StoreTerms(conn),  # type: ignore[arg-type]
        ["city", "council", "penguin", "zoo"],
        sentences=stats.sentences,
        passages=stats.passages,
    )


def test_common_words_are_left_out(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(lexical, "LEXICAL_BUDGET", 40)
    terms = _terms(tmp_path)
    assert terms.sentence_frequency("city") == 51 and terms.sentence_frequency("penguin") == 1
    assert lexical.selective(terms, ("city", "council", "penguin", "zoo")) == ("penguin", "zoo")
    # however common, the two rarest words stay
    assert lexical.selective(terms, ("city", "council")) == ("city", "council")


def test_small_corpora_keep_every_word(tmp_path: Path) -> None:
    terms = _terms(tmp_path)
    words = ("city", "council", "penguin")
    assert lexical.selective(terms, words) == words


def test_matching_ranks_rows_by_the_idf_weight_they_hold(tmp_path: Path) -> None:
    terms = _terms(tmp_path)
    reader = terms._view
    found = lexical.matching(reader, terms, ("city", "penguin", "zoo"), "sentences", 3)  # type: ignore[arg-type]
    first = store_read.sentence_rows(terms._view.conn, [found[0]])[0]
    assert first.text == "The city zoo opened a penguin house."
    # the next ones hold only "city": ties go to the earlier position
    assert found[1:] == sorted(found[1:])
    assert lexical.matching(reader, terms, ("unheard",), "sentences", 5) == []  # type: ignore[arg-type]


def test_matching_agrees_with_a_brute_force_count(tmp_path: Path) -> None:
    """Differential: every row's summed weight, from the texts themselves, decides the top."""
    import re

    terms = _terms(tmp_path)
    reader = terms._view
    rows = terms._view.conn.execute("SELECT pos, text FROM sentences ORDER BY pos").fetchall()
    for words in [("city",), ("council", "zoo"), ("city", "council", "penguin", "zoo")]:
        expected = {}
        for pos, text in rows:
            tokens = set(re.findall(r"\w+", text.lower()))
            weight = sum(terms.weight(w) for w in words if w in tokens)
            if weight:
                expected[pos] = weight
        best = sorted(expected, key=lambda p: (-expected[p], p))[:10]
        assert lexical.matching(reader, terms, words, "sentences", 10) == best  # type: ignore[arg-type]


def test_postings_treat_query_syntax_as_text(tmp_path: Path) -> None:
    terms = _terms(tmp_path)
    assert len(store_read.postings(terms._view.conn, "sentences", '"penguin"')) == 1
    assert len(store_read.postings(terms._view.conn, "sentences", "")) == 0
    assert len(store_read.postings(terms._view.conn, "passages", '"nothing"')) == 0


# -- the candidate search over a real index ----------------------------------------------------

PENGUINS = "The penguins of the city zoo were fed at dawn by the keepers."
DOCS = [
    Document(id="zoo.txt", text=PENGUINS),
    Document(
        id="bergen.txt",
        text="Officials said the harbour in Bergen would reopen next spring. Ferries will return.",
    ),
    Document(
        id="harbour.txt",
        text="Officials said the harbour would reopen next spring. Ferries will return.",
    ),
    Document(
        id="mine.txt",
        text=(
            "Rescuers searched the collapsed mine all night long. "
            "By morning 14 miners had been brought out alive.\n\n"
            "Families waited at the gate of the mine in the rain."
        ),
    ),
]
QUESTIONS = [
    PENGUINS,
    "What did officials in Bergen say about the harbour?",
    "How many miners were brought out alive?",
    "Why did families wait at the gate?",
    "What is it?",
]


@pytest.fixture
def reader(index_of: Callable[[Sequence[Document]], LoadedIndex]) -> Iterator[Reader]:
    with index_of(DOCS).reader() as reader:
        yield reader


def _ranked(
    reader: Reader, encoder: Encoder, question: str, retriever: Retriever = "hybrid"
) -> dict[int, float]:
    vector = encoder.encode_one(question)
    return {
        c.position: c.score
        for c in candidates.search(reader, prepare(question), vector, retriever).candidates
    }


@pytest.mark.parametrize("retriever", ["hybrid", "hand", "dense", "lexical", "rrf"])
@pytest.mark.parametrize("question", QUESTIONS)
def test_candidates_are_live_unique_and_best_first(
    reader: Reader, question: str, retriever: Retriever, encoder: Encoder
) -> None:
    vector = encoder.encode_one(question)
    found = candidates.search(reader, prepare(question), vector, retriever).candidates
    positions = [c.position for c in found]
    assert len(set(positions)) == len(positions)
    assert all(reader.sentence(p) is not None for p in positions)
    scores = [c.score for c in found]
    assert scores == sorted(scores, reverse=True)
    if retriever in ("hybrid", "hand"):
        assert found and all(0.0 <= s <= 1.0 for s in scores)


def test_a_sentence_asked_word_for_word_scores_about_one(reader: Reader, encoder: Encoder) -> None:
    """The hand score is absolute: every signal is at its best for the sentence itself."""
    scores = _ranked(reader, encoder, PENGUINS, "hand")
    best = max(scores, key=scores.__getitem__)
    row = reader.sentence(best)
    assert row is not None and row.text == PENGUINS
    assert scores[best] == pytest.approx(1.0, abs=0.02)
    learned = _ranked(reader, encoder, PENGUINS)
    assert max(learned, key=learned.__getitem__) == best


@pytest.mark.parametrize("question", QUESTIONS)
def test_the_hybrid_score_is_the_rankers_probability_of_the_gathered_features(
    reader: Reader, encoder: Encoder, question: str
) -> None:
    """Differential: the ranking is the shipped model applied to ``gather``'s rows."""
    from retrieval.search.ranker import default_ranker

    vector = encoder.encode_one(question)
    found = features.gather(reader, prepare(question), vector)
    expected = dict(zip(found.positions, default_ranker().probability(found.features), strict=True))
    assert _ranked(reader, encoder, question) == pytest.approx(expected)
    assert found.features.shape == (len(found.positions), len(features.FEATURES))
    assert np.isfinite(found.features).all()


def test_a_passage_without_the_names_asked_about_keeps_the_focus_floor(
    reader: Reader, monkeypatch: pytest.MonkeyPatch, encoder: Encoder
) -> None:
    question = "What did officials in Bergen say about the harbour?"
    assert prepare(question).focus == ("bergen",)
    scored, floor = _ranked(reader, encoder, question, "hand"), features.FOCUS_FLOOR
    monkeypatch.setattr(features, "FOCUS_FLOOR", 1.0)
    unfocused = _ranked(reader, encoder, question, "hand")
    assert scored.keys() == unfocused.keys()
    for pos, score in scored.items():
        row = reader.sentence(pos)
        assert row is not None
        named = reader.document(row.doc).source.id == "bergen.txt"
        share = 1.0 if named else floor
        assert score == pytest.approx(unfocused[pos] * share), row.text


def test_a_sentence_without_the_kind_of_answer_asked_for_is_lowered(
    reader: Reader, monkeypatch: pytest.MonkeyPatch, encoder: Encoder
) -> None:
    question = "How many miners were brought out alive?"
    kind = expected_type(question)
    assert kind is AnswerType.NUMBER and not prepare(question).focus
    scored, missing = _ranked(reader, encoder, question, "hand"), features.TYPE_MISSING
    monkeypatch.setattr(features, "TYPE_MISSING", 1.0)
    plain = _ranked(reader, encoder, question, "hand")
    lowered = 0
    for pos, score in scored.items():
        row = reader.sentence(pos)
        assert row is not None
        if holds(row.text, kind, question_words(question)):
            assert score == pytest.approx(plain[pos])
        else:
            assert score == pytest.approx(plain[pos] * missing)
            lowered += 1
    assert 0 < lowered < len(scored)


def test_rrf_sums_reciprocal_ranks(reader: Reader, encoder: Encoder) -> None:
    """Differential: the fused scores from the two rankings the reader gives."""
    question = "How many miners were brought out alive?"
    prepared = prepare(question)
    vector = encoder.encode_one(question)
    expected: dict[int, float] = {}
    for ranking in (
        reader.dense("sentences", vector, candidates.DENSE_SENTENCES),
        reader.lexical("sentences", prepared.terms, candidates.LEXICAL_SENTENCES),
    ):
        for rank, (pos, _score) in enumerate(ranking):
            expected[pos] = expected.get(pos, 0.0) + 1.0 / (candidates.RRF_K + rank + 1)
    assert _ranked(reader, encoder, question, "rrf") == pytest.approx(expected)
