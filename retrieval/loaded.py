"""An index directory loaded for answering: manifest checked, FAISS and tables in memory.

Loading refuses an index built with another model, schema or chunking, with a message naming
the command that rebuilds it. Everything here is read-only after ``open`` and safe to share
between threads (SQLite connections are per thread).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embeddings import Encoder, EncoderError, model_fingerprint
from retrieval import manifest as mf
from retrieval import store, vectors
from retrieval.config import EngineSettings
from retrieval.errors import IndexCorruptError, IndexMismatchError, rebuild_hint
from retrieval.lexicon import Lexicon
from retrieval.types import Document, Source

# Columns of the in-memory tables (see store.load_sentence_table / load_passage_table).
S_DOC, S_ORD, S_PASSAGE, S_START, S_END = range(5)
P_DOC, P_ORD, P_START, P_END, P_FIRST, P_LAST = range(6)


@dataclass
class LoadedIndex:
    """What answering reads: documents, sentence/passage tables, vectors, FTS and encoder."""

    index_dir: Path
    manifest: mf.Manifest
    documents: list[Document]
    sources: list[Source]
    doc_index: dict[str, int]
    sentences: np.ndarray
    passages: np.ndarray
    sentence_vectors: np.ndarray
    passage_vectors: np.ndarray
    sentence_faiss: Any
    passage_faiss: Any
    store: store.ReadStore
    encoder: Encoder
    #: First sentence position of each document (sentences of a document are contiguous).
    doc_first_sentence: np.ndarray
    #: Passage position of (doc index, passage ordinal) pairs, as doc_first_passage + ordinal.
    doc_first_passage: np.ndarray
    lexicon: Lexicon

    @classmethod
    def open(
        cls, index_dir: Path, settings: EngineSettings, *, encoder: Encoder | None = None
    ) -> LoadedIndex:
        """Load ``index_dir``; raise IndexMissing/Mismatch/CorruptError with a rebuild hint."""
        manifest = mf.read(index_dir)
        hint = rebuild_hint(str(index_dir), manifest.corpus)
        try:
            fingerprint = model_fingerprint(settings.model)
        except EncoderError:
            fingerprint = None
        if manifest.model.name != settings.model or (
            fingerprint is not None and manifest.model.fingerprint != fingerprint
        ):
            msg = (
                f"The index at {index_dir} was built with the model {manifest.model.name!r} "
                f"but the model configured now is {settings.model!r}. Rebuild it with: {hint}"
            )
            raise IndexMismatchError(msg)
        if manifest.chunking != mf.Chunking(passage_sentences=settings.passage_sentences):
            msg = (
                f"The index at {index_dir} was built with other chunking settings "
                f"({manifest.chunking}). Rebuild it with: {hint}"
            )
            raise IndexMismatchError(msg)
        generation = index_dir / manifest.generation
        try:
            return cls._read(index_dir, generation, manifest, settings, encoder)
        except IndexCorruptError:
            raise
        except Exception as exc:  # sqlite3, faiss (RuntimeError), numpy: all mean "damaged"
            msg = (
                f"The index at {index_dir} is damaged or incomplete ({type(exc).__name__}: "
                f"{exc}). Rebuild it with: {hint}"
            )
            raise IndexCorruptError(msg) from exc

    @classmethod
    def _read(
        cls,
        index_dir: Path,
        generation: Path,
        manifest: mf.Manifest,
        settings: EngineSettings,
        encoder: Encoder | None,
    ) -> LoadedIndex:
        store_path = generation / store.STORE_FILE
        if not store_path.is_file():
            raise FileNotFoundError(f"missing {store_path.name}")
        read_store = store.ReadStore(store_path)
        conn = read_store.conn
        documents = store.load_documents(conn)
        sentences = store.load_sentence_table(conn)
        passages = store.load_passage_table(conn)
        sentence_faiss = vectors.load(generation / mf.SENTENCES_FAISS)
        passage_faiss = vectors.load(generation / mf.PASSAGES_FAISS)
        counts = (len(documents), len(sentences), len(passages))
        expected = (manifest.counts.documents, manifest.counts.sentences, manifest.counts.passages)
        if (
            counts != expected
            or sentence_faiss.ntotal != len(sentences)
            or (passage_faiss.ntotal != len(passages))
        ):
            raise IndexCorruptError(
                f"The index at {index_dir} is inconsistent (counts {counts}, manifest "
                f"{expected}). Rebuild it with: {rebuild_hint(str(index_dir), manifest.corpus)}"
            )
        dim = manifest.model.dimension
        sentence_vectors = store.load_vectors(conn, "sentences", dim)
        passage_vectors = store.load_vectors(conn, "passages", dim)
        n_docs = len(documents)
        doc_first_sentence = np.full(n_docs, -1, dtype=np.int64)
        doc_first_passage = np.full(n_docs, -1, dtype=np.int64)
        for pos in range(len(sentences) - 1, -1, -1):
            doc_first_sentence[sentences[pos, S_DOC]] = pos
        for pos in range(len(passages) - 1, -1, -1):
            doc_first_passage[passages[pos, P_DOC]] = pos
        encoder = encoder or Encoder(settings.model, batch_size=settings.batch_size)
        encoder.load()
        if encoder.identity.dimension != dim:
            raise IndexMismatchError(
                f"The index at {index_dir} holds {dim}-dimensional vectors but the model makes "
                f"{encoder.identity.dimension}. Rebuild it with: "
                f"{rebuild_hint(str(index_dir), manifest.corpus)}"
            )
        lexicon = Lexicon(
            [documents[row[S_DOC]].text[row[S_START] : row[S_END]] for row in sentences.tolist()],
            [int(doc_first_passage[row[S_DOC]] + row[S_PASSAGE]) for row in sentences.tolist()],
            [documents[row[P_DOC]].title or "" for row in passages.tolist()],
        )
        return cls(
            lexicon=lexicon,
            index_dir=index_dir,
            manifest=manifest,
            documents=documents,
            sources=[store.source_of(doc) for doc in documents],
            doc_index={doc.id: i for i, doc in enumerate(documents)},
            sentences=sentences,
            passages=passages,
            sentence_vectors=sentence_vectors,
            passage_vectors=passage_vectors,
            sentence_faiss=sentence_faiss,
            passage_faiss=passage_faiss,
            store=read_store,
            encoder=encoder,
            doc_first_sentence=doc_first_sentence,
            doc_first_passage=doc_first_passage,
        )

    def sentence_text(self, pos: int) -> str:
        row = self.sentences[pos]
        return self.documents[row[S_DOC]].text[row[S_START] : row[S_END]]

    def passage_of(self, pos: int) -> int:
        """Passage position of sentence position ``pos``."""
        row = self.sentences[pos]
        return int(self.doc_first_passage[row[S_DOC]] + row[S_PASSAGE])
