"""Whether the articles say the answer: the evidence of a question's best candidates as one row.

The ranker scores sentences one by one; whether a question is answered at all is a property of
the question and its candidates together. "The articles say it" shows as a best candidate
that stands out (its probability, its margin over the next, how few come close) and holds
what was asked (the question's rarest words, its names, the kind of answer); "the articles
talk about it" as many similar candidates, none of them holding the rarest word asked.
``ANSWERABLE_FEATURES`` names the columns; the second model of ``retrieval.search.ranker``
turns the row into the answer's relevance.
"""

from __future__ import annotations

import numpy as np

from retrieval.search.features import FEATURES

#: Candidates within this share of the best probability count as close to it.
CLOSE_SHARE = 0.5
#: How many of the best probabilities are summed.
TOP_SUMMED = 5

ANSWERABLE_FEATURES: tuple[str, ...] = (
    "best_probability",
    "second_probability",
    "probability_margin",
    "top_probability_sum",
    "close_candidates",
    *(f"best_{name}" for name in FEATURES),
    *(f"second_{name}" for name in FEATURES),
)


def answerable_row(features: np.ndarray, probability: np.ndarray) -> np.ndarray:
    """The question's row of ``ANSWERABLE_FEATURES`` from its candidates' features and scores.

    ``features`` and ``probability`` describe the same candidates (at least one).
    """
    order = np.argsort(-probability, kind="stable")
    best = order[0]
    second = order[1] if len(order) > 1 else order[0]
    p1 = float(probability[best])
    p2 = float(probability[second]) if len(order) > 1 else 0.0
    return np.concatenate(
        [
            [
                p1,
                p2,
                p1 - p2,
                float(probability[order[:TOP_SUMMED]].sum()),
                float((probability >= CLOSE_SHARE * p1).sum()),
            ],
            features[best],
            features[second],
        ]
    )
