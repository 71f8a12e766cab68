"""Opening an index for answering, in the store that holds it.

The engine opens indexes only through :func:`open_index`, and sees them only through
``retrieval.index.view``: a second store (a vector database beside the embedded one) is a
second implementation of ``OpenIndex`` chosen here, with nothing above this line changed.
"""

from __future__ import annotations

from pathlib import Path

from embeddings import Encoder
from retrieval.config import EngineSettings
from retrieval.index.loaded import LoadedIndex
from retrieval.index.view import OpenIndex


def open_index(
    index_dir: Path, settings: EngineSettings, *, encoder: Encoder | None = None
) -> OpenIndex:
    """Open the index at ``index_dir`` in the store ``settings.store`` names.

    The embedded store reads the index folder; the Milvus store (``milvus_view``) reads only
    the Milvus server at ``settings.milvus_uri`` (StoreUnavailableError when it cannot be reached).

        Raises IndexMissingError, IndexMismatchError or IndexCorruptError (all VerbatimError,
        with a ``message`` naming the command that rebuilds the index). ``encoder`` is reused when
        given (a reopened index keeps the loaded model).
    """
    if settings.store == "milvus":
        from retrieval.index.milvus_view import MilvusIndex

        return MilvusIndex.open(index_dir, settings, encoder=encoder)
    return LoadedIndex.open(index_dir, settings, encoder=encoder)
