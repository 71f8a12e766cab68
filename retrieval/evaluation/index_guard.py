"""Keeps a question set's own articles (SQuAD) from replacing an index of another corpus.

Building documents into a folder makes its index hold exactly those documents: every other one
is removed. So a folder the user named is used only when it holds no index yet, or an index of
nothing but these articles (a previous run over the same file).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from embeddings import Encoder
from retrieval.config import EngineSettings
from retrieval.engine import Engine
from retrieval.errors import VerbatimError
from retrieval.index.manifest import MANIFEST_FILE
from retrieval.types import Document

#: Ids of other documents quoted in the refusal.
SHOWN_IDS = 3
#: What the refusal tells the user to do instead.
INSTEAD = (
    "Drop --index (eval then indexes the articles in a cache folder of their own) or give "
    "--index a new folder."
)


class ForeignIndexError(VerbatimError):
    """The index folder holds documents that building a question set's articles would remove."""


def check_holds_only(
    index_dir: Path,
    documents: Sequence[Document],
    settings: EngineSettings,
    *,
    encoder: Encoder,
    source: Path,
) -> None:
    """Raise ForeignIndexError unless ``index_dir`` has no index or one of ``documents`` only.

    ``source`` is the file the documents come from, for the message. An index that cannot be
    opened with ``settings`` (another model, damaged) is refused too: a build would replace it.
    """
    if not (index_dir / MANIFEST_FILE).exists():
        return
    try:
        engine = Engine.open(index_dir, settings, encoder=encoder)
    except VerbatimError as exc:
        raise ForeignIndexError(
            f"{index_dir} already holds an index that cannot be checked with these settings "
            f"({exc.message}), and building the articles of {source} there would replace it. "
            f"{INSTEAD}"
        ) from exc
    try:
        held = [item.source.id for item in engine.sources()]
    finally:
        engine.close()
    own = {document.id for document in documents}
    others = [doc_id for doc_id in held if doc_id not in own]
    if others:
        shown = ", ".join(repr(doc_id) for doc_id in others[:SHOWN_IDS])
        more = f" and {len(others) - SHOWN_IDS} more" if len(others) > SHOWN_IDS else ""
        raise ForeignIndexError(
            f"{index_dir} already holds an index of other documents ({shown}{more}); building "
            f"the articles of {source} there would replace it. {INSTEAD}"
        )
