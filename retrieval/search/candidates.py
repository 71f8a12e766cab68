"""Ranking candidate sentences: the learned hybrid, the hand-set formula and the baselines.

``hybrid`` (the default) gathers the candidates and their evidence (``retrieval.search.features``)
and lets the shipped model (``retrieval.search.ranker``) turn each into the probability that the
sentence holds the answer: that probability orders them. A second model turns the question's
best candidates into the probability that the articles say the answer at all: the answer's
relevance, which a decline is decided by.

``hand`` is the earlier hand-set formula over the same evidence (four weights and two
penalties); ``dense``, ``lexical`` and ``rrf`` are single-retriever baselines. They exist so
the harness can measure the hybrid against them in one run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from retrieval.config import Retriever
from retrieval.index.view import IndexView
from retrieval.search.features import DENSE_SENTENCES, LEXICAL_SENTENCES, Lexical, gather
from retrieval.search.query import Prepared
from retrieval.search.ranker import Ranker, default_ranker

RRF_K = 60


class Scored(NamedTuple):
    """A candidate sentence position with its score (higher is better); a tuple, as hundreds
    are made per question."""

    position: int
    score: float


@dataclass(frozen=True)
class Ranked:
    """Candidates best first, and how likely the articles say the answer (the hybrid's own
    answerability model; None for the others, whose best score stands for it)."""

    candidates: list[Scored]
    relevance: float | None = None
    #: Scores that decide whether a neighbouring sentence joins a quote (``quote_span``): the
    #: hand-set ones for the hybrid too, whose sentence probabilities are further apart than
    #: neighbours' relevance is; None: the candidates' own scores.
    merge_scores: dict[int, float] | None = None


def search(
    reader: IndexView,
    prepared: Prepared,
    query_vector: np.ndarray,
    retriever: Retriever,
    *,
    context_vector: np.ndarray | None = None,
    ranker: Ranker | None = None,
    lexical: Lexical | None = None,
) -> Ranked:
    """Candidate sentences for a question, best first.

    ``context_vector`` encodes a follow-up together with the question it leans on
    (``prepared.context_text``): it places the answer, ``query_vector`` picks the sentence.
    The baselines, which have one vector, use it instead of ``query_vector``. ``ranker``
    replaces the shipped model (the harness scores each article with a model that never saw
    it). ``lexical``: the question's ``lexical_side``, found meanwhile (hybrid and hand).
    """
    if retriever in ("hybrid", "hand"):
        found = gather(reader, prepared, query_vector, context_vector, lexical)
        if not len(found):
            return Ranked([])
        relevance = None
        if retriever == "hand":
            score = found.column("hand")
        else:
            model = ranker or default_ranker()
            score = model.probability(found.features)
            relevance = model.relevance(found.features, score)
        order = np.argsort(-score, kind="stable").tolist()
        hand = found.column("hand")
        positions, scores = found.positions, score.tolist()
        return Ranked(
            [Scored(positions[i], scores[i]) for i in order],
            relevance,
            dict(zip(found.positions, hand.tolist(), strict=True)),
        )
    vector = query_vector if context_vector is None else context_vector
    asked = prepared.terms + prepared.carried
    if retriever == "dense":
        hits = reader.dense("sentences", vector, DENSE_SENTENCES)
        return Ranked([Scored(p, s) for p, s in hits])
    if retriever == "lexical":
        found_lexical = reader.lexical("sentences", asked, LEXICAL_SENTENCES)
        return Ranked([Scored(p, s) for p, s in found_lexical])
    return Ranked(_rrf(reader, asked, vector))


def _rrf(reader: IndexView, asked: tuple[str, ...], query_vector: np.ndarray) -> list[Scored]:
    """Reciprocal-rank fusion of the dense and lexical sentence rankings (a simple baseline)."""
    fused: dict[int, float] = {}
    rankings = (
        reader.dense("sentences", query_vector, DENSE_SENTENCES),
        reader.lexical("sentences", asked, LEXICAL_SENTENCES),
    )
    for ranking in rankings:
        for rank, (pos, _score) in enumerate(ranking):
            fused[pos] = fused.get(pos, 0.0) + 1.0 / (RRF_K + rank + 1)
    return sorted((Scored(p, s) for p, s in fused.items()), key=lambda c: -c.score)
