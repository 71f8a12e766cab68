"""The learned ranker: gradient-boosted trees turning a candidate's evidence into a probability.

The model is trained by ``python -m retrieval.learn.train`` (LightGBM, on SQuAD 2.0 dev with
folds by article) and shipped as a small JSON file beside this module: the trees as flat
arrays, their calibration (Platt scaling, which keeps the order of candidates), the decline
threshold chosen on held-out folds, and the figures of its training. Answering needs neither
LightGBM nor scikit-learn (either would cost a cold ``verbatim ask`` more than its whole
budget to import): the trees run as one onnxruntime ``TreeEnsemble``
(``retrieval.search.forest_onnx``), loaded for the encoder anyway, and a numpy walk of them
is the reference the tests compare it with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.errors import VerbatimError
from retrieval.search.answerable import ANSWERABLE_FEATURES, answerable_row
from retrieval.search.features import FEATURES, scored_rows
from retrieval.search.forest_onnx import forest_model

HAND_COLUMN = FEATURES.index("hand")

#: The model shipped with the package.
MODEL_PATH = Path(__file__).with_name("ranker.json")
MODEL_FORMAT = 1


class RankerError(VerbatimError):
    """A ranker model file is missing, malformed, or made for other features."""


@dataclass(frozen=True)
class Forest:
    """One model's flattened trees and their calibration."""

    feature: np.ndarray  # int32 per node; -1 at a leaf
    threshold: np.ndarray  # float64 per node: go left when value <= threshold
    left: np.ndarray  # int32 per node (a leaf points to itself)
    right: np.ndarray
    value: np.ndarray  # float64 per node (a leaf's output; 0 elsewhere)
    roots: np.ndarray  # int32 per tree
    depth: int
    columns: int
    #: Platt scaling of the raw score: probability = 1 / (1 + exp(-(slope * raw + intercept))).
    slope: float
    intercept: float

    def raw(self, features: np.ndarray) -> np.ndarray:
        """The trees' summed output (a log-odds) for each row of ``features``.

        onnxruntime walks the trees (``retrieval.search.forest_onnx``); :meth:`walk` is the
        same sum in numpy, the reference it is tested against.
        """
        rows = self._rows(features)
        return np.asarray(self._session.run(None, {"X": rows})[0], dtype=np.float64)[:, 0]

    def walk(self, features: np.ndarray) -> np.ndarray:
        """:meth:`raw` in numpy: every (row, tree) pair holds a node, and each step moves all
        of them one level down; leaves point to themselves, so ``depth`` steps reach them."""
        rows = self._rows(features)
        node = np.broadcast_to(self.roots, (rows.shape[0], len(self.roots))).copy()
        line = np.arange(rows.shape[0])[:, None]
        children = self.children
        for _ in range(self.depth):
            value = rows[line, self.column[node]]
            node = children[2 * node + (value > self.threshold[node])]
        return self.value[node].sum(axis=1)

    def _rows(self, features: np.ndarray) -> np.ndarray:
        rows = np.ascontiguousarray(features, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[1] != self.columns:
            raise ValueError(f"expected rows of {self.columns} features, got {rows.shape}")
        return rows

    @cached_property
    def _session(self) -> Any:
        """One onnxruntime session of these trees, on one thread (its work is small)."""
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return onnxruntime.InferenceSession(
            forest_model(self), options, providers=["CPUExecutionProvider"]
        )

    @cached_property
    def children(self) -> np.ndarray:
        """Left and right child of each node, interleaved: node ``n`` goes to
        ``children[2n]`` when its value is at most the threshold, else ``children[2n + 1]``."""
        return np.stack([self.left, self.right], axis=1).reshape(-1)

    @cached_property
    def column(self) -> np.ndarray:
        """The feature each node reads (a leaf reads column 0 and stays where it is)."""
        return np.maximum(self.feature, 0)

    def probability(self, features: np.ndarray) -> np.ndarray:
        """The calibrated probability of each row."""
        return 1.0 / (1.0 + np.exp(-(self.slope * self.raw(features) + self.intercept)))


@dataclass(frozen=True)
class Ranker:
    """The sentence model, the answerability model and the decline threshold of one training.

    ``sentences`` gives each candidate the probability that it holds the answer (the order of
    quotes); ``answerable`` gives the question the probability that the articles say the
    answer (the answer's relevance, which a decline is decided by). A model without the
    second one uses the best candidate's probability as the relevance.
    """

    sentences: Forest
    answerable: Forest | None
    min_relevance: float
    info: dict[str, Any] = field(default_factory=dict)
    #: The encoder the features were measured with (name, dimension, weights fingerprint):
    #: dense similarities of another model have another scale, so its indexes need their own.
    encoder: dict[str, Any] = field(default_factory=dict)
    #: Answers whose relevance is under this are marked unsure (None: none are): the relevance
    #: that declined 2% of the answerable questions on the held-out folds.
    unsure_below: float | None = None

    def fits(self, fingerprint: str) -> bool:
        """Whether this ranker was trained on vectors of the model ``fingerprint`` names."""
        return self.encoder.get("fingerprint") == fingerprint

    def describe(self) -> str:
        """The model it was trained for, for messages."""
        return str(self.encoder.get("name", "an unrecorded model"))

    def probability(self, features: np.ndarray) -> np.ndarray:
        """Calibrated probability that each candidate sentence holds the answer.

        Only the ``SCORED_CANDIDATES`` best by the hand-set score are scored (as in training);
        the others get 0.
        """
        rows = np.asarray(features, dtype=np.float64)
        chosen = scored_rows(rows[:, HAND_COLUMN])
        probability = np.zeros(len(rows))
        if len(chosen):
            probability[chosen] = self.sentences.probability(rows[chosen])
        return probability

    def relevance(self, features: np.ndarray, probability: np.ndarray) -> float:
        """How likely the articles say the answer, from the candidates and their probabilities."""
        if not len(probability):
            return 0.0
        if self.answerable is None:
            return float(probability.max())
        row = answerable_row(features, probability)
        return float(self.answerable.probability(row[None, :])[0])


def _forest(part: dict[str, Any], columns: int) -> Forest:
    trees = part["trees"]
    return Forest(
        feature=np.asarray(trees["feature"], dtype=np.int32),
        threshold=np.asarray(trees["threshold"], dtype=np.float64),
        left=np.asarray(trees["left"], dtype=np.int32),
        right=np.asarray(trees["right"], dtype=np.int32),
        value=np.asarray(trees["value"], dtype=np.float64),
        roots=np.asarray(trees["roots"], dtype=np.int32),
        depth=int(trees["depth"]),
        columns=columns,
        slope=float(part["calibration"]["slope"]),
        intercept=float(part["calibration"]["intercept"]),
    )


def load_ranker(path: Path) -> Ranker:
    """Read a model written by the training script; a clear error when it cannot be used."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RankerError(f"Cannot read the ranker model {path}: {exc.strerror or exc}.") from exc
    except ValueError as exc:
        raise RankerError(f"The ranker model {path} is not valid JSON: {exc}.") from exc
    try:
        if data.get("format") != MODEL_FORMAT:
            raise RankerError(
                f"The ranker model {path} has format {data.get('format')!r}; this version "
                f"reads format {MODEL_FORMAT}. Train it again (python -m retrieval.learn.train)."
            )
        if tuple(data["features"]) != FEATURES:
            raise RankerError(
                f"The ranker model {path} was trained on other features than this version "
                "computes. Train it again (python -m retrieval.learn.train)."
            )
        answerable = data.get("answerable")
        if answerable is not None and tuple(answerable["features"]) != ANSWERABLE_FEATURES:
            raise RankerError(
                f"The answerability model in {path} was trained on other features than this "
                "version computes. Train it again (python -m retrieval.learn.train)."
            )
        return Ranker(
            sentences=_forest(data, len(FEATURES)),
            answerable=None
            if answerable is None
            else _forest(answerable, len(ANSWERABLE_FEATURES)),
            min_relevance=float(data["min_relevance"]),
            info=dict(data.get("training", {})),
            encoder=dict(data.get("encoder", {})),
            unsure_below=None if data.get("unsure_below") is None else float(data["unsure_below"]),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RankerError(f"The ranker model {path} is malformed ({exc!r}).") from exc


@lru_cache(maxsize=1)
def default_ranker() -> Ranker:
    """The model shipped with the package, read once."""
    return load_ranker(MODEL_PATH)
