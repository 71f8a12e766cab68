"""The engine the faces hold: a loaded index plus the encoder, behind a small API.

``Engine.open`` does the heavy work (model, FAISS, SQLite); every other method is cheap and
thread-safe, so the bot can call them from worker threads concurrently.
"""

from __future__ import annotations

from pathlib import Path

from retrieval.config import EngineSettings, Retriever
from retrieval.types import Answer, DocumentInfo, Extract, IndexInfo


class Engine:
    """Answers questions over one index directory."""

    @classmethod
    def open(cls, index_dir: Path, settings: EngineSettings) -> Engine:
        """Load the index at ``index_dir``.

        Raises IndexMissingError, IndexMismatchError or IndexCorruptError (all VerbatimError,
        with a ``message`` naming the command that rebuilds the index).
        """
        raise NotImplementedError

    def answer(
        self,
        question: str,
        *,
        top_k: int | None = None,
        offset: int = 0,
        retriever: Retriever | None = None,
        min_relevance: float | None = None,
    ) -> Answer:
        """Answer ``question`` with up to ``top_k`` quotes, skipping the first ``offset``.

        Never raises for bad questions: they come back with status ``invalid_question``.
        """
        raise NotImplementedError

    def context(self, doc_id: str, start: int, end: int, *, window: int = 2) -> Extract:
        """The verbatim extract of ``window`` sentences either side of ``[start, end)``."""
        raise NotImplementedError

    def sources(self) -> list[DocumentInfo]:
        """Every indexed document, in id order."""
        raise NotImplementedError

    def info(self) -> IndexInfo:
        """Model, counts and build date of the loaded index."""
        raise NotImplementedError

    def example_questions(self, n: int = 3) -> list[str]:
        """``n`` example questions drawn from the corpus (for /start)."""
        raise NotImplementedError
