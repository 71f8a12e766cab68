"""The engine the faces hold: a loaded index plus the encoder, behind a small API.

``Engine.open`` does the heavy work (model, FAISS, SQLite); every other method is cheap and
thread-safe, so the bot can call them from worker threads concurrently.
"""

from __future__ import annotations

import re
from pathlib import Path

from embeddings import Encoder
from retrieval import answering
from retrieval.config import EngineSettings, Retriever
from retrieval.loaded import S_DOC, S_END, S_START, LoadedIndex
from retrieval.types import Answer, DocumentInfo, Extract, IndexInfo

MAX_CONTEXT_WINDOW = 10
_TITLE_WORD = re.compile(r"[A-Za-z][\w'-]+")


class Engine:
    """Answers questions over one index directory."""

    def __init__(self, index: LoadedIndex, settings: EngineSettings) -> None:
        self.index = index
        self.settings = settings

    @classmethod
    def open(
        cls, index_dir: Path, settings: EngineSettings, *, encoder: Encoder | None = None
    ) -> Engine:
        """Load the index at ``index_dir``.

        Raises IndexMissingError, IndexMismatchError or IndexCorruptError (all VerbatimError,
        with a ``message`` naming the command that rebuilds the index).
        """
        return cls(LoadedIndex.open(index_dir, settings, encoder=encoder), settings)

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
        return answering.answer(
            question,
            self.index,
            top_k=top_k or self.settings.top_k,
            offset=offset,
            retriever=retriever or self.settings.retriever,
            min_relevance=self.settings.min_relevance if min_relevance is None else min_relevance,
        )

    def context(self, doc_id: str, start: int, end: int, *, window: int = 2) -> Extract:
        """The verbatim extract of ``window`` sentences either side of ``[start, end)``.

        Raises KeyError for an unknown document and ValueError for a range it does not hold.
        """
        doc = self.index.doc_index[doc_id]
        window = max(0, min(window, MAX_CONTEXT_WINDOW))
        first_pos = int(self.index.doc_first_sentence[doc])
        if first_pos < 0:
            raise ValueError(f"{doc_id} has no indexed sentences")
        rows = self.index.sentences
        last_pos = first_pos
        while last_pos + 1 < len(rows) and rows[last_pos + 1, S_DOC] == doc:
            last_pos += 1
        positions = [
            p
            for p in range(first_pos, last_pos + 1)
            if rows[p, S_START] < end and rows[p, S_END] > start
        ]
        if not positions:
            raise ValueError(f"{doc_id} holds no sentence in [{start}, {end})")
        lo = max(first_pos, positions[0] - window)
        hi = min(last_pos, positions[-1] + window)
        return answering.extract(self.index, lo, hi)

    def sources(self) -> list[DocumentInfo]:
        """Every indexed document, in id order."""
        counts: dict[int, int] = {}
        for row in self.index.sentences:
            counts[int(row[S_DOC])] = counts.get(int(row[S_DOC]), 0) + 1
        return [
            DocumentInfo(source=source, sentences=counts.get(i, 0), chars=len(doc.text))
            for i, (doc, source) in enumerate(
                zip(self.index.documents, self.index.sources, strict=True)
            )
        ]

    def info(self) -> IndexInfo:
        """Model, counts and build date of the loaded index."""
        manifest = self.index.manifest
        return IndexInfo(
            model_name=manifest.model.name,
            dimension=manifest.model.dimension,
            documents=manifest.counts.documents,
            sentences=manifest.counts.sentences,
            passages=manifest.counts.passages,
            built_at=manifest.built_at,
            index_type=manifest.index_type,
        )

    def example_questions(self, n: int = 3) -> list[str]:
        """``n`` example questions drawn from the corpus (for /start).

        Each is built from a document's title: "What do the articles say about <title>?".
        """
        examples: list[str] = []
        for doc in self.index.documents:
            title = (doc.title or "").strip().rstrip(".")
            if len(_TITLE_WORD.findall(title)) >= 3 and len(title) <= 90:
                examples.append(f"What do the articles say about “{title}”?")
            if len(examples) == n:
                break
        return examples
