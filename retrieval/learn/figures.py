"""Held-out figures of a trained ranker: hits, separation, decline rates, reliability.

Every function here takes scores that models gave questions they never saw (the folds of
``retrieval.learn.train``), so what it reports is what an unseen corpus of the same kind
would get.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from retrieval.evaluation.separation import auroc
from retrieval.learn.dataset import TrainingSet

#: Bins of the reliability diagram, and the fewest points a bin is drawn with.
RELIABILITY_BINS = 10
RELIABILITY_MIN_COUNT = 20


def best_per_question(data: TrainingSet, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per question: the best candidate's score and whether it holds the answer.

    A question without candidates gets ``-inf`` and no hit.
    """
    count = len(data.questions)
    best = np.full(count, -np.inf)
    hit = np.zeros(count, dtype=bool)
    order = np.lexsort((-score, data.question))
    first = np.ones(len(order), dtype=bool)
    first[1:] = data.question[order][1:] != data.question[order][:-1]
    top = order[first]
    best[data.question[top]] = score[top]
    hit[data.question[top]] = data.labels[top] == 1
    return best, hit


def decline_threshold(answerable_relevance: np.ndarray, share: float) -> float:
    """The highest threshold declining at most ``share`` of these answerable questions."""
    values = np.sort(answerable_relevance[np.isfinite(answerable_relevance)])
    allowed = int(np.floor(share * len(values)))
    return float(values[allowed]) if len(values) else 0.0


def figures(
    data: TrainingSet, relevance_by_question: np.ndarray, hits: np.ndarray, threshold: float
) -> dict[str, float | None]:
    """Question-level figures of held-out scores: top-sentence hit, AUROC, decline rates."""
    answerable = np.array([q.answerable for q in data.questions])
    asked = np.isfinite(relevance_by_question)
    pos = relevance_by_question[answerable & asked]
    neg = relevance_by_question[~answerable & asked]

    return {
        "questions": len(data.questions),
        "sentence_hit_at_1": float(hits[answerable].mean()) if answerable.any() else None,
        "auroc": auroc(pos.tolist(), neg.tolist()),
        "answerable_declined": float((pos < threshold).mean()) if len(pos) else None,
        "unanswerable_declined": float((neg < threshold).mean()) if len(neg) else None,
    }


#: Shares of answerable questions declined that the trade-off table shows thresholds for.
TRADE_OFF_SHARES = (0.0025, 0.005, 0.01, 0.02, 0.05, 0.1)


def trade_off(
    relevance: np.ndarray, answerable: np.ndarray, off_relevance: np.ndarray
) -> list[dict[str, float]]:
    """For each share in ``TRADE_OFF_SHARES``: its threshold and what it declines."""
    found = np.isfinite(relevance)
    table = []
    for share in TRADE_OFF_SHARES:
        threshold = decline_threshold(relevance[answerable & found], share)
        table.append(
            {
                "min_relevance": threshold,
                "answerable_declined": float((relevance[answerable & found] < threshold).mean()),
                "unanswerable_declined": float((relevance[~answerable & found] < threshold).mean()),
                "off_topic_declined": float((off_relevance < threshold).mean())
                if len(off_relevance)
                else float("nan"),
            }
        )
    return table


def nested_thresholds(
    data: TrainingSet, relevance: np.ndarray, fold_of: dict[str, int], folds: int, share: float
) -> dict[str, float]:
    """Decline rates when each fold's threshold is chosen on the other folds only."""
    answerable = np.array([q.answerable for q in data.questions])
    fold = np.array([fold_of[g] for g in data.groups()])
    wrongly = rightly = counted_a = counted_u = 0
    for k in range(folds):
        others = (fold != k) & answerable & np.isfinite(relevance)
        threshold = decline_threshold(relevance[others], share)
        here = (fold == k) & np.isfinite(relevance)
        wrongly += int((relevance[here & answerable] < threshold).sum())
        rightly += int((relevance[here & ~answerable] < threshold).sum())
        counted_a += int((here & answerable).sum())
        counted_u += int((here & ~answerable).sum())
    return {
        "answerable_declined": wrongly / max(1, counted_a),
        "unanswerable_declined": rightly / max(1, counted_u),
    }


def reliability(path: Path, curves: list[tuple[str, np.ndarray, np.ndarray]]) -> None:
    """Draw predicted probability against observed frequency for each (name, p, outcome)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 5.5))
    edges = np.linspace(0, 1, RELIABILITY_BINS + 1)
    for name, p, y in curves:
        which = np.clip(np.digitize(p, edges) - 1, 0, RELIABILITY_BINS - 1)
        xs, ys = [], []
        for b in range(RELIABILITY_BINS):
            inside = which == b
            if inside.sum() >= RELIABILITY_MIN_COUNT:
                xs.append(float(p[inside].mean()))
                ys.append(float(y[inside].mean()))
        axis.plot(xs, ys, marker="o", label=name)
    axis.plot([0, 1], [0, 1], linestyle=":", color="grey", label="perfect calibration")
    axis.set_xlabel("predicted probability")
    axis.set_ylabel("observed frequency")
    axis.set_title("Ranker reliability, held-out folds (SQuAD 2.0 dev)")
    axis.legend(loc="upper left", fontsize="small")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
