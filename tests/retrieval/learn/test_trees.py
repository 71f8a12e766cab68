"""The shipped tree evaluator against LightGBM itself, and model files that cannot be used."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from retrieval.learn.model_file import forest_json, model_file
from retrieval.search.features import FEATURES
from retrieval.search.ranker import RankerError, load_ranker

lightgbm = pytest.importorskip("lightgbm")


def _booster(seed: int, rounds: int) -> tuple[object, np.ndarray]:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(3000, len(FEATURES)))
    # a label that needs interactions and thresholds on several columns
    signal = features[:, 0] * features[:, 3] + (features[:, 5] > 0.5) - features[:, 7] ** 2
    labels = (signal + rng.normal(scale=0.5, size=len(signal)) > 0).astype(int)
    params = {
        "objective": "binary",
        "num_leaves": 15,
        "max_depth": 5,
        "use_missing": False,
        "verbosity": -1,
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
    }
    booster = lightgbm.train(params, lightgbm.Dataset(features, labels), num_boost_round=rounds)
    return booster, rng.normal(size=(500, len(FEATURES)))


@pytest.mark.parametrize(("seed", "rounds"), [(1, 1), (2, 40), (3, 120)])
def test_numpy_trees_equal_lightgbm(tmp_path: Path, seed: int, rounds: int) -> None:
    booster, rows = _booster(seed, rounds)
    path = tmp_path / "model.json"
    path.write_text(json.dumps(model_file(forest_json(booster, 1.3, -0.2), None, 0.4, {"n": 1})))
    ranker = load_ranker(path)
    expected = booster.predict(rows, raw_score=True)
    np.testing.assert_allclose(ranker.sentences.raw(rows), expected, rtol=1e-9, atol=1e-9)
    # the calibration is the logistic curve of the stored slope and intercept
    probability = 1 / (1 + np.exp(-(1.3 * expected - 0.2)))
    np.testing.assert_allclose(ranker.sentences.probability(rows), probability, rtol=1e-9)
    # rows sitting exactly on split thresholds go left, as in LightGBM
    on_split = rows.copy()
    used = ranker.sentences.feature >= 0
    for node in np.flatnonzero(used)[:20]:
        on_split[node % len(on_split), ranker.sentences.feature[node]] = ranker.sentences.threshold[
            node
        ]
    np.testing.assert_allclose(
        ranker.sentences.raw(on_split),
        booster.predict(on_split, raw_score=True),
        rtol=1e-9,
        atol=1e-9,
    )


def test_only_the_best_candidates_by_the_hand_score_are_scored() -> None:
    from retrieval.search.features import FEATURES, SCORED_CANDIDATES
    from retrieval.search.ranker import default_ranker

    rows = np.random.default_rng(4).random((SCORED_CANDIDATES + 30, len(FEATURES)))
    found = default_ranker().probability(rows)
    best = np.argsort(-rows[:, FEATURES.index("hand")], kind="stable")[:SCORED_CANDIDATES]
    assert (found[best] > 0).all()
    assert (np.delete(found, best) == 0).all()


def test_shipped_model_loads_and_gives_probabilities() -> None:
    from retrieval.search.ranker import MODEL_PATH

    ranker = load_ranker(MODEL_PATH)
    rows = np.zeros((3, len(FEATURES)))
    found = ranker.probability(rows)
    assert found.shape == (3,) and np.all((found > 0) & (found < 1))
    assert 0 < ranker.min_relevance < 1
    assert ranker.info["held_out"]["questions"] > 10_000


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "Cannot read"),
        ("{not json", "not valid JSON"),
        (json.dumps({"format": 99}), "format 99"),
        (json.dumps({"format": 1, "features": ["a"]}), "other features"),
        (json.dumps({"format": 1, "features": list(FEATURES)}), "malformed"),
    ],
)
def test_unusable_model_files_are_refused_clearly(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "model.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(RankerError) as caught:
        load_ranker(path)
    assert message in caught.value.message and str(path) in caught.value.message
