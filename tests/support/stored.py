"""The documents an index holds, read straight from its current generation's store.

The oracle for quotes: a quote is right when it equals its document's stored text at its
offsets.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from retrieval.index import manifest as mf
from retrieval.index import store, store_read
from retrieval.types import Document


def stored_documents(index_dir: Path) -> dict[str, Document]:
    """Every document of the index at ``index_dir`` as stored (text, pages), by id."""
    path = mf.generation_dir(index_dir, mf.read(index_dir)) / store.STORE_FILE
    with contextlib.closing(store.connect(path, readonly=True)) as conn:
        documents = [
            store_read.stored_document(conn, i)[0] for i in store_read.document_indexes(conn)
        ]
    return {document.id: document for document in documents}
