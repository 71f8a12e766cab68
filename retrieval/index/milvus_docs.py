"""The Milvus store's document reads: documents by position or id, their texts, their keys.

Part of :class:`~retrieval.index.milvus_reader.MilvusReader`. A document row holds its
metadata as JSON (``body``); its text lies in ``doc_text`` chunks under the document's key.
Both are kept for the answer and between answers while the version stands.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from retrieval.index import milvus_schema as ms
from retrieval.index.milvus_protocol import OpenMilvusIndex
from retrieval.index.milvus_sync import query_all
from retrieval.index.rows import DocumentRow, Stats
from retrieval.types import Source

#: Posting lists are read by key (per live document) for at most this many documents.
PROBE_DOCUMENTS = 2_000


class MilvusDocuments:
    """Documents and texts of one answer's version (mixed into the reader)."""

    index: OpenMilvusIndex
    client: Any
    names: dict[str, str]
    version: int
    retired_docs: frozenset[str]
    _stats: Stats
    _documents: dict[int, DocumentRow]
    _keys: dict[int, str]

    def cache(self, name: str) -> dict[Any, Any]:
        raise NotImplementedError

    def document_keys(self) -> list[str] | None:
        """The keys of every live document (read once per version), or None when there are
        more than PROBE_DOCUMENTS (then posting lists are read by filter)."""
        if self._stats.documents > PROBE_DOCUMENTS:
            return None
        shared = self.cache("dockeys")
        keys = shared.get(self.version)
        if keys is None:
            keys = [self._keys[d.idx] for d in self._document_rows("idx >= 0")]
            shared[self.version] = keys
        return list(keys)

    # -- documents -------------------------------------------------------------------------

    def _document_rows(self, rule: str) -> list[DocumentRow]:
        rows = self.index.call(
            lambda: query_all(
                self.client,
                self.names["documents"],
                f"({rule}) and added <= {self.version}",
                ["key", "idx", "id", "body"],
            )
        )
        shared = self.cache("docs")
        found = []
        for r in rows:
            if r["key"] in self.retired_docs:
                continue
            body = json.loads(r["body"])
            doc = DocumentRow(
                idx=int(r["idx"]),
                source=Source(id=r["id"], title=body["title"], date=body["date"], url=body["url"]),
                chars=body["chars"],
                first_sentence=body["first_sentence"],
                sentence_count=body["sentence_count"],
                first_passage=body["first_passage"],
                passage_count=body["passage_count"],
                pages=tuple(body["pages"]),
            )
            self._documents[doc.idx] = doc
            self._keys[doc.idx] = str(r["key"])
            shared[doc.idx] = (doc, str(r["key"]))
            found.append(doc)
        return found

    def documents(self, indexes: Sequence[int]) -> None:
        shared = self.cache("docs")
        missing = []
        for idx in sorted({int(i) for i in indexes if i not in self._documents}):
            held = shared.get(idx)
            if held is not None:
                self._documents[idx], self._keys[idx] = held
            else:
                missing.append(idx)
        for chunk in ms.chunks(missing):
            self._document_rows(f"idx in {chunk}")

    def document(self, idx: int) -> DocumentRow:
        self.documents([idx])
        return self._documents[idx]

    def document_by_id(self, doc_id: str) -> DocumentRow | None:
        found = self._document_rows(f"id == {ms.quoted(doc_id)}")
        return found[0] if found else None

    def all_documents(self, *, limit: int | None = None) -> list[DocumentRow]:
        found = sorted(self._document_rows("idx >= 0"), key=lambda d: d.source.id)
        return found if limit is None else found[:limit]

    def text(self, idx: int) -> str:
        texts = self.cache("texts")
        if idx in texts:
            return str(texts[idx])
        self.document(idx)
        key = self._keys[idx]
        rows = self.index.call(
            lambda: query_all(
                self.client,
                self.names["doc_text"],
                f"dockey == {ms.quoted(key)}",
                ["chunk", "text"],
            )
        )
        text = "".join(r["text"] for r in sorted(rows, key=lambda r: r["chunk"]))
        texts[idx] = text
        return text
