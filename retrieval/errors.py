"""Domain errors. Each message says what was wrong and what to do about it."""

from __future__ import annotations

from typing import Literal


class VerbatimError(Exception):
    """Base of every error a face may show to a person (never with a traceback)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CorpusError(VerbatimError):
    """The corpus path is missing or holds nothing that can be indexed."""


class IndexMissingError(VerbatimError):
    """No index at the directory given."""


class IndexMismatchError(VerbatimError):
    """The index was built with another model, schema or settings."""


class IndexCorruptError(VerbatimError):
    """The index files are unreadable or inconsistent."""


class IndexPathError(VerbatimError):
    """The index path cannot hold an index: a file, or something else where the manifest goes."""


class StoreUnavailableError(VerbatimError):
    """The store's server (Milvus) cannot be reached; nothing was read or written."""


class IndexWriteError(VerbatimError):
    """Writing the index failed (disk full, permissions); the previous index is unchanged."""


def rebuild_hint(index_dir: str, corpus: str | None = None) -> str:
    """The command that (re)builds an index, for error messages."""
    corpus_arg = corpus if corpus else "PATH/TO/ARTICLES"
    return f"verbatim index {corpus_arg} --index {index_dir} --rebuild"


def not_a_folder(index_dir: str) -> str:
    """The message for an index path that is a file."""
    return (
        f"The index path {index_dir} is a file, not a folder. Give --index a folder (a missing "
        "one is made), or move the file away."
    )


#: Why an article sent in (a link or a file) was not added.
RefusalKind = Literal[
    "too_big",
    "unsupported",
    "unreachable",
    "private_address",
    "duplicate",
    "no_text",
    "not_allowed",
]


class ArticleRefused(VerbatimError):
    """An article sent in was not added; ``kind`` says why, the message says it in one line."""

    def __init__(self, kind: RefusalKind, message: str) -> None:
        super().__init__(message)
        self.kind: RefusalKind = kind
