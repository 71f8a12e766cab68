"""Engine settings: what shapes the index and the answers. Plain data, validated by pydantic.

The faces build one of these from the single settings object (flags, environment, config file).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from embeddings import DEFAULT_MODEL, Encoder
from retrieval.split.language import DEFAULT_LANGUAGE, check_code

Retriever = Literal["dense", "lexical", "rrf", "hand", "hybrid"]
IndexType = Literal["auto", "flat", "ivf"]
EncoderBackend = Literal["onnx-int8", "onnx", "torch"]
QuestionModel = Literal["lean", "same"]
#: Where answers read the index: the index folder (FAISS + SQLite) or a Milvus server.
StoreKind = Literal["embedded", "milvus"]

DEFAULT_MILVUS_URI = "http://127.0.0.1:19530"
#: Collections of one index in Milvus are named with this prefix (one index per prefix).
DEFAULT_MILVUS_PREFIX = "verbatim_"

#: The decline threshold of the hand-set ``hand`` ranking (its scores are absolute, 0..1). The
#: ``hybrid`` ranker brings its own, chosen on held-out folds and recorded with the model.
HAND_MIN_RELEVANCE = 0.32


class EngineSettings(BaseModel):
    """Everything the index builder and the answering function need to know."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = Field(DEFAULT_MODEL, description="sentence-transformers model name or path")
    top_k: int = Field(3, ge=1, le=20, description="quotes in an answer")
    retriever: Retriever = "hybrid"
    min_relevance: float | None = Field(
        None,
        description=(
            "decline when the best quote's relevance is below this; "
            "unset: the retriever's own threshold (the ranker model's for hybrid)"
        ),
    )
    index_type: IndexType = Field(
        "auto", description="flat is exact; ivf is approximate; auto picks by corpus size"
    )
    encoder: EncoderBackend = Field(
        "onnx-int8", description="onnx-int8 (default), onnx (fp32) or torch (sentence-transformers)"
    )
    encoder_spin: bool = Field(
        True,
        description="the documents' model's ONNX Runtime threads spin between operators "
        "(under VERBATIM_ENCODER_QUESTIONS=same a question 1 ms quicker; the lean question model "
        "runs on one thread); off: they sleep at once, for a machine shared with busier work",
    )
    encoder_questions: QuestionModel = Field(
        "lean",
        description="lean: under onnx-int8, questions go through a copy of the model with 8-bit "
        "feed-forward output weights (a question 0.5 ms quicker); same: the documents' model",
    )
    passage_sentences: int = Field(6, ge=1, le=50, description="most sentences in a passage")
    batch_size: int = Field(64, ge=1, le=4096)
    progress: bool = True
    store: StoreKind = Field(
        "embedded", description="embedded (the index folder) or milvus (mirrored to a server)"
    )
    milvus_uri: str = Field(
        DEFAULT_MILVUS_URI, description="a Milvus server (http://host:19530) or a Milvus Lite file"
    )
    milvus_prefix: str = Field(
        DEFAULT_MILVUS_PREFIX,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,39}$",
        description="name prefix of the index's Milvus collections",
    )
    ranker: str | None = Field(
        None,
        description="a ranker model file (python -m retrieval.learn.train --out FILE); unset: "
        "the one shipped, trained for the default model",
    )
    language: str | None = Field(
        None,
        description="the corpus language (ISO 639-1) an index is built for; unset: an existing "
        f"index keeps its own, a new one is {DEFAULT_LANGUAGE!r}; an open index answers in the "
        "language its manifest records",
    )

    @field_validator("language")
    @classmethod
    def _supported_language(cls, value: str | None) -> str | None:
        return None if value is None else check_code(value)


def new_encoder(settings: EngineSettings) -> Encoder:
    """The encoder ``settings`` describe, not loaded yet (loading reads the model)."""
    return Encoder(
        settings.model,
        batch_size=settings.batch_size,
        backend=settings.encoder,
        spin=settings.encoder_spin,
        questions=settings.encoder_questions,
    )


#: Articles sent in (a page, a file) larger than this are refused; a news page is under 2 MB.
MAX_ARTICLE_BYTES = 10 * 1024 * 1024
#: Connecting, and each read, of a fetch may take this long.
FETCH_TIMEOUT_SECONDS = 15.0
#: A whole fetch, redirects included, may take this long (a server dripping bytes stops here).
FETCH_DEADLINE_SECONDS = 60.0
MAX_REDIRECTS = 5


@dataclass(frozen=True)
class FetchPolicy:
    """The limits of fetching an article from a link (``retrieval.read.fetch``).

    ``allow_private`` lets the operator fetch from private and loopback addresses (an
    intranet); link-local, multicast, reserved and unspecified ones are never fetched.
    """

    max_bytes: int = MAX_ARTICLE_BYTES
    timeout_seconds: float = FETCH_TIMEOUT_SECONDS
    allow_private: bool = False
    max_redirects: int = MAX_REDIRECTS
    deadline_seconds: float = FETCH_DEADLINE_SECONDS
