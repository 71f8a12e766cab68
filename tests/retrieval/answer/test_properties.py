"""Property tests of the answering invariants over the real seeds index (hypothesis).

Whatever the question (words of the articles, stray unicode, markup, nothing at all): no
exception; every quote and agreeing extract is copied verbatim from its article; quotes of one
article never overlap; scores and relevance lie in 0..1, best first.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retrieval.engine import Engine
from retrieval.types import Extract

REPO = Path(__file__).resolve().parents[3]
SEED_TEXTS = {p.name: p.read_text(encoding="utf-8") for p in (REPO / "seeds").glob("*.txt")}
WORDS = sorted({w.strip(".,;:\"'()“”") for t in SEED_TEXTS.values() for w in t.split()} - {""})

questions = st.one_of(
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=12).map(" ".join),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=8).map(
        lambda ws: "Who " + " ".join(ws) + "?"
    ),
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=60).map(
        lambda t: f"<b>{t}</b> how many?"
    ),
)


def _verbatim(extract: Extract, document_text: str) -> None:
    assert extract.text == document_text[extract.start : extract.end]
    assert extract.text.strip()


@pytest.mark.parametrize("top_k", [1, 3])
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(question=questions, offset=st.integers(min_value=0, max_value=3))
def test_answers_keep_their_invariants(
    seeds_engine: Engine, question: str, offset: int, top_k: int
) -> None:
    answer = seeds_engine.answer(question, top_k=top_k, offset=offset)
    assert answer.status in {"answered", "not_found", "invalid_question"}
    assert 0.0 <= answer.relevance <= 1.0
    assert len(answer.quotes) <= top_k
    if answer.status != "answered":
        assert answer.quotes == () and answer.message
        return
    scores = [q.score for q in answer.quotes]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores == sorted(scores, reverse=True)
    spans: dict[str, list[tuple[int, int]]] = {}
    for quote in answer.quotes:
        _verbatim(quote, SEED_TEXTS[quote.source.id])
        spans.setdefault(quote.source.id, []).append((quote.start, quote.end))
        for agreeing in quote.also_in:
            _verbatim(agreeing, SEED_TEXTS[agreeing.source.id])
            assert agreeing.source.id != quote.source.id
    for ranges in spans.values():
        ranges.sort()
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in pairwise(ranges))
