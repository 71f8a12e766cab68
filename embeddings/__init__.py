"""Text to vectors: a thin, lazily loaded wrapper over sentence-transformers.

Knows nothing of articles, indexes or Telegram.
"""

from embeddings.encoder import (
    DEFAULT_MODEL,
    Encoder,
    EncoderError,
    ModelIdentity,
    model_fingerprint,
)

__all__ = ["DEFAULT_MODEL", "Encoder", "EncoderError", "ModelIdentity", "model_fingerprint"]
