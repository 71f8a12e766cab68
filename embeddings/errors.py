"""The one domain error of the embeddings package."""

from __future__ import annotations


class EncoderError(RuntimeError):
    """The model cannot be found, prepared or loaded; the message says what to do."""
