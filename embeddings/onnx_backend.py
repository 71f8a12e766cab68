"""The ONNX Runtime encoder: tokenizers in, numpy pooling out, no torch.

Texts are tokenised once, sorted by token count into batches (little padding), run through
one shared :class:`onnxruntime.InferenceSession` and put back in their original order.
Nothing shared is mutated after loading, so :meth:`OnnxEncoder.encode` may run in several
threads at once; their runs take turns, as each one uses every core.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from embeddings.model_files import SentenceModelConfig

if TYPE_CHECKING:
    from tokenizers import Tokenizer

_NORM_EPSILON = 1e-12
_FALLBACK_PAD_TOKENS = ("[PAD]", "<pad>")


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity), at least one."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class OnnxEncoder:
    """One ONNX model file plus the tokenizer and pooling of its sentence-transformers folder."""

    def __init__(
        self,
        onnx_file: Path,
        config: SentenceModelConfig,
        *,
        batch_size: int,
        threads: int | None = None,
        spin: bool = True,
        run_lock: threading.Lock | None = None,
    ) -> None:
        """``spin``: intra-op threads wait for the next operator busily; processes that share
        cores with their peers (Ray actors) want it off. ``run_lock``: shared with the other
        sessions of one process whose runs should take turns with this one's."""
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or usable_cores()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Batches come in every shape (length-sorted texts): ORT's per-shape memory patterns,
        # with glibc keeping freed blocks, grew an index build of the SQuAD corpus to
        # 650 MiB; without them, and with blocks over 1 MiB given back, it peaks at 557 MiB
        # in the same 25 s (without the arena too: 396 MiB, but 57 s).
        options.enable_mem_pattern = False
        # Intra-op threads spin between operators: a question is some 600 small operators,
        # and waking a sleeping thread for each made it cost 1.1 ms more (2.8 ms against 1.7
        # on 2 cores, AMD EPYC). Runs take turns (``_run_lock``), so the spinning threads of
        # one run never steal the cores of another (bot_load 50 x 10 on 2 cores: 44-54
        # answers/s either way). After a run they spin on for a while (45 ms of one core
        # there), which VERBATIM_ENCODER_SPIN=0 spares a machine shared with busier work.
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        _return_large_blocks()
        self._session = onnxruntime.InferenceSession(
            str(onnx_file), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {node.name for node in self._session.get_inputs()}
        self._base_tokenizer = Tokenizer.from_file(str(config.tokenizer_file))
        self._base_tokenizer.no_padding()  # batches are padded here, after sorting
        self._pad_id = _pad_id(self._base_tokenizer, config.pad_token)
        self._tokenizers: dict[int, Tokenizer] = {}
        self._lock = threading.Lock()
        self._run_lock = run_lock or threading.Lock()
        self.config = config
        self.batch_size = batch_size
        self._tokenizer(config.max_seq_length)  # made now, so the first question is quick

    @property
    def dimension(self) -> int:
        return self.config.dimension

    @property
    def threads(self) -> int:
        """The session's intra-op threads (the calling one included)."""
        return int(self._session.get_session_options().intra_op_num_threads)

    @property
    def spinning(self) -> bool:
        """Whether the session's intra-op threads spin between operators."""
        options = self._session.get_session_options()
        return options.get_session_config_entry("session.intra_op.allow_spinning") == "1"

    def encode(
        self, texts: Sequence[str], *, progress: bool = False, max_tokens: int | None = None
    ) -> np.ndarray:
        """An ``(n, dimension)`` float32 array of unit vectors, rows in the order of ``texts``."""
        if len(texts) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        encodings = self._encodings(texts, max_tokens)
        order = _by_length(encodings)
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        starts = range(0, len(order), self.batch_size)
        for start in _progress(starts, progress):
            rows = order[start : start + self.batch_size]
            out[rows] = self._run([encodings[i] for i in rows])
        return out

    def order(self, texts: Sequence[str], *, max_tokens: int | None = None) -> list[int]:
        """The order :meth:`encode` runs ``texts`` in (by token count, ties as given); batches
        are its consecutive runs of ``batch_size``.

        Int8 vectors depend a little on which texts share a batch (activations are quantised
        per batch, padding included), so whoever splits a job and wants the vectors of one call
        splits it along this order, at multiples of ``batch_size``.
        """
        return _by_length(self._encodings(texts, max_tokens))

    def _encodings(self, texts: Sequence[str], max_tokens: int | None) -> list[Any]:
        limit = self.config.max_seq_length
        if max_tokens is not None:
            limit = min(limit, max_tokens)
        prepared = [_prepare(text, self.config.do_lower_case) for text in texts]
        return list(self._tokenizer(limit).encode_batch(prepared))

    def _tokenizer(self, limit: int) -> Tokenizer:
        """A tokenizer truncating at ``limit``, made once per limit and never changed after."""
        tokenizer = self._tokenizers.get(limit)
        if tokenizer is not None:
            return tokenizer
        with self._lock:
            tokenizer = self._tokenizers.get(limit)
            if tokenizer is None:
                from tokenizers import Tokenizer

                tokenizer = Tokenizer.from_str(self._base_tokenizer.to_str())
                tokenizer.enable_truncation(max_length=limit)
                self._tokenizers[limit] = tokenizer
        return tokenizer

    def _run(self, encodings: list[Any]) -> np.ndarray:
        width = max(len(encoding.ids) for encoding in encodings)
        ids = np.full((len(encodings), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        types = np.zeros((len(encodings), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            n = len(encoding.ids)
            ids[row, :n] = encoding.ids
            mask[row, :n] = 1
            types[row, :n] = encoding.type_ids
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        feed = {k: v for k, v in feed.items() if k in self._inputs}
        with self._run_lock:
            hidden = self._session.run(None, feed)[0]
        return _normalize(_pool(np.asarray(hidden, dtype=np.float32), mask, self.config.pooling))


#: Allocations at least this large (activations of a batch) are mapped and unmapped, so freed
#: memory goes back to the OS instead of staying in glibc's heap.
MMAP_THRESHOLD = 1024 * 1024
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number


def _return_large_blocks() -> None:
    """Ask glibc (where it is the C library) to map large blocks; elsewhere do nothing."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not name:
        return
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    except (OSError, AttributeError):
        return


def _by_length(encodings: list[Any]) -> list[int]:
    """Indexes of ``encodings`` by token count; a stable sort, so ties keep their order."""
    return sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))


def _prepare(text: str, lower: bool) -> str:
    """What sentence-transformers does before tokenising: strip, and lower-case if asked."""
    text = str(text).strip()
    return text.lower() if lower else text


def _pool(hidden: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    if mode == "cls":
        return hidden[:, 0]
    weights = mask[:, :, None].astype(np.float32)
    if mode == "max":
        return np.where(weights > 0, hidden, np.finfo(np.float32).min).max(axis=1)
    return (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), _NORM_EPSILON)


def _normalize(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, _NORM_EPSILON)).astype(np.float32, copy=False)


def _pad_id(tokenizer: Tokenizer, pad_token: str | None) -> int:
    """The padding id: the configured pad token's, else a usual one's, else 0."""
    for token in (pad_token, *_FALLBACK_PAD_TOKENS):
        token_id = tokenizer.token_to_id(token) if token else None
        if token_id is not None:
            return int(token_id)
    return 0


def _progress(items: range, show: bool) -> Any:
    if not show:
        return items
    from tqdm import tqdm

    return tqdm(items, desc="encoding", unit="batch")
