"""Package code checks with ``if`` and raises a domain error, never with ``assert``.

``python -O`` removes asserts, and an AssertionError tells the person nothing they can act on.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FOLDERS = [
    Path("embeddings"),
    Path("retrieval"),
    Path("bot"),
    Path("bot/telegram"),
]
#: Folders checked on their own, left out of the folder above them.
NESTED = (Path("bot/telegram"),)


def asserts_in(folder: Path, root: Path = REPO) -> list[str]:
    """``path:line`` of every assert statement under ``root / folder``."""
    found = []
    for path in sorted((root / folder).rglob("*.py")):
        relative = path.relative_to(root)
        if any(relative.is_relative_to(n) for n in NESTED if n != folder):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found += [f"{relative}:{n.lineno}" for n in ast.walk(tree) if isinstance(n, ast.Assert)]
    return found


@pytest.mark.parametrize("folder", FOLDERS, ids=str)
def test_no_assert_in_package_code(folder: Path) -> None:
    assert asserts_in(folder) == []


def test_the_search_finds_asserts(tmp_path: Path) -> None:
    (tmp_path / "bot" / "telegram").mkdir(parents=True)
    (tmp_path / "bot" / "a.py").write_text("def f(x):\n    if x:\n        assert x, 'no'\n")
    (tmp_path / "bot" / "telegram" / "b.py").write_text("assert True\n")
    assert asserts_in(Path("bot"), tmp_path) == ["bot/a.py:3"]
    assert asserts_in(Path("bot/telegram"), tmp_path) == ["bot/telegram/b.py:1"]
