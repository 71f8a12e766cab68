"""Which decline threshold a retriever's answers get when none is configured.

Scores mean different things per retriever, so one number cannot serve them all:

- ``hybrid``: a calibrated probability; the threshold is the model's own, chosen on held-out
  folds for a stated share of answerable questions declined (``retrieval.learn.train``).
- ``hand``: the hand-set formula's absolute 0..1 score; 0.32, as it always had.
- ``dense``, ``lexical``, ``rrf``: none. A cosine, a sum of IDFs and a reciprocal rank have no
  scale that a fixed number could cut (an RRF score never exceeds 2/61), so these baselines
  never decline, and the harness says so.
"""

from __future__ import annotations

from retrieval.config import HAND_MIN_RELEVANCE, Retriever
from retrieval.search.ranker import Ranker, default_ranker

#: What a retriever without a threshold is compared with: nothing is below it.
NEVER_DECLINE = float("-inf")


def own_threshold(retriever: Retriever, ranker: Ranker | None = None) -> float | None:
    """The retriever's own decline threshold, or None when its scores have no fixed scale."""
    if retriever == "hybrid":
        return (ranker or default_ranker()).min_relevance
    if retriever == "hand":
        return HAND_MIN_RELEVANCE
    return None


def threshold_for(
    retriever: Retriever, configured: float | None, ranker: Ranker | None = None
) -> float:
    """``configured`` when set, else the retriever's own threshold (or none: never decline)."""
    if configured is not None:
        return configured
    own = own_threshold(retriever, ranker)
    return NEVER_DECLINE if own is None else own
