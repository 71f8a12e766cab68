"""Quote selection: spans that read on their own, cut verbatim, never overlapping, agreement folded.

A real index of a few short articles (real model, real store); the candidates are written by
hand, so each rule of :func:`choose` and :func:`quote_span` is seen on its own.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence

import pytest

from retrieval.answer.answering import answer_type_check
from retrieval.answer.quotes import MAX_QUOTE_SENTENCES, RELATIVE_FLOOR, choose, quote_span
from retrieval.index.loaded import LoadedIndex
from retrieval.index.reader import Reader
from retrieval.search.candidates import Scored
from retrieval.types import Document, Extract

SAID = "He said the damage was the worst in forty years of records."
BRIDGE = "The bridge over the river was reopened to traffic on Monday after long repairs."
FESTIVAL = "The festival drew large crowds to the park on Saturday afternoon."
DOCS = [
    Document(
        id="flood.txt",
        text=(
            "The minister visited the flooded valley on Tuesday with aid workers and engineers. "
            f"{SAID}\n\n"
            "It rained again on Thursday across the whole valley and the hills above it. "
            "Roads were closed.\n\n"
            "Rain fell. The river rose above its banks again on Wednesday night, cutting the road."
            "\n\n"
            "Engineers inspected the old stone bridge over the river near the village. "
            "Its arches had cracked in two places during the night. "
            "Traffic was sent along the northern road instead for now."
        ),
    ),
    Document(
        id="mine.txt",
        text=(
            "Rescuers searched the collapsed mine all night long without any rest. "
            "By morning 14 miners had been brought out alive.\n\n"
            "By noon 9 more workers had been found in a side tunnel of the mine. "
            "Rescuers searched the flooded lower levels until the evening came."
        ),
    ),
    Document(id="bridge-a.txt", text=f"{BRIDGE} Crowds cheered at the opening."),
    Document(
        id="bridge-b.txt",
        text=(
            "Markets in the old town were busy all weekend long with visitors. Prices stayed high."
            f"\n\n{BRIDGE} Officials attended the opening."
        ),
    ),
    Document(
        id="festival.txt",
        text=(
            f"{FESTIVAL} Music played until late.\n\n"
            "Tickets sold out within an hour of going on sale online.\n\n"
            f"{FESTIVAL} Food stalls ran out of bread."
        ),
    ),
]
TEXTS = {d.id: d.text for d in DOCS}


@pytest.fixture
def reader(index_of: Callable[[Sequence[Document]], LoadedIndex]) -> Iterator[Reader]:
    with index_of(DOCS).reader() as reader:
        yield reader


def at(reader: Reader, doc_id: str, text: str, nth: int = 0) -> int:
    """The position of the ``nth`` sentence of ``doc_id`` reading ``text``."""
    found = reader.conn.execute(
        "SELECT s.pos FROM sentences s JOIN documents d ON d.idx = s.doc "
        "WHERE d.id = ? AND s.text = ? ORDER BY s.pos",
        (doc_id, text),
    ).fetchall()
    return int(found[nth][0])


def live_positions(reader: Reader) -> list[int]:
    return [int(r[0]) for r in reader.conn.execute("SELECT pos FROM sentences ORDER BY pos")]


def assert_verbatim(extract: Extract) -> None:
    assert extract.text and TEXTS[extract.source.id][extract.start : extract.end] == extract.text


# -- quote_span -------------------------------------------------------------------------------


def test_a_sentence_leaning_on_the_one_before_takes_it_along(reader: Reader) -> None:
    pos = at(reader, "flood.txt", SAID)
    assert quote_span(reader, pos) == (pos - 1, pos)


def test_nothing_is_taken_from_another_passage(reader: Reader) -> None:
    # "It rained..." leans back, but opens its paragraph (its own passage)
    pos = at(
        reader,
        "flood.txt",
        "It rained again on Thursday across the whole valley and the hills above it.",
    )
    assert reader.sentence(pos - 1) is not None  # there is a sentence before it, elsewhere
    assert quote_span(reader, pos) == (pos, pos)


def test_a_short_sentence_takes_the_next_along(reader: Reader) -> None:
    pos = at(reader, "flood.txt", "Rain fell.")
    assert quote_span(reader, pos) == (pos, pos + 1)


@pytest.mark.parametrize(
    ("sentence", "step"),
    [
        ("Rescuers searched the collapsed mine all night long without any rest.", +1),
        ("Rescuers searched the flooded lower levels until the evening came.", -1),
    ],
)
def test_a_sentence_lacking_the_kind_of_answer_takes_a_neighbour_that_has_it(
    reader: Reader, sentence: str, step: int
) -> None:
    """ "How many": the next sentence with a count is taken, or else the previous one."""
    pos = at(reader, "mine.txt", sentence)
    wants = answer_type_check("How many miners were rescued?")
    assert wants is not None
    assert quote_span(reader, pos) == (pos, pos)
    assert quote_span(reader, pos, wants=wants) == tuple(sorted((pos, pos + step)))


@pytest.mark.parametrize(("neighbour", "joins"), [(0.95, True), (0.85, False)])
def test_a_nearly_as_relevant_neighbour_joins(
    reader: Reader, neighbour: float, joins: bool
) -> None:
    pos = at(
        reader,
        "flood.txt",
        "Engineers inspected the old stone bridge over the river near the village.",
    )
    scores = {pos: 1.0, pos + 1: neighbour}
    assert quote_span(reader, pos, scores) == (pos, pos + 1 if joins else pos)


def test_every_span_is_a_short_run_of_one_passage(reader: Reader) -> None:
    positions = live_positions(reader)
    wants = answer_type_check("How many miners were rescued?")
    everything = dict.fromkeys(positions, 1.0)
    for pos in positions:
        for scores, check in [(None, None), (everything, wants)]:
            first, last = quote_span(reader, pos, scores, check)
            assert first <= pos <= last and last - first + 1 <= MAX_QUOTE_SENTENCES
            assert all(reader.same_passage(pos, p) for p in range(first, last + 1))


# -- choose -----------------------------------------------------------------------------------


def test_quotes_are_verbatim_and_never_overlap(reader: Reader) -> None:
    positions = live_positions(reader)
    ranked = [Scored(p, 1.0 - i / 1000) for i, p in enumerate(reversed(positions))]
    quotes = choose(reader, ranked, len(positions), relative=False)
    assert quotes
    spans: dict[str, list[tuple[int, int]]] = {}
    for quote in quotes:
        assert_verbatim(quote)
        for other in quote.also_in:
            assert_verbatim(other)
        spans.setdefault(quote.source.id, []).append((quote.start, quote.end))
    for found in spans.values():
        found.sort()
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(found))


def test_the_same_sentence_in_another_article_is_folded_into_the_quote(reader: Reader) -> None:
    a, b = at(reader, "bridge-a.txt", BRIDGE), at(reader, "bridge-b.txt", BRIDGE)
    quotes = choose(reader, [Scored(a, 0.9), Scored(b, 0.89)], 5, relative=True)
    assert [q.source.id for q in quotes] == ["bridge-a.txt"]
    assert [e.source.id for e in quotes[0].also_in] == ["bridge-b.txt"]
    assert BRIDGE in quotes[0].text and BRIDGE in quotes[0].also_in[0].text
    assert_verbatim(quotes[0].also_in[0])


def test_agreement_is_folded_even_past_the_limit(reader: Reader) -> None:
    a, b = at(reader, "bridge-a.txt", BRIDGE), at(reader, "bridge-b.txt", BRIDGE)
    quotes = choose(reader, [Scored(a, 0.9), Scored(b, 0.89)], 1, relative=False)
    assert len(quotes) == 1 and len(quotes[0].also_in) == 1


def test_a_repeat_in_the_same_article_is_dropped(reader: Reader) -> None:
    first, again = (at(reader, "festival.txt", FESTIVAL, nth) for nth in (0, 1))
    quotes = choose(reader, [Scored(first, 0.9), Scored(again, 0.89)], 5, relative=False)
    assert len(quotes) == 1 and quotes[0].also_in == ()
    assert quotes[0].start == TEXTS["festival.txt"].index(FESTIVAL)


def test_a_sentence_inside_a_chosen_quote_is_not_quoted_again(reader: Reader) -> None:
    said = at(reader, "flood.txt", SAID)
    quotes = choose(reader, [Scored(said, 0.9), Scored(said - 1, 0.88)], 5, relative=False)
    assert len(quotes) == 1 and (quotes[0].first_sentence, quotes[0].last_sentence) == (0, 1)


@pytest.mark.parametrize(("relative", "kept"), [(True, 1), (False, 2)])
def test_relative_floor(reader: Reader, relative: bool, kept: int) -> None:
    mine = at(reader, "mine.txt", "By morning 14 miners had been brought out alive.")
    festival = at(
        reader, "festival.txt", "Tickets sold out within an hour of going on sale online."
    )
    ranked = [Scored(mine, 0.8), Scored(festival, 0.8 * RELATIVE_FLOOR - 0.01)]
    assert len(choose(reader, ranked, 5, relative=relative)) == kept


def test_unknown_positions_are_skipped_and_scores_kept(reader: Reader) -> None:
    tickets = at(reader, "festival.txt", "Tickets sold out within an hour of going on sale online.")
    ranked = [Scored(10**6, 0.9), Scored(tickets, 0.123456789)]
    quotes = choose(reader, ranked, 5, relative=False)
    assert [(q.source.id, q.score) for q in quotes] == [("festival.txt", 0.123457)]
    assert choose(reader, [], 5, relative=True) == []
