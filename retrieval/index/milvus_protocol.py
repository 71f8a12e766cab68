"""What the reader and its mixins need of an open Milvus index, as a protocol.

``milvus_view.MilvusIndex`` is the implementation; it imports the reader, so the reader,
``milvus_docs`` and ``milvus_terms`` see it only through :class:`OpenMilvusIndex` (one
definition, no import cycle).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from retrieval.index import milvus_schema as ms
from retrieval.index.manifest import Manifest
from retrieval.index.milvus_consistency import Consistency
from retrieval.index.milvus_term_table import TermTables
from retrieval.split.language import Language


class OpenMilvusIndex(Protocol):
    """An open Milvus index as one answer's reader uses it."""

    client: Any
    tokenizer: ms.Tokenizer
    manifest: Manifest
    language: Language
    names: dict[str, str]
    metric: str
    pool: ThreadPoolExecutor
    terms: TermTables
    consistency: Consistency

    def call(self, work: Callable[[], Any]) -> Any: ...

    def shared(self, version: int) -> dict[str, dict[Any, Any]] | None: ...
