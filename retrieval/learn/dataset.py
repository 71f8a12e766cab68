"""A training set for the ranker: every candidate of every question, its features and label.

Each question is prepared, encoded and searched exactly as answering does it
(``retrieval.search.features.gather``), so the model learns from the very evidence it will be
given. A candidate is labelled 1 when its sentence holds a gold answer (word boundaries, SQuAD
normalisation: ``retrieval.evaluation.metrics.contains_answer``); every candidate of an
unanswerable question is labelled 0, so the model also learns when the articles only talk
about a subject without saying the answer.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from retrieval.evaluation.gold import Question
from retrieval.evaluation.matching import contains_answer
from retrieval.index.view import OpenIndex
from retrieval.search.features import FEATURES, gather
from retrieval.search.query import prepare

#: Features are kept as float32 (a million candidates take 120 MB instead of 240 MB).
FEATURE_DTYPE = np.float32


@dataclass(frozen=True)
class TrainingSet:
    """Candidates of a question set: ``question[i]`` says whose row ``i`` is."""

    features: np.ndarray  # (candidates, len(FEATURES))
    labels: np.ndarray  # (candidates,) 0/1
    question: np.ndarray  # (candidates,) index into ``questions``
    questions: tuple[Question, ...]

    def spans(self) -> tuple[np.ndarray, np.ndarray]:
        """Start and end row of each question with candidates (rows come question by question)."""
        starts = np.r_[0, np.flatnonzero(np.diff(self.question)) + 1]
        return starts, np.r_[starts[1:], len(self.question)]

    def groups(self) -> list[str]:
        """Each question's article (its first source), what folds are drawn by."""
        return [q.sources[0] if q.sources else q.id for q in self.questions]


def collect(
    index: OpenIndex,
    questions: Sequence[Question],
    *,
    progress: bool = True,
    answerable: bool = True,
) -> TrainingSet:
    """Gather the candidates of ``questions`` over ``index`` with their features and labels.

    Questions that cannot be asked (``prepare`` finds a problem) contribute no rows.
    ``answerable=False`` labels every candidate 0 (questions asked of a corpus without
    their article: ``retrieval.learn.off_topic``).
    """
    features: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    owner: list[np.ndarray] = []
    bar = tqdm(questions, desc="features", unit="q", disable=not progress, leave=False)
    with index.reader() as reader:
        for number, question in enumerate(bar):
            prepared = prepare(question.question, index.language)
            if prepared.problem:
                continue
            vector = index.encoder.encode_one(prepared.text)
            found = gather(reader, prepared, vector)
            if not len(found):
                continue
            gold = question.answers if answerable else ()
            labels.append(
                np.array([contains_answer(r.text, gold) for r in found.rows], dtype=np.int8)
                if gold
                else np.zeros(len(found), dtype=np.int8)
            )
            features.append(found.features.astype(FEATURE_DTYPE))
            owner.append(np.full(len(found), number, dtype=np.int32))
    if not features:
        return TrainingSet(
            np.zeros((0, len(FEATURES)), FEATURE_DTYPE),
            np.zeros(0, np.int8),
            np.zeros(0, np.int32),
            tuple(questions),
        )
    return TrainingSet(
        np.concatenate(features),
        np.concatenate(labels),
        np.concatenate(owner),
        tuple(questions),
    )


def concatenate(parts: Sequence[TrainingSet]) -> TrainingSet:
    """One training set of several, question numbers renumbered in order."""
    features: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    owner: list[np.ndarray] = []
    questions: list[Question] = []
    for part in parts:
        features.append(part.features)
        labels.append(part.labels)
        owner.append(part.question + len(questions))
        questions.extend(part.questions)
    return TrainingSet(
        np.concatenate(features),
        np.concatenate(labels),
        np.concatenate(owner).astype(np.int32),
        tuple(questions),
    )


def save_cached(path: Path, data: TrainingSet, source: str) -> None:
    """Keep gathered features for another run over the same questions and features;
    ``source`` names what made them (the encoder, its variant, how it encodes questions)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        features=data.features,
        labels=data.labels,
        question=data.question,
        ids=np.array([q.id for q in data.questions]),
        names=np.array(FEATURES),
        source=np.array(source),
    )


def load_cached(path: Path, questions: Sequence[Any], source: str) -> TrainingSet | None:
    """Features kept by :func:`save_cached`, if they were gathered for these questions by
    the same ``source``."""
    if not path.exists():
        return None
    kept = np.load(path)
    same = (
        list(kept["names"]) == list(FEATURES)
        and list(kept["ids"]) == [q.id for q in questions]
        and "source" in kept
        and str(kept["source"]) == source
    )
    if not same:
        print(
            f"{path} holds features of other questions, another encoder or another version: "
            "gathering again",
            file=sys.stderr,
        )
        return None
    return TrainingSet(kept["features"], kept["labels"], kept["question"], tuple(questions))
