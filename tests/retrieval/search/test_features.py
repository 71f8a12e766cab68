"""The evidence gathered for each candidate: its columns mean what their names say."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
import pytest

from embeddings import Encoder
from retrieval.index.loaded import LoadedIndex
from retrieval.index.reader import Reader
from retrieval.search.answerable import ANSWERABLE_FEATURES, answerable_row
from retrieval.search.features import FEATURES, gather
from retrieval.search.query import prepare
from retrieval.types import Document

FERRY = "The night ferry to Bergen left the harbour at nine."
DOCS = [
    Document(
        id="ferry.txt",
        text=(
            "Storms closed the coast road on Monday. "
            f"{FERRY} "
            "It did not stop at Stavanger. "
            "Passengers were told the crossing would take eleven hours."
        ),
    ),
    Document(id="zoo.txt", text="The penguins of the city zoo were fed at dawn by the keepers."),
]


@pytest.fixture
def reader(index_of: Callable[[Sequence[Document]], LoadedIndex]) -> Iterator[Reader]:
    with index_of(DOCS).reader() as reader:
        yield reader


def _gather(reader: Reader, encoder: Encoder, question: str):  # type: ignore[no-untyped-def]
    prepared = prepare(question, reader.language)
    found = gather(reader, prepared, encoder.encode_one(prepared.text))
    rows = {r.text: i for i, r in enumerate(found.rows)}
    return found, rows


def test_a_sentence_asked_word_for_word_holds_every_pair_and_term(
    reader: Reader, encoder: Encoder
) -> None:
    found, rows = _gather(reader, encoder, FERRY)
    me = found.features[rows[FERRY]]
    column = {name: me[i] for i, name in enumerate(FEATURES)}
    assert column["bigram_coverage"] == 1.0
    assert column["sentence_coverage"] == pytest.approx(1.0)
    assert column["matched_terms"] == column["question_terms"]
    assert column["sentence_missing_idf"] == 0.0
    assert column["dense_rank"] == 0.0 and column["hand_share"] == pytest.approx(1.0)
    assert found.features.shape == (len(found.positions), len(FEATURES))
    assert np.isfinite(found.features).all()


def test_neighbours_negation_and_missing_words(reader: Reader, encoder: Encoder) -> None:
    question = "Did the night ferry never stop at Stavanger on Friday?"
    found, rows = _gather(reader, encoder, question)
    column = FEATURES.index
    ferry, stop = found.features[rows[FERRY]], found.features[rows["It did not stop at Stavanger."]]
    assert stop[column("negated")] == 1.0 and ferry[column("negated")] == 0.0
    assert stop[column("question_negated")] == 1.0
    # the sentence before "It did not stop..." is the ferry's: its coverage is the neighbour's
    assert stop[column("previous_coverage")] == pytest.approx(ferry[column("sentence_coverage")])
    assert ferry[column("next_coverage")] == pytest.approx(stop[column("sentence_coverage")])
    # "Friday" is nowhere in the corpus: every candidate lacks it, at the highest IDF
    assert (found.column("sentence_missing_idf") > 0).all()
    assert (found.column("passage_missing_idf") == found.column("passage_missing_idf").max()).all()


def test_an_answerability_row_describes_the_best_two(reader: Reader, encoder: Encoder) -> None:
    found, _rows = _gather(reader, encoder, FERRY)
    probability = np.linspace(0.1, 0.9, len(found))
    row = answerable_row(found.features, probability)
    assert row.shape == (len(ANSWERABLE_FEATURES),)
    named = dict(zip(ANSWERABLE_FEATURES, row, strict=True))
    assert named["best_probability"] == pytest.approx(0.9)
    assert named["probability_margin"] == pytest.approx(0.9 - probability[-2])
    best = found.features[-1]
    assert [named[f"best_{name}"] for name in FEATURES] == pytest.approx(list(best))


def test_words_joined_by_underscores_count_as_the_question_writes_them(
    index_of: Callable[[Sequence[Document]], LoadedIndex], encoder: Encoder
) -> None:
    setting = "The max_tokens setting cuts the reply_length."
    docs = [Document(id="config.md", text=f"{setting} Other settings keep their defaults.")]
    with index_of(docs).reader() as reader:
        for question in ("Which setting cuts the reply length?", "What cuts the reply_length?"):
            found, rows = _gather(reader, encoder, question)
            me = found.features[rows[setting]]
            column = {name: me[i] for i, name in enumerate(FEATURES)}
            assert column["sentence_coverage"] == pytest.approx(1.0), question
            assert column["matched_terms"] == column["question_terms"]
            assert column["bigram_coverage"] == 1.0
