"""Where a conversation stands: the sentences around the earlier answer share its place."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
import pytest

from embeddings import Encoder
from retrieval.index.loaded import LoadedIndex
from retrieval.index.reader import Reader
from retrieval.index.rows import SentenceRow
from retrieval.search.conversation import answered_positions, around, share_place
from retrieval.search.features import gather
from retrieval.search.followup import in_context
from retrieval.search.query import prepare
from retrieval.types import Document, PriorTurn, Quote, Source

EARLIER = "Which UN office highlighted concerns about retribution against residents?"
HIGHLIGHTED = (
    "The UN rights office on Friday highlighted concerns about retribution against residents "
    "of the city."
)
SPOKESMAN = "“We are seeing an alarming rise in threats,” spokesman Rupert Colville said."
# The answer to "who was its spokesman?" opens the paragraph after the one the earlier
# question matched: another passage.
DOCS = [
    Document(
        id="un.txt",
        text=(
            "Iraqi forces took the last streets of the old city on Thursday.\n\n"
            f"{HIGHLIGHTED}\n\n{SPOKESMAN} He asked the government to stop the evictions.\n\n"
            "Aid groups asked for safe routes out of the city."
        ),
    ),
    Document(
        id="coalition.txt",
        text="A coalition spokesman, Col Ryan Dillon, praised the grit of the troops.",
    ),
]


@pytest.fixture
def reader(index_of: Callable[[Sequence[Document]], LoadedIndex]) -> Iterator[Reader]:
    with index_of(DOCS).reader() as reader:
        yield reader


def _prior(ordinal: int, doc_id: str = "un.txt", last: int | None = None) -> PriorTurn:
    quote = Quote(
        text=HIGHLIGHTED,
        start=0,
        end=len(HIGHLIGHTED),
        source=Source(id=doc_id),
        first_sentence=ordinal,
        last_sentence=ordinal if last is None else last,
        score=0.5,
    )
    return PriorTurn(question=EARLIER, quotes=(quote,))


def _row(reader: Reader, text: str) -> SentenceRow:
    doc = reader.document_by_id("un.txt")
    assert doc is not None
    rows = reader.sentences(range(doc.first_sentence, doc.first_sentence + doc.sentence_count))
    return next(r for r in rows.values() if r is not None and r.text == text)


def test_the_earlier_answer_is_found_by_document_and_ordinal(reader: Reader) -> None:
    highlighted = _row(reader, HIGHLIGHTED)
    asked = in_context(prepare("Who was its spokesman?"), _prior(highlighted.ordinal))
    assert asked.answered_at == (("un.txt", highlighted.ordinal, highlighted.ordinal),)
    assert answered_positions(reader, asked) == [(highlighted.pos, highlighted.pos)]
    assert around([(highlighted.pos, highlighted.pos)]) == {
        highlighted.pos - 1,
        highlighted.pos,
        highlighted.pos + 1,
    }
    # a document gone since, or ordinals past its end (it changed), lend no place
    for gone in (_prior(0, doc_id="removed.txt"), _prior(0, last=99), _prior(-1)):
        assert answered_positions(reader, in_context(prepare("Who was its spokesman?"), gone)) == []


def test_the_sentence_after_the_answer_takes_its_place(reader: Reader, encoder: Encoder) -> None:
    highlighted, spokesman = _row(reader, HIGHLIGHTED), _row(reader, SPOKESMAN)
    assert highlighted.passage != spokesman.passage  # a passage boundary falls between
    question = prepare("Who was its spokesman?")
    alone = in_context(question, _prior(highlighted.ordinal).model_copy(update={"quotes": ()}))
    placed = in_context(question, _prior(highlighted.ordinal))

    def place(prepared: object) -> dict[int, dict[str, float]]:
        found = gather(reader, prepared, encoder.encode_one(question.text))  # type: ignore[arg-type]
        names = ("passage_coverage", "passage_dense", "passage_missing_idf")
        return {
            pos: {n: float(found.column(n)[i]) for n in names}
            for i, pos in enumerate(found.positions)
        }

    before, after = place(alone), place(placed)
    answer, anchor = after[spokesman.pos], after[highlighted.pos]
    assert before[spokesman.pos]["passage_coverage"] < before[highlighted.pos]["passage_coverage"]
    assert answer["passage_coverage"] == pytest.approx(anchor["passage_coverage"])
    assert answer["passage_dense"] >= anchor["passage_dense"]
    assert answer["passage_missing_idf"] <= anchor["passage_missing_idf"]
    # the other document's spokesman keeps its own place
    other = next(p for p in after if p not in (spokesman.pos, highlighted.pos) and p > 4)
    assert after[other] == before[other]


def test_only_neighbours_in_the_same_document_share_the_place() -> None:
    def row(pos: int, doc: int) -> SentenceRow:
        return SentenceRow(pos, doc, pos, pos, 0, 1, "text", "text")

    rows = [row(3, 0), row(4, 0), row(5, 0), row(6, 1), row(9, 0)]
    high, low = np.array([0.1, 0.9, 0.2, 0.1, 0.1]), np.array([5.0, 1.0, 7.0, 9.0, 9.0])
    share_place(rows, [(4, 4)], (high,), (low,))
    assert high.tolist() == [0.9, 0.9, 0.9, 0.1, 0.1]
    assert low.tolist() == [1.0, 1.0, 1.0, 9.0, 9.0]
    # a better neighbour keeps its own value
    high, low = np.array([0.95, 0.9, 0.2, 0.1, 0.1]), np.array([0.5, 1.0, 7.0, 9.0, 9.0])
    share_place(rows, [(4, 4)], (high,), (low,))
    assert high[0] == 0.95 and low[0] == 0.5
