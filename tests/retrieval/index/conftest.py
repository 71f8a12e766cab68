"""Fixtures of the index tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.index import build_changes
from retrieval.types import Document


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files each build reads, in order (cleared by the test between builds)."""
    read: list[str] = []
    real_read = build_changes.read_file

    def counting(file: Path, rel: str, skipped: list) -> list[Document]:
        read.append(rel)
        return real_read(file, rel, skipped)

    monkeypatch.setattr(build_changes, "read_file", counting)
    return read
