"""Bulk encoding on a Ray cluster: the same encoder, run by actors across the cluster.

:class:`RayEncoder` is an :class:`~embeddings.encoder.Encoder` whose :meth:`~RayEncoder.encode`
splits the texts into blocks and hands them to a pool of Ray Data actors, each of which loads
the same model file with the same backend once and encodes block after block; the rows come
back in the order of the texts (each carries its index). The driver loads the model too, for
the identity an index records, so the vectors and the manifest's variant are those of local
encoding.

On CPUs an actor runs ONNX Runtime with ``threads_per_actor`` intra-op threads and the pool has
as many actors as the cluster's CPUs allow. With ``backend="torch"`` on a cluster with GPUs,
each actor takes one GPU instead.

A worker that dies is retried: Ray Data starts its map actors with ``max_restarts=-1`` and
``max_task_retries=-1`` (its defaults, see ``ActorPoolMapOperator``; passing them ourselves
is deprecated), so a killed actor is restarted and its block encoded again, once.

Needs the optional extra ``cluster`` on the driver and on every node, with this package and
the model installed there as well.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from embeddings.encoder import (
    DEFAULT_BACKEND,
    DEFAULT_BATCH_SIZE,
    DEFAULT_MODEL,
    Encoder,
)
from embeddings.errors import EncoderError

__all__ = ["BLOCK_TEXTS", "LOCAL_CLUSTER", "RAY_INSTALL_HINT", "RayEncoder", "import_ray"]

RAY_INSTALL_HINT = "pip install 'verbatim-qa[cluster]'"
#: ``--ray local`` starts a Ray instance inside this process instead of joining a cluster.
LOCAL_CLUSTER = "local"
#: Texts per Ray task: large enough that the encoder's length-sorted batches pad little and
#: the per-task overhead (milliseconds) is small against the encoding (about a second on one
#: core), small enough that the work spreads over every actor and a retried block costs little.
BLOCK_TEXTS = 512
#: ONNX Runtime threads per actor on CPUs: one thread per actor, one actor per CPU, scales
#: better than a few wide actors (the model is small; its matrix products are short).
THREADS_PER_ACTOR = 1
#: How long joining a ``HOST:PORT`` cluster waits for its head to take a connection.
CONNECT_SECONDS = 10.0
_BLOCK = "block"
_TEXTS = "texts"
_VECTORS = "vectors"


def import_ray() -> Any:
    """The ``ray`` module, or an EncoderError saying how to install it."""
    try:
        import ray
        import ray.data  # the extra provides it; plain ``ray`` does not
    except ImportError as exc:
        msg = f"Encoding on Ray needs the optional dependencies: {RAY_INSTALL_HINT}"
        raise EncoderError(msg) from exc
    return ray


def _check_reachable(address: str) -> None:
    """Raise OSError when a ``HOST:PORT`` address takes no connection: ``ray.init`` would
    retry for minutes. ``auto`` and ``ray://`` addresses are left to Ray."""
    host, sep, port = address.rpartition(":")
    if not sep or "://" in address or not port.isdigit():
        return
    with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_SECONDS):
        pass


class _EncodeBlock:
    """A Ray Data map actor: loads the encoder on its first block, then encodes one block (a
    row holding a list of texts) per call; the settings come with each call."""

    def __init__(self) -> None:
        self._encoder: Encoder | None = None

    def __call__(self, row: dict[str, Any], *, settings: _Settings) -> dict[str, Any]:
        if self._encoder is None:
            self._encoder = Encoder(
                settings.model,
                batch_size=settings.batch_size,
                backend=settings.backend,
                device=settings.device,
                threads=settings.threads,
                spin=False,  # the actors share the machine's cores: a spinning one steals them
            ).load()
        texts = [str(text) for text in row[_TEXTS]]
        vectors = self._encoder.encode(texts, max_tokens=settings.max_tokens)
        return {_BLOCK: row[_BLOCK], _VECTORS: vectors.tobytes()}


@dataclass(frozen=True)
class _Settings:
    """What an actor needs to make the same encoder as the driver's."""

    model: str
    backend: str
    batch_size: int
    threads: int
    device: str
    max_tokens: int | None


class RayEncoder(Encoder):
    """Encodes on the Ray cluster at ``address`` (``auto``, ``host:port``, ``ray://…``, or
    ``local``); same vectors, same identity as :class:`Encoder` with the same model and backend.
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        address: str,
        backend: str = DEFAULT_BACKEND,
        batch_size: int = DEFAULT_BATCH_SIZE,
        threads_per_actor: int = THREADS_PER_ACTOR,
        block_texts: int = BLOCK_TEXTS,
    ) -> None:
        super().__init__(model, batch_size=batch_size, backend=backend)
        if not address or not address.strip():
            msg = (
                "No Ray cluster given: pass --ray auto (the cluster this machine belongs to), "
                f"--ray HOST:PORT, or --ray {LOCAL_CLUSTER} (a Ray instance in this process)."
            )
            raise EncoderError(msg)
        if threads_per_actor < 1:
            raise EncoderError(f"threads_per_actor must be at least 1, got {threads_per_actor}.")
        if block_texts < 1:
            raise EncoderError(f"block_texts must be at least 1, got {block_texts}.")
        self.address = address.strip()
        self.threads_per_actor = threads_per_actor
        self.block_texts = block_texts
        self._ray: Any = None

    def load(self, *, questions: bool = False) -> RayEncoder:
        """Load the model here (for the identity; ``questions``: the question model, which
        runs here) and join the cluster; a second call does nothing. Raises EncoderError when
        ray is not installed or the cluster is unreachable."""
        super().load(questions=questions)
        self._join()
        return self

    def _join(self) -> Any:
        if self._ray is not None:
            return self._ray
        ray = import_ray()
        if not ray.is_initialized():
            address = None if self.address == LOCAL_CLUSTER else self.address
            try:
                if address is not None:
                    _check_reachable(address)
                ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
            except (OSError, RuntimeError, ValueError) as exc:
                msg = (
                    f"Cannot reach a Ray cluster at {self.address!r} ({exc}). Start one with "
                    "`ray start --head` (and `ray start --address HEAD:PORT` on the other "
                    "machines), then pass --ray auto or --ray HEAD:PORT; or pass --ray "
                    f"{LOCAL_CLUSTER} to run Ray inside this process."
                )
                raise EncoderError(msg) from exc
        # Ray Data tells of every dataset it runs, and of its progress bars being off.
        logging.getLogger("ray.data").setLevel(logging.ERROR)
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        self._ray = ray
        return ray

    def pool(self) -> tuple[int, float, float]:
        """Actors, CPUs per actor and GPUs per actor for the cluster as it is now."""
        ray = self._join()
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        if self.backend == "torch" and gpus > 0:
            return gpus, 1.0, 1.0
        cpus = int(resources.get("CPU", 0))
        return max(1, cpus // self.threads_per_actor), float(self.threads_per_actor), 0.0

    def encode(
        self, texts: Sequence[str], *, progress: bool = False, max_tokens: int | None = None
    ) -> np.ndarray:
        """An ``(n, dimension)`` float32 array of unit vectors, rows in the order of ``texts``.

        The texts go out in the encoder's own order (:meth:`Encoder.order`), in blocks of
        whole batches, so every batch holds the texts it holds in a local call.
        """
        order = self.load().order(texts, max_tokens=max_tokens)
        dimension = self.identity.dimension
        out = np.empty((len(texts), dimension), dtype=np.float32)
        if len(texts) == 0:
            return out
        ray = self._ray
        actors, cpus, gpus = self.pool()
        size = -(-self.block_texts // self.batch_size) * self.batch_size
        blocks = [order[start : start + size] for start in range(0, len(order), size)]
        items = [
            {_BLOCK: number, _TEXTS: [str(texts[i]) for i in rows]}
            for number, rows in enumerate(blocks)
        ]
        settings = _Settings(
            model=self.model_name,
            backend=self.backend,
            batch_size=self.batch_size,
            threads=self.threads_per_actor,
            device="cuda" if gpus else "cpu",
            max_tokens=max_tokens,
        )
        encoded = ray.data.from_items(items, override_num_blocks=len(items)).map(
            _EncodeBlock,
            fn_kwargs={"settings": settings},
            compute=ray.data.ActorPoolStrategy(size=min(actors, len(items))),
            num_cpus=cpus,
            num_gpus=gpus,
        )
        done = np.zeros(len(blocks), dtype=bool)
        for row in encoded.iter_rows():
            number = int(row[_BLOCK])
            rows = blocks[number]
            vectors = np.frombuffer(row[_VECTORS], dtype=np.float32)
            out[rows] = vectors.reshape(len(rows), dimension)
            done[number] = True
        if not done.all():  # Ray lost a block without an error: never store a hole as vectors
            missing = sum(len(blocks[i]) for i in np.flatnonzero(~done))
            msg = f"The Ray cluster returned no vectors for {missing} of {len(texts)} texts."
            raise EncoderError(msg + " Run `verbatim index` again.")
        return out
