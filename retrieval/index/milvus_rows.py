"""The rows a sync writes into Milvus: each new document with its sentences, passages, text,
posting lists and acronyms, and the term frequencies a version changes.

Every row is marked ``added = new`` (the version being written); readers see it only once a
``meta`` row names that version (see ``retrieval.index.milvus_sync``). Vectors come from the
embedded index's vector files, the rest from its SQLite store, read in the sync's snapshot.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from retrieval.index import milvus_schema as ms
from retrieval.index import store, vectors
from retrieval.split.language import Language


def document_key(idx: int, first_sentence: int, first_passage: int) -> str:
    """A document's key in Milvus: positions are never reused, so a changed document has a
    new one."""
    return f"{idx}:{first_sentence}:{first_passage}"


def insert(client: Any, collection: str, rows: Iterable[dict[str, Any]]) -> None:
    """Upsert ``rows`` into ``collection``, ``ms.INSERT_CHUNK`` at a time."""
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == ms.INSERT_CHUNK:
            client.upsert(collection, batch)
            batch = []
    if batch:
        client.upsert(collection, batch)


def write_documents(
    client: Any,
    names: dict[str, str],
    conn: sqlite3.Connection,
    generation: Path,
    current: Any,
    dim: int,
    documents: Sequence[dict[str, Any]],
    new: int,
    language: Language,
) -> set[str]:
    """Write ``documents`` with all their rows; returns the stored terms they hold.

    ``language`` is the index's: posting lists hold the tokens its full-text tables hold.
    """
    s_vectors = vectors.open_rows(generation / vectors.SENTENCES_FILE, current.sentence_rows, dim)
    p_vectors = vectors.open_rows(generation / vectors.PASSAGES_FILE, current.passage_rows, dim)
    tokenizer = ms.Tokenizer(language)
    terms: set[str] = set()
    for doc in documents:
        key = document_key(doc["idx"], doc["first_sentence"], doc["first_passage"])
        s0, p0 = doc["first_sentence"], doc["first_passage"]
        sentences = conn.execute(
            "SELECT pos, doc, ordinal, passage, start, end, text, terms FROM sentences "
            "WHERE pos BETWEEN ? AND ? ORDER BY pos",
            (s0, s0 + doc["sentence_count"] - 1),
        ).fetchall()
        passages = conn.execute(
            "SELECT pos, doc, ordinal, start, end, first, last, terms FROM passages "
            "WHERE pos BETWEEN ? AND ? ORDER BY pos",
            (p0, p0 + doc["passage_count"] - 1),
        ).fetchall()
        (text,) = conn.execute("SELECT text FROM documents WHERE idx = ?", (doc["idx"],)).fetchone()
        insert(client, names["sentences"], _sentence_rows(sentences, s_vectors))
        insert(client, names["passages"], _passage_rows(passages, p_vectors))
        for row in sentences:
            terms.update(row[7].split())
        for row in passages:
            terms.update(row[7].split())
        body = {k: v for k, v in doc.items() if k not in ("idx", "id")}
        insert(
            client,
            names["documents"],
            [
                {
                    "key": key,
                    "idx": doc["idx"],
                    "id": doc["id"],
                    "body": json.dumps(body),
                    "added": new,
                    "_unused": ms.UNUSED_VECTOR,
                }
            ],
        )
        insert(client, names["doc_text"], _text_rows(key, str(text), new))
        postings = [
            ("s", tokenizer.tokens((int(r[0]), str(r[6])) for r in sentences)),
            ("p", tokenizer.tokens((int(r[0]), str(text)[r[3] : r[4]]) for r in passages)),
        ]
        insert(client, names["postings"], _posting_rows(key, postings, new))
        acronyms = conn.execute(
            "SELECT acronym, key, term FROM acronyms WHERE doc = ?", (doc["idx"],)
        ).fetchall()
        insert(
            client,
            names["acronyms"],
            [
                {
                    "key": f"{key}|{i}",
                    "dockey": key,
                    "acronym": acronym,
                    "akey": akey,
                    "term": term,
                    "added": new,
                    "_unused": ms.UNUSED_VECTOR,
                }
                for i, (acronym, akey, term) in enumerate(acronyms)
            ],
        )
    return terms


def _sentence_rows(rows: list[tuple], matrix: Any) -> Iterable[dict[str, Any]]:
    for pos, doc, ordinal, passage, start, end, text, terms in rows:
        yield {
            "pos": pos,
            "doc": doc,
            "ordinal": ordinal,
            "passage": passage,
            "start": start,
            "end": end,
            "text": ms.pack(text),
            "terms": ms.pack(terms),
            "vector": matrix[pos].tolist(),
        }


def _passage_rows(rows: list[tuple], matrix: Any) -> Iterable[dict[str, Any]]:
    for pos, doc, ordinal, start, end, first, last, terms in rows:
        yield {
            "pos": pos,
            "doc": doc,
            "ordinal": ordinal,
            "start": start,
            "end": end,
            "first": first,
            "last": last,
            "terms": ms.pack(terms),
            "vector": matrix[pos].tolist(),
        }


def _text_rows(key: str, text: str, new: int) -> Iterable[dict[str, Any]]:
    for chunk, at in enumerate(range(0, max(len(text), 1), ms.TEXT_CHUNK_CHARS)):
        yield {
            "key": f"{key}#{chunk}",
            "dockey": key,
            "chunk": chunk,
            "text": text[at : at + ms.TEXT_CHUNK_CHARS],
            "added": new,
            "_unused": ms.UNUSED_VECTOR,
        }


def _posting_rows(
    key: str, postings: list[tuple[str, dict[str, list[int]]]], new: int
) -> Iterable[dict[str, Any]]:
    for kind, tokens in postings:
        for token, positions in tokens.items():
            for chunk, at in enumerate(range(0, len(positions), ms.POSTING_CHUNK)):
                yield {
                    "key": f"{kind}|{key}|{token}|{chunk}",
                    "token": f"{kind}:{token}",
                    "dockey": key,
                    "positions": positions[at : at + ms.POSTING_CHUNK],
                    "added": new,
                    "_unused": ms.UNUSED_VECTOR,
                }


def write_term_df(
    client: Any, collection: str, conn: sqlite3.Connection, terms: list[str], new: int
) -> None:
    """A frequency row ``(term, new)`` for each of ``terms`` (0, 0 for one no longer held)."""
    df = {t: (0, 0) for t in terms}
    for chunk in ms.chunks(terms, store.IN_CHUNK):
        marks = ",".join("?" * len(chunk))
        for term, s, p in conn.execute(
            f"SELECT term, sentences, passages FROM term_df WHERE term IN ({marks})", chunk
        ):
            df[str(term)] = (int(s), int(p))
    insert(
        client,
        collection,
        (
            {
                "key": f"{term}|{new}",
                "term": term,
                "sentences": s,
                "passages": p,
                "added": new,
                "_unused": ms.UNUSED_VECTOR,
            }
            for term, (s, p) in df.items()
        ),
    )
