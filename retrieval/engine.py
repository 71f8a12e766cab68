"""The engine the faces hold: a loaded index plus the encoder, behind a small API.

``Engine.open`` does the heavy work (model, vector maps, the store); every other method is cheap
and thread-safe, so the bot can call them from worker threads concurrently. The engine sees the
index only through ``retrieval.index.view`` (any store will do). It follows its index directory:
rows added in place are picked up by the open index itself, and a replaced index (a rebuild by
another process) is opened on the next question.

A store that fails while answering is reopened once (its index may have been replaced and
removed under a thread); a failure that remains is reported as ``IndexCorruptError`` with the
rebuild command when the store turns out damaged, and raised as it is otherwise (a bug). A
store whose server cannot be reached (``StoreUnavailableError``, a Milvus server down or
restarting) is neither: it passes through untouched, so the faces can say "try again", and the
next question reaches the store again by itself (the Milvus store reconnects and reloads).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from embeddings import Encoder
from retrieval.answer import answering, quotes
from retrieval.answer.thresholds import threshold_for
from retrieval.config import EngineSettings, Retriever
from retrieval.errors import IndexCorruptError, VerbatimError, rebuild_hint
from retrieval.index.stores import open_index
from retrieval.index.view import OpenIndex
from retrieval.search.ranker import Ranker, default_ranker, load_ranker
from retrieval.types import Answer, DocumentInfo, Extract, IndexInfo, PriorTurn

T = TypeVar("T")
log = logging.getLogger(__name__)

MAX_CONTEXT_WINDOW = 10
_TITLE_WORD = re.compile(r"[A-Za-z][\w'-]+")


#: How many example titles /start looks through.
EXAMPLE_SCAN = 200
#: Indexes replaced by a newer generation kept open for answers still reading them; older
#: ones are closed (their files were deleted by the build, and open handles keep the space).
RETIRED_KEPT = 1


class Engine:
    """Answers questions over one index directory."""

    def __init__(self, index: OpenIndex, settings: EngineSettings) -> None:
        self._index = index
        self._retired: list[OpenIndex] = []
        self.settings = settings
        self._lock = threading.Lock()
        self._ranker = load_ranker(Path(settings.ranker)) if settings.ranker else None
        self._unfit_told: set[str] = set()

    @classmethod
    def open(
        cls, index_dir: Path, settings: EngineSettings, *, encoder: Encoder | None = None
    ) -> Engine:
        """Load the index at ``index_dir``.

        Raises IndexMissingError, IndexMismatchError or IndexCorruptError (all VerbatimError,
        with a ``message`` naming the command that rebuilds the index).
        """
        return cls(open_index(index_dir, settings, encoder=encoder), settings)

    @property
    def index(self) -> OpenIndex:
        """The open index, reopened first when another process replaced it."""
        if self._index.replaced():
            self.reload()
        return self._index

    def reload(self) -> None:
        """Open the index directory's current index if it was replaced (keeping the encoder)."""
        with self._lock:
            old = self._index
            if old.replaced():
                self._index = open_index(old.index_dir, self.settings, encoder=old.encoder)
                self._retired.append(old)
                while len(self._retired) > RETIRED_KEPT:
                    self._retired.pop(0).close()

    def answer(
        self,
        question: str,
        *,
        top_k: int | None = None,
        offset: int = 0,
        retriever: Retriever | None = None,
        min_relevance: float | None = None,
        context: PriorTurn | None = None,
        ranker: Ranker | None = None,
    ) -> Answer:
        """Answer ``question`` with up to ``top_k`` quotes, skipping the first ``offset``.

        ``context`` is the question asked before it and its quotes (``PriorTurn.of(answer)``):
        a follow-up that leans on it is answered in that context. ``min_relevance`` and the
        settings' unset mean the retriever's own threshold (``retrieval.answer.thresholds``);
        ``ranker`` replaces the shipped model (the harness's held-out folds). Never raises for bad
        questions: they come back with status ``invalid_question``.
        """
        model = ranker or self._ranker or default_ranker()
        configured = self.settings.min_relevance if min_relevance is None else min_relevance

        def run(index: OpenIndex) -> Answer:
            chosen = self._ranking(retriever or self.settings.retriever, model, index)
            return answering.answer(
                question,
                index,
                context=context,
                top_k=top_k or self.settings.top_k,
                offset=offset,
                retriever=chosen,
                ranker=model,
                min_relevance=threshold_for(chosen, configured, model),
            )

        return self._guarded(run)

    def decline_threshold(self, retriever: Retriever, ranker: Ranker | None = None) -> float:
        """The threshold ``answer`` applies for ``retriever`` (-inf: it never declines)."""
        model = ranker or self._ranker or default_ranker()
        chosen = self._ranking(retriever, model, self.index)
        return threshold_for(chosen, self.settings.min_relevance, model)

    def _ranking(self, retriever: Retriever, model: Ranker, index: OpenIndex) -> Retriever:
        """``retriever``, or the hand-set ``hand`` ranking when the learned model was trained
        for another encoder than the index's (its dense similarities have another scale);
        said once per model in the log."""
        built = index.manifest.model
        if retriever != "hybrid" or model.fits(built.fingerprint):
            return retriever
        if built.fingerprint not in self._unfit_told:
            self._unfit_told.add(built.fingerprint)
            log.warning(
                "The learned ranker was trained for %s, and this index was built with %s: "
                "ranking with the hand-set formula instead. Train one for it "
                "(python -m retrieval.learn.train --model %s --squad FILE --out RANKER.json) "
                "and set VERBATIM_RANKER=RANKER.json.",
                model.describe(),
                built.name,
                built.name,
            )
        return "hand"

    def _guarded(
        self, work: Callable[[OpenIndex], T], *, expected: tuple[type[Exception], ...] = ()
    ) -> T:
        """``work`` on the current index, tried again once on a reopened one if the store fails.

        Exceptions in ``expected`` are the caller's contract and pass through untouched, as do
        domain errors (StoreUnavailableError among them: an unreachable server damages nothing,
        and reopening the index could not reach it either).
        """
        index = self.index
        try:
            return work(index)
        except expected:
            raise
        except VerbatimError:
            raise
        except Exception as exc:
            if not index.store_failed(exc):
                _raise_if_damaged(index, exc)
                raise
            # the index may have been replaced and removed under us: reopen, try once more
        self.reload()
        index = self.index
        try:
            return work(index)
        except expected:
            raise
        except VerbatimError:
            raise
        except Exception as exc:
            if index.store_failed(exc):
                raise self._damaged(exc) from exc
            _raise_if_damaged(index, exc)
            raise

    def _damaged(self, exc: Exception) -> IndexCorruptError:
        index_dir = self._index.index_dir
        hint = rebuild_hint(str(index_dir), self._index.manifest.corpus)
        return IndexCorruptError(
            f"The index at {index_dir} is damaged ({type(exc).__name__}: {exc}). "
            f"Rebuild it with: {hint}"
        )

    def context(self, doc_id: str, start: int, end: int, *, window: int = 2) -> Extract:
        """The verbatim extract of ``window`` sentences either side of ``[start, end)``.

        Raises KeyError for an unknown document and ValueError for a range it does not hold.
        """
        window = max(0, min(window, MAX_CONTEXT_WINDOW))
        return self._guarded(
            lambda index: _context(index, doc_id, start, end, window),
            expected=(KeyError, ValueError),
        )

    def sources(self) -> list[DocumentInfo]:
        """Every indexed document, in id order."""
        return self._guarded(_sources)

    def info(self) -> IndexInfo:
        """Model, counts and build date of the loaded index."""
        return self._guarded(_info)

    def example_questions(self, n: int = 3) -> list[str]:
        """``n`` example questions drawn from the corpus (for /start).

        Each is built from a document's title: "What do the articles say about <title>?".
        """
        return self._guarded(lambda index: _example_questions(index, n))

    def close(self) -> None:
        """Close the store connections (the engine must not be used afterwards)."""
        for retired in self._retired:
            retired.close()
        self._retired.clear()
        self._index.close()


def _raise_if_damaged(index: OpenIndex, exc: Exception) -> None:
    """Report ``exc`` as a damaged index when the store holds what caused it."""
    problem = index.damage()
    if problem is not None:
        hint = rebuild_hint(str(index.index_dir), index.manifest.corpus)
        raise IndexCorruptError(
            f"The index at {index.index_dir} is damaged: {problem}. Rebuild it with: {hint}"
        ) from exc


def _context(index: OpenIndex, doc_id: str, start: int, end: int, window: int) -> Extract:
    with index.reader() as reader:
        doc = reader.document_by_id(doc_id)
        if doc is None:
            raise KeyError(doc_id)
        if doc.sentence_count == 0:
            raise ValueError(f"{doc_id} has no indexed sentences")
        first_pos = doc.first_sentence
        last_pos = first_pos + doc.sentence_count - 1
        rows = reader.sentences(range(first_pos, last_pos + 1))
        positions = [
            p for p, row in rows.items() if row is not None and row.start < end and row.end > start
        ]
        if not positions:
            raise ValueError(f"{doc_id} holds no sentence in [{start}, {end})")
        lo = max(first_pos, min(positions) - window)
        hi = min(last_pos, max(positions) + window)
        return quotes.extract(reader, lo, hi)


def _sources(index: OpenIndex) -> list[DocumentInfo]:
    with index.reader() as reader:
        return [
            DocumentInfo(source=row.source, sentences=row.sentence_count, chars=row.chars)
            for row in reader.all_documents()
        ]


def _info(index: OpenIndex) -> IndexInfo:
    manifest = index.manifest
    with index.reader() as reader:
        stats = reader.stats
        index_type = reader.index_type
        updated = reader.updated_at() or manifest.built_at
    return IndexInfo(
        model_name=manifest.model.name,
        dimension=manifest.model.dimension,
        documents=stats.documents,
        sentences=stats.sentences,
        passages=stats.passages,
        built_at=updated,
        index_type=index_type,
    )


def _example_questions(index: OpenIndex, n: int) -> list[str]:
    examples: list[str] = []
    with index.reader() as reader:
        rows = reader.all_documents(limit=EXAMPLE_SCAN)
    for row in rows:
        title = (row.source.title or "").strip().rstrip(".")
        if len(_TITLE_WORD.findall(title)) >= 3 and len(title) <= 90:
            examples.append(f"What do the articles say about “{title}”?")
        if len(examples) == n:
            break
    return examples
