"""Engine settings: what shapes the index and the answers. Plain data, validated by pydantic.

The faces build one of these from the single settings object (flags, environment, config file).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from embeddings import DEFAULT_MODEL

Retriever = Literal["dense", "lexical", "rrf", "hybrid"]
IndexType = Literal["auto", "flat", "ivf"]
EncoderBackend = Literal["onnx-int8", "onnx", "torch"]

#: The decline threshold: an answer whose best quote's relevance is lower says "not found".
DEFAULT_MIN_RELEVANCE = 0.32


class EngineSettings(BaseModel):
    """Everything the index builder and the answering function need to know."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = Field(DEFAULT_MODEL, description="sentence-transformers model name or path")
    top_k: int = Field(3, ge=1, le=20, description="quotes in an answer")
    retriever: Retriever = "hybrid"
    min_relevance: float = Field(
        DEFAULT_MIN_RELEVANCE, description="decline when the best quote's relevance is below this"
    )
    index_type: IndexType = Field(
        "auto", description="flat is exact; ivf is approximate; auto picks by corpus size"
    )
    encoder: EncoderBackend = Field(
        "onnx-int8", description="onnx-int8 (default), onnx (fp32) or torch (sentence-transformers)"
    )
    passage_sentences: int = Field(6, ge=1, le=50, description="most sentences in a passage")
    batch_size: int = Field(64, ge=1, le=4096)
    progress: bool = True
