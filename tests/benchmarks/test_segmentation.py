"""The segmentation benchmark's pysbd comparison: a test extra, never a product dependency."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from benchmarks.segmentation import PYSBD_INSTALL, pysbd_line
from retrieval.types import Document

REPO = Path(__file__).resolve().parents[2]
DOCUMENTS = [Document(id="a", text="One sentence here. Another one there.\n\nA third.")]


def _names(requirements: list[str]) -> set[str]:
    return {req.split(">")[0].split("=")[0].split("[")[0].strip().lower() for req in requirements}


def test_pysbd_is_a_test_extra_not_a_runtime_dependency() -> None:
    """Issue 9: pysbd was installed with the product though only this benchmark uses it."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "pysbd" not in _names(project["dependencies"])
    assert "pysbd" in _names(project["optional-dependencies"]["test"])


def test_without_pysbd_the_benchmark_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "pysbd", None)  # importing it now raises ImportError
    assert PYSBD_INSTALL in pysbd_line(DOCUMENTS)


def test_with_pysbd_the_benchmark_compares_speeds() -> None:
    pytest.importorskip("pysbd")
    assert pysbd_line(DOCUMENTS).endswith("sentences/s (for comparison)")
