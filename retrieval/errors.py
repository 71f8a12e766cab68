"""Domain errors. Each message says what was wrong and what to do about it."""

from __future__ import annotations


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
