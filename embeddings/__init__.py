"""Text to vectors: a lazily loaded encoder on ONNX Runtime (or sentence-transformers).

Knows nothing of articles, indexes or Telegram.
"""

from embeddings.encoder import (
    DEFAULT_BACKEND,
    DEFAULT_MODEL,
    ENCODER_BACKENDS,
    Encoder,
    EncoderError,
    ModelIdentity,
    model_fingerprint,
)

__all__ = [
    "DEFAULT_BACKEND",
    "DEFAULT_MODEL",
    "ENCODER_BACKENDS",
    "Encoder",
    "EncoderError",
    "ModelIdentity",
    "model_fingerprint",
]
