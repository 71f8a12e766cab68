"""The sentence-transformers encoder: any model it loads, on any torch device.

sentence-transformers keeps the token limit on the model object, so a per-call limit means
changing shared state: calls take a lock, and the limit is restored before the next one runs.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from embeddings.errors import EncoderError


class TorchEncoder:
    """A loaded ``SentenceTransformer`` whose calls run one at a time."""

    def __init__(self, path: str, name: str, *, batch_size: int, device: str) -> None:
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # "Loading weights" on every load
            model = SentenceTransformer(path, device=device)
        except Exception as exc:  # the library raises many kinds; all mean "cannot load"
            msg = (
                f"Cannot load the embedding model {name!r} ({type(exc).__name__}: {exc}). "
                "The Hugging Face Hub is not reachable: give a local model folder "
                "(VERBATIM_MODEL=/path/to/model) or use the default, all-MiniLM-L6-v2."
            )
            raise EncoderError(msg) from exc
        get_dimension = getattr(model, "get_embedding_dimension", None) or (
            model.get_sentence_embedding_dimension
        )
        dimension = get_dimension()
        if dimension is None:
            raise EncoderError(f"The model {name!r} does not say its vector size.")
        self.dimension = int(dimension)
        self.batch_size = batch_size
        self._model: Any = model
        self._lock = threading.Lock()

    def order(self, texts: Sequence[str], *, max_tokens: int | None = None) -> list[int]:
        """The texts as given: float32 vectors hardly depend on which texts share a batch."""
        return list(range(len(texts)))

    def encode(
        self, texts: Sequence[str], *, progress: bool = False, max_tokens: int | None = None
    ) -> np.ndarray:
        """An ``(n, dimension)`` float32 array of unit vectors, rows in the order of ``texts``."""
        if len(texts) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            limit = self._model.max_seq_length
            if max_tokens is not None:
                self._model.max_seq_length = min(limit, max_tokens)
            try:
                vectors = self._model.encode(
                    list(texts),
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=progress,
                )
            finally:
                self._model.max_seq_length = limit
        return np.ascontiguousarray(vectors, dtype=np.float32)
