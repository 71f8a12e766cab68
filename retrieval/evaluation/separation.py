"""How well a score separates two groups: the AUROC, as a rank statistic (Mann-Whitney U).

Used for the answer's relevance between answerable and unanswerable questions: the chance that
a random answerable question gets a higher relevance than a random unanswerable one (ties count
half). 0.5 is no separation, 1.0 a threshold that splits them perfectly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def auroc(positives: Sequence[float], negatives: Sequence[float]) -> float | None:
    """The area under the ROC curve of scores where ``positives`` should score higher.

    Computed from the rank sum of the positives with tied scores given their average rank, which
    equals the pairwise count (and ``sklearn.metrics.roc_auc_score``) without its n x m pairs.
    ``None`` when either group is empty; a ValueError for a NaN score, which has no rank.
    """
    if not positives or not negatives:
        return None
    scores = np.concatenate(
        [np.asarray(positives, dtype=float), np.asarray(negatives, dtype=float)]
    )
    if np.isnan(scores).any():
        raise ValueError("AUROC of scores holding NaN: every score must be a number.")
    n_pos, n_neg = len(positives), len(negatives)
    order = np.argsort(scores, kind="stable")
    ranked = scores[order]
    starts_group = np.concatenate([[True], ranked[1:] != ranked[:-1]])
    group_of = np.cumsum(starts_group) - 1
    starts = np.flatnonzero(starts_group)
    ends = np.append(starts[1:], len(ranked))
    # positions start..end-1 hold ranks start+1..end, whose mean is (start + 1 + end) / 2
    average_rank = (starts + 1 + ends) / 2.0
    ranks = np.empty(len(scores))
    ranks[order] = average_rank[group_of]
    u = ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))
