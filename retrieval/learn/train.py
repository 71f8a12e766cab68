"""Train the ranker on a SQuAD-format question set, with folds by article.

    python -m retrieval.learn.train --squad ../shared/data/squad-v2.0-dev.json

1. The set's articles are indexed (``--index``; incremental, so a second run does no work) and
   every question's candidates are gathered with their features (``retrieval.learn.dataset``).
2. Articles are dealt into ``--folds`` folds (seeded). For each fold a model is trained on the
   other folds and scores this one: every candidate gets a score from a model that never saw
   its article.
3. Those held-out scores calibrate the models (Platt scaling: a logistic curve over the raw
   score, which keeps the order of candidates) and choose the decline threshold: the highest
   relevance that declines at most ``--declined-answerable`` of the answerable questions,
   and the relevance under which an answer is marked unsure (``--unsure-answerable``).
4. A last model is trained on every article and written with its calibration, threshold and
   figures to ``--out`` (by default the model shipped in the package). ``--folds-dir`` keeps
   the fold models and which article each one must score (``verbatim eval --ranker-folds``
   replays the harness with them), ``--plot`` draws the reliability diagram.

Everything is seeded and single-order (LightGBM's ``deterministic``), so two runs write the
same model.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from embeddings import DEFAULT_MODEL
from retrieval.learn import answerability
from retrieval.learn.dataset import TrainingSet, load_cached, save_cached
from retrieval.learn.figures import (
    best_per_question,
    decline_threshold,
    figures,
    nested_thresholds,
    reliability,
    trade_off,
)
from retrieval.learn.model_file import forest_json, model_file, write_json
from retrieval.learn.off_topic import off_topic, off_topic_questions
from retrieval.search.features import scored_rows
from retrieval.search.ranker import HAND_COLUMN

DEFAULT_FOLDS = 5
DEFAULT_SEED = 20261202
#: The share of answerable questions the default threshold may decline (held-out folds).
#: A quarter of a percent, not the 2% one might take: the model's probabilities are calibrated
#: on SQuAD, whose questions are written from the very paragraph, and questions about other
#: text score lower. At 2% (threshold 0.145) it declines 5 of the 62 answerable questions of
#: the seeds set; at 0.25% (0.035) none, while still declining all 16 off-topic ones and 85%
#: of the SQuAD questions asked of a corpus lacking their article.
DECLINED_ANSWERABLE = 0.0025
#: Answers under the relevance that would decline this share of the answerable questions are
#: marked as unsure (``Answer.uncertain``): on the held-out folds of SQuAD 2.0 dev, 85% of the
#: answers so marked were to questions the articles do not answer.
UNSURE_ANSWERABLE = 0.02
DEFAULT_INDEX = Path(".verbatim/train/squad")
PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 31,
    "max_depth": 7,
    "min_data_in_leaf": 200,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "use_missing": False,
    "deterministic": True,
    "force_row_wise": True,
    "verbosity": -1,
}
ROUNDS = 250
PARAMS["learning_rate"] = 0.06
PARAMS["max_bin"] = 63


def assign_folds(groups: Sequence[str], folds: int, seed: int) -> dict[str, int]:
    """Each article's fold: sorted, shuffled with ``seed``, dealt round-robin."""
    articles = sorted(set(groups))
    random.Random(seed).shuffle(articles)
    return {article: i % folds for i, article in enumerate(articles)}


def training_rows(data: TrainingSet) -> tuple[np.ndarray, np.ndarray]:
    """Rows the sentence model trains on and their weights.

    The candidates answering scores (``scored_mask``) of answerable questions: the sentence
    model orders the candidates of a question that has an answer (its probability is "this
    sentence holds it, if the articles say it"); whether they say it at all is the
    answerability model's to learn.
    """
    answerable = np.array([q.answerable for q in data.questions])[data.question]
    keep = np.flatnonzero(scored_mask(data) & answerable)
    return keep, np.ones(len(keep))


def fit(data: TrainingSet, rows: np.ndarray, weight: np.ndarray, seed: int) -> Any:
    """One LightGBM booster trained on ``rows`` of ``data`` with their weights."""
    import lightgbm

    params = {**PARAMS, "seed": seed, "num_threads": 0}
    train = lightgbm.Dataset(data.features[rows], data.labels[rows], weight=weight)
    return lightgbm.train(params, train, num_boost_round=ROUNDS)


def platt(raw: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Slope and intercept of the logistic curve that calibrates ``raw`` scores."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1e6, max_iter=1000).fit(raw.reshape(-1, 1), labels)
    return float(model.coef_[0, 0]), float(model.intercept_[0])


def calibrated(raw: np.ndarray, slope: float, intercept: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(slope * raw + intercept)))


def held_out(
    data: TrainingSet, fold_of: dict[str, int], folds: int, seed: int
) -> tuple[np.ndarray, list[Any]]:
    """Raw scores of every candidate from the model of its fold, and the fold models."""
    groups = data.groups()
    question_fold = np.array([fold_of[g] for g in groups])
    row_fold = question_fold[data.question]
    rows, weight = training_rows(data)
    raw = np.zeros(len(data.labels))
    models = []
    for fold in range(folds):
        train = row_fold[rows] != fold
        started = time.perf_counter()
        model = fit(data, rows[train], weight[train], seed)
        scored = row_fold == fold
        raw[scored] = model.predict(data.features[scored], raw_score=True)
        models.append(model)
        print(f"fold {fold + 1}/{folds}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return raw, models


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m retrieval.learn.train", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--squad", type=Path, required=True, help="a SQuAD-format .json file")
    parser.add_argument(
        "--index", type=Path, default=DEFAULT_INDEX, help="where its articles are indexed"
    )
    parser.add_argument("--out", type=Path, help="the model file (default: the one shipped)")
    parser.add_argument("--folds", type=int, default=DEFAULT_FOLDS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--declined-answerable", type=float, default=DECLINED_ANSWERABLE)
    parser.add_argument("--unsure-answerable", type=float, default=UNSURE_ANSWERABLE)
    parser.add_argument("--folds-dir", type=Path, help="keep the fold models here")
    parser.add_argument("--plot", type=Path, help="draw the reliability diagram (PNG) here")
    parser.add_argument(
        "--model", default=DEFAULT_MODEL, help="the sentence-transformers model to train for"
    )
    parser.add_argument(
        "--encoder",
        default="onnx-int8",
        choices=("onnx-int8", "onnx", "torch"),
        help="how the model encodes (as VERBATIM_ENCODER)",
    )
    parser.add_argument(
        "--questions",
        default="same",
        choices=("lean", "same"),
        help="how questions are encoded while gathering features (as "
        "VERBATIM_ENCODER_QUESTIONS); default: with the documents' model, the reference that "
        "the lean question model approximates",
    )
    parser.add_argument(
        "--no-off-topic",
        action="store_true",
        help="train without questions asked of a corpus lacking their article",
    )
    parser.add_argument(
        "--cache", type=Path, help="keep the gathered features here (.npz) and reuse them"
    )
    parser.add_argument(
        "--limit", type=int, help="use N questions spread over the set (a quick run)"
    )
    args = parser.parse_args(argv)

    from retrieval.config import EngineSettings, new_encoder
    from retrieval.evaluation.squad import parse_squad
    from retrieval.index.build import build_index
    from retrieval.index.manifest import read as read_manifest
    from retrieval.index.stores import open_index
    from retrieval.learn.dataset import collect
    from retrieval.search.ranker import MODEL_PATH

    questions, documents = parse_squad(args.squad.read_text(encoding="utf-8"), args.squad)
    if args.limit:
        questions = tuple(questions[i * len(questions) // args.limit] for i in range(args.limit))
    settings = EngineSettings.model_validate(
        {
            "progress": False,
            "model": args.model,
            "encoder": args.encoder,
            "encoder_questions": args.questions,
        }
    )
    encoder = new_encoder(settings)
    build_index(list(documents), args.index, settings, encoder=encoder)
    trained_for = read_manifest(args.index).model
    encoder_info = {
        "name": trained_for.name,
        "dimension": trained_for.dimension,
        "fingerprint": trained_for.fingerprint,
        "variant": trained_for.variant,
        "questions": "lean" if encoder.lean_questions else "same",
    }
    source = json.dumps(encoder_info, sort_keys=True)
    fold_of = assign_folds(
        [q.sources[0] if q.sources else q.id for q in questions], args.folds, args.seed
    )
    data = load_cached(args.cache, questions, source) if args.cache else None
    if data is None:
        index = open_index(args.index, settings, encoder=encoder)
        started = time.perf_counter()
        data = collect(index, questions, progress=False)
        index.close()
        print(
            f"{len(data.labels):,} candidates of {len(questions):,} questions in "
            f"{time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
        if args.cache:
            save_cached(args.cache, data, source)

    off = None
    if not args.no_off_topic:
        expected = off_topic_questions(questions, fold_of)
        off_cache = args.cache.with_name(args.cache.stem + "-off-topic.npz") if args.cache else None
        off = load_cached(off_cache, expected, source) if off_cache else None
        if off is None:
            off = off_topic(documents, questions, fold_of, args.index, settings, encoder)
            if off_cache:
                save_cached(off_cache, off, source)
    raw, models = held_out(data, fold_of, args.folds, args.seed)
    answerable = np.array([q.answerable for q in data.questions])
    scored = scored_mask(data)
    asked = answerable[data.question] & scored
    slope, intercept = platt(raw[asked], data.labels[asked])
    # as answering does: candidates outside the scored ones count as not holding the answer
    probability = np.where(scored, calibrated(raw, slope, intercept), 0.0)
    best_probability, hits = best_per_question(data, probability)
    question_fold = np.array([fold_of[g] for g in data.groups()])

    rows, owners = answerability.question_rows(data, probability)
    row_labels = answerable[owners].astype(np.int8)
    row_folds = question_fold[owners]
    real = len(rows)
    if off is not None:
        off_rows = off_topic_rows(off, models, fold_of, slope, intercept)
        rows = np.vstack([rows, off_rows[0]])
        row_labels = np.concatenate([row_labels, np.zeros(len(off_rows[0]), dtype=np.int8)])
        row_folds = np.concatenate([row_folds, off_rows[1]])
    row_raw, row_models = answerability.held_out(rows, row_labels, row_folds, args.folds, args.seed)
    # calibrated on the question set's own questions: the probability that one of them is
    # answerable (the off-topic rows only teach the trees what a stranger looks like)
    a_slope, a_intercept = platt(row_raw[:real], row_labels[:real])
    relevance = np.full(len(data.questions), -np.inf)
    relevance[owners] = calibrated(row_raw[:real], a_slope, a_intercept)
    threshold = decline_threshold(relevance[answerable], args.declined_answerable)
    unsure = max(threshold, decline_threshold(relevance[answerable], args.unsure_answerable))
    off_relevance = calibrated(row_raw[real:], a_slope, a_intercept)

    best_threshold = decline_threshold(best_probability[answerable], args.declined_answerable)
    hand_relevance, hand_hits = best_per_question(data, data.features[:, HAND_COLUMN])
    hand_threshold = decline_threshold(hand_relevance[answerable], args.declined_answerable)
    share = args.declined_answerable
    training = {
        "questions": str(args.squad.name),
        "folds": args.folds,
        "seed": args.seed,
        "rounds": ROUNDS,
        "candidates": len(data.labels),
        "declined_answerable_target": share,
        "unsure_answerable_target": args.unsure_answerable,
        "held_out": figures(data, relevance, hits, threshold),
        "off_topic_questions": len(off_relevance),
        "off_topic_declined": float((off_relevance < threshold).mean())
        if len(off_relevance)
        else None,
        "trade_off": trade_off(relevance, answerable, off_relevance),
        "held_out_nested_threshold": nested_thresholds(data, relevance, fold_of, args.folds, share),
        "held_out_best_probability_as_relevance": figures(
            data, best_probability, hits, best_threshold
        ),
        "hand_same_candidates": figures(data, hand_relevance, hand_hits, hand_threshold),
    }
    print(json.dumps(training, indent=2))
    if args.folds_dir:
        args.folds_dir.mkdir(parents=True, exist_ok=True)
        for fold, model in enumerate(models):
            write_json(
                args.folds_dir / f"fold-{fold}.json",
                model_file(
                    forest_json(model, slope, intercept),
                    forest_json(row_models[fold], a_slope, a_intercept),
                    threshold,
                    {"fold": fold, **training},
                    encoder_info,
                    unsure,
                ),
            )
        write_json(
            args.folds_dir / "folds.json",
            {article: f"fold-{fold}.json" for article, fold in sorted(fold_of.items())},
        )
    if args.plot:
        seen = np.isfinite(relevance)
        reliability(
            args.plot,
            [
                (
                    "sentence holds the answer (candidates of answerable questions)",
                    probability[asked],
                    data.labels[asked],
                ),
                ("question is answerable (relevance)", relevance[seen], answerable[seen]),
            ],
        )
    kept, weight = training_rows(data)
    final = fit(data, kept, weight, args.seed)
    final_answerable = answerability.fit(rows, row_labels, args.seed)
    write_json(
        args.out or MODEL_PATH,
        model_file(
            forest_json(final, slope, intercept),
            forest_json(final_answerable, a_slope, a_intercept),
            threshold,
            training,
            encoder_info,
            unsure,
        ),
    )
    return 0


def scored_mask(data: TrainingSet) -> np.ndarray:
    """Which rows answering would score (``retrieval.search.features.scored_rows``)."""
    mask = np.zeros(len(data.labels), dtype=bool)
    hand = data.features[:, HAND_COLUMN]
    for start, end in zip(*data.spans(), strict=True):
        mask[start + scored_rows(hand[start:end])] = True
    return mask


def off_topic_rows(
    off: TrainingSet, models: list[Any], fold_of: dict[str, int], slope: float, intercept: float
) -> tuple[np.ndarray, np.ndarray]:
    """Answerability rows of the off-topic questions, scored by their folds' sentence models,
    and each row's fold."""
    fold = np.array([fold_of[g] for g in off.groups()])
    raw = np.zeros(len(off.labels))
    row_fold = fold[off.question]
    for k, model in enumerate(models):
        chosen = row_fold == k
        if chosen.any():
            raw[chosen] = model.predict(off.features[chosen], raw_score=True)
    probability = np.where(scored_mask(off), calibrated(raw, slope, intercept), 0.0)
    rows, owners = answerability.question_rows(off, probability)
    return rows, fold[owners]


if __name__ == "__main__":
    raise SystemExit(main())
