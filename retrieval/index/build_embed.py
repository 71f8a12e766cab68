"""Documents segmented into sentence and passage rows, embedded and stored, in chunks.

Memory stays bounded: documents go ``CHUNK_SENTENCES`` sentences at a time, and their texts to
the encoder at most about ``ENCODE_SLICE_CHARS`` characters at a time. Each chunk's vectors are
appended to the vector files before its rows are inserted (the store counts only committed rows),
and its rows to the row files (``row_files``) as they are inserted.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import numpy as np

from embeddings import Encoder
from retrieval.config import EngineSettings
from retrieval.index import store_write, vectors
from retrieval.index.build_generations import transaction
from retrieval.index.build_report import Log
from retrieval.split.language import ENGLISH, Language
from retrieval.split.segment import MAX_RUN_ON_CHARS, segment
from retrieval.split.terms import acronym_key, acronyms, sentence_terms, terms_of
from retrieval.types import Document, Passage

#: Passages are encoded up to the length the default model was trained on: as good for
#: ranking as its 256-token limit on SQuAD and the seeds, and about half the indexing time.
PASSAGE_TOKENS = 128
#: Documents are segmented, embedded and stored this many sentences at a time (bounded memory).
CHUNK_SENTENCES = 20_000
#: The language check (``split.language_check``) reads about this many of a build's new
#: sentences, at most ``SAMPLE_SENTENCES_PER_DOCUMENT`` from each document so that one long
#: article does not speak for the corpus.
SAMPLE_SENTENCES = 400
SAMPLE_SENTENCES_PER_DOCUMENT = 40
#: Texts go to the encoder at most about this many characters at a time: its tokenizer holds
#: every text of a call at once (a one-line 49 MB file went to it whole and took 23 GB).
#: A chunk of ordinary articles stays under it, so its texts are encoded as one call.
ENCODE_SLICE_CHARS = 8_000_000


def passage_text(document: Document, passage: Passage) -> str:
    """What represents a passage to the encoder: title plus text."""
    body = document.text[passage.start : passage.end]
    return f"{document.title}\n{body}" if document.title else body


def store_documents(
    conn: sqlite3.Connection,
    folder: Path,
    todo: list[tuple[Document, str, str | None]],
    settings: EngineSettings,
    encoder: Encoder,
    say: Log,
    language: Language,
    *,
    batched: bool = False,
) -> list[str]:
    """Segment, embed and store ``todo`` in chunks (``batched``: one transaction per chunk).

    Returns the first sentences stored (``SAMPLE_SENTENCES``): what the language check reads.
    """
    sample: list[str] = []
    if not todo:
        return sample
    total = sum(len(doc.text) for doc, _h, _f in todo)
    say(f"segmenting and embedding {len(todo)} documents ({total:,} characters)")
    bar = _progress(settings.progress, total)
    chunk: list[store_write.NewDocument] = []
    sentences_in_chunk = 0
    try:
        for doc, digest, source_file in todo:
            item = prepare_document(
                doc, digest, source_file, settings.passage_sentences, say, language
            )
            if len(sample) < SAMPLE_SENTENCES:
                sample.extend(s.text for s in item.sentences[:SAMPLE_SENTENCES_PER_DOCUMENT])
            chunk.append(item)
            sentences_in_chunk += len(item.sentences)
            if sentences_in_chunk >= CHUNK_SENTENCES:
                _write_chunk(conn, folder, chunk, encoder, batched, language)
                if bar is not None:
                    bar.update(sum(len(i.document.text) for i in chunk))
                chunk, sentences_in_chunk = [], 0
        if chunk:
            _write_chunk(conn, folder, chunk, encoder, batched, language)
            if bar is not None:
                bar.update(sum(len(i.document.text) for i in chunk))
    finally:
        if bar is not None:
            bar.close()
    return sample


def _progress(enabled: bool, total: int) -> Any:
    if not enabled or total < 200_000:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="char", unit_scale=True, desc="indexing", leave=False)


def prepare_document(
    doc: Document,
    digest: str,
    source_file: str | None,
    passage_sentences: int,
    say: Log,
    language: Language = ENGLISH,
) -> store_write.NewDocument:
    """``doc`` segmented into sentences and passages, with their terms and acronyms."""
    left_out: list[tuple[int, int]] = []
    sentences, passages = segment(
        doc, passage_sentences=passage_sentences, left_out=left_out, language=language.code
    )
    if left_out:
        chars = sum(end - start for start, end in left_out)
        say(
            f"partly indexed {doc.id}: {chars:,} characters were not indexed, in runs of more "
            f"than {MAX_RUN_ON_CHARS:,} characters without a sentence end"
        )
    s_terms = [sentence_terms(s.text, language) for s in sentences]
    title_terms = frozenset(terms_of(doc.title, language)) if doc.title else frozenset()
    p_terms = [
        frozenset().union(*s_terms[p.first_sentence : p.last_sentence + 1], title_terms)
        for p in passages
    ]
    defined = acronyms((s.text for s in sentences), language)
    return store_write.NewDocument(
        document=doc,
        content_hash=digest,
        source_file=source_file,
        sentences=sentences,
        passages=passages,
        sentence_terms=s_terms,
        passage_terms=p_terms,
        acronyms=tuple(defined.items()),
    )


def _write_chunk(
    conn: sqlite3.Connection,
    folder: Path,
    items: list[store_write.NewDocument],
    encoder: Encoder,
    batched: bool,
    language: Language,
) -> None:
    sentence_texts = [s.text for item in items for s in item.sentences]
    passage_texts = [passage_text(item.document, p) for item in items for p in item.passages]
    s_vectors = _encode(encoder, sentence_texts)
    p_vectors = _encode(encoder, passage_texts, max_tokens=PASSAGE_TOKENS)
    vectors.append(folder / vectors.SENTENCES_FILE, s_vectors)
    vectors.append(folder / vectors.PASSAGES_FILE, p_vectors)
    keys = {a: acronym_key(a, language) for item in items for a, _name in item.acronyms}
    if batched:
        with transaction(conn):
            store_write.insert_documents(
                conn, items, acronym_key=keys, language=language, folder=folder
            )
    else:
        store_write.insert_documents(
            conn, items, acronym_key=keys, language=language, folder=folder
        )


def _encode(encoder: Encoder, texts: list[str], *, max_tokens: int | None = None) -> np.ndarray:
    """Vectors of ``texts``, encoded in slices of about ``ENCODE_SLICE_CHARS`` characters."""
    if not texts:
        return np.zeros((0, encoder.identity.dimension), dtype=np.float32)
    slices: list[np.ndarray] = []
    first, chars = 0, 0
    for index, text in enumerate(texts):
        chars += len(text)
        if chars >= ENCODE_SLICE_CHARS:
            slices.append(encoder.encode(texts[first : index + 1], max_tokens=max_tokens))
            first, chars = index + 1, 0
    if first < len(texts):
        slices.append(encoder.encode(texts[first:], max_tokens=max_tokens))
    return slices[0] if len(slices) == 1 else np.concatenate(slices)
