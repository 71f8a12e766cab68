"""Values the product must agree on are written once and imported where needed.

The decline threshold was written in two places and the not-found sentence in three, so
changing one copy would leave the faces disagreeing with the engine.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from retrieval.answer.answering import NOT_FOUND_MESSAGE
from retrieval.config import HAND_MIN_RELEVANCE

REPO = Path(__file__).resolve().parents[1]
#: Where each value is defined.
HOME = {
    NOT_FOUND_MESSAGE: Path("retrieval/answer/answering.py"),
    HAND_MIN_RELEVANCE: Path("retrieval/config.py"),
}
FOLDERS = [Path("embeddings"), Path("retrieval"), Path("bot"), Path("bot/telegram")]
CASES = [
    pytest.param(
        value,
        folder,
        id=f"{type(value).__name__}-{folder}",
    )
    for value in HOME
    for folder in FOLDERS
]


def literal_copies(value: object, folder: Path) -> list[str]:
    """Files under ``folder`` (not in a subfolder listed in FOLDERS) that spell out ``value``."""
    nested = {other for other in FOLDERS if other != folder and other.is_relative_to(folder)}
    found = []
    for path in sorted((REPO / folder).rglob("*.py")):
        relative = path.relative_to(REPO)
        if relative == HOME[value] or any(relative.is_relative_to(n) for n in nested):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(
            isinstance(node, ast.Constant)
            and type(node.value) is type(value)
            and node.value == value
            for node in ast.walk(tree)
        ):
            found.append(str(relative))
    return found


@pytest.mark.parametrize(("value", "folder"), CASES)
def test_shared_values_are_written_once(value: object, folder: Path) -> None:
    assert literal_copies(value, folder) == []


def test_the_home_files_do_define_them() -> None:
    """The literal search matches what the home files hold."""
    for value, home in HOME.items():
        tree = ast.parse((REPO / home).read_text(encoding="utf-8"))
        assert any(isinstance(n, ast.Constant) and n.value == value for n in ast.walk(tree))
