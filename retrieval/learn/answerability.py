"""The second stage: from a question's scored candidates, whether the articles say the answer.

Its rows are built from held-out sentence probabilities (each question's candidates scored by
a sentence model that never saw its article), so the model learns from the scores it will be
given on articles it has never seen. The label is whether the question is answerable.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from retrieval.learn.dataset import TrainingSet
from retrieval.search.answerable import ANSWERABLE_FEATURES, answerable_row

PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.03,
    "num_leaves": 15,
    "max_depth": 5,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "use_missing": False,
    "deterministic": True,
    "force_row_wise": True,
    "verbosity": -1,
}
ROUNDS = 300


def question_rows(data: TrainingSet, probability: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One row of ``ANSWERABLE_FEATURES`` per question with candidates, and those questions."""
    starts, ends = data.spans()
    rows = np.zeros((len(starts), len(ANSWERABLE_FEATURES)))
    for i, (start, end) in enumerate(zip(starts, ends, strict=True)):
        rows[i] = answerable_row(data.features[start:end], probability[start:end])
    return rows, data.question[starts]


def fit(rows: np.ndarray, labels: np.ndarray, seed: int) -> Any:
    import lightgbm

    params = {**PARAMS, "seed": seed, "num_threads": 0}
    return lightgbm.train(params, lightgbm.Dataset(rows, labels), num_boost_round=ROUNDS)


def held_out(
    rows: np.ndarray, labels: np.ndarray, fold: np.ndarray, folds: int, seed: int
) -> tuple[np.ndarray, list[Any]]:
    """Raw answerability of each question from the model of its fold, and the fold models."""
    raw = np.zeros(len(rows))
    models = []
    for k in range(folds):
        train = fold != k
        started = time.perf_counter()
        model = fit(rows[train], labels[train], seed)
        raw[~train] = model.predict(rows[~train], raw_score=True)
        models.append(model)
        print(f"answerability fold {k + 1}/{folds}: {time.perf_counter() - started:.0f} s")
    return raw, models
