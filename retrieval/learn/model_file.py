"""The model file: both forests, their calibration, threshold, encoder and figures, as JSON.

``retrieval.search.ranker.load_ranker`` reads what :func:`model_file` makes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def forest_json(booster: Any, slope: float, intercept: float) -> dict[str, Any]:
    """One model's part of a model file: its trees and their calibration."""
    from retrieval.learn.trees import flatten

    return {
        "trees": flatten(booster.dump_model()),
        "calibration": {"slope": slope, "intercept": intercept},
    }


def model_file(
    sentences: dict[str, Any],
    answerable: dict[str, Any] | None,
    threshold: float,
    training: dict[str, Any],
    encoder: dict[str, Any] | None = None,
    unsure_below: float | None = None,
) -> dict[str, Any]:
    """The JSON a :class:`retrieval.search.ranker.Ranker` is loaded from (``unsure_below``:
    the relevance under which an answer is marked unsure; none when left out)."""
    from retrieval.search.answerable import ANSWERABLE_FEATURES
    from retrieval.search.features import FEATURES
    from retrieval.search.ranker import MODEL_FORMAT

    data: dict[str, Any] = {"format": MODEL_FORMAT, "features": list(FEATURES), **sentences}
    if answerable is not None:
        data["answerable"] = {"features": list(ANSWERABLE_FEATURES), **answerable}
    data["min_relevance"] = threshold
    if unsure_below is not None:
        data["unsure_below"] = unsure_below
    data["encoder"] = encoder or {}
    data["training"] = training
    return data


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` compactly and atomically (a model read while it is written stays whole)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
    partial.replace(path)
