"""The import graph of the product: no cycles, no test code imported by the product, and the
stages of ``retrieval/`` importing only the stages before them.

Every module under ``bot/``, ``retrieval/`` and ``embeddings/`` is parsed (not imported), and
every ``import`` in it counts, wherever it stands: at module level, inside a function (a lazy
import) or under ``if TYPE_CHECKING:``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "retrieval", "embeddings")
#: Imports of these (or anything inside them) are test code.
TEST_CODE = ("tests", "bot.testing")
#: Where a module lies, for the tests below (bot/testing moved to tests/support/telegram).
AREAS = ["embeddings", "retrieval", "bot"]


def module_files(root: Path = REPO) -> dict[str, Path]:
    """Every module of the packages by dotted name (a package by its ``__init__.py``)."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imported_names(module: str, path: Path) -> set[str]:
    """The dotted names ``module`` imports: ``from a.b import c`` gives ``a.b.c``.

    That is module ``a.b.c`` if there is one, else the name ``c`` of module ``a.b`` (see
    :func:`resolve`); ``a.b``'s own ``__init__`` runs either way, as for any submodule import.
    """
    is_package = path.name == "__init__.py"
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the module's package, one level up per extra dot
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                parent = ".".join([*base, *([node.module] if node.module else [])])
            else:
                parent = node.module or ""
            names.update(f"{parent}.{alias.name}" for alias in node.names)
    return names


def resolve(name: str, modules: Iterable[str]) -> str | None:
    """The project module ``name`` refers to (``a.b.func`` is ``a.b``), or None if not ours."""
    known = set(modules)
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph(files: Mapping[str, Path]) -> dict[str, set[str]]:
    """Project module -> the project modules it imports (itself left out)."""
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        targets = {resolve(name, files) for name in imported_names(module, path)}
        graph[module] = {t for t in targets if t is not None and t != module}
    return graph


def import_cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def area(module: str) -> str:
    return module.split(".")[0]


def is_test_code(name: str) -> bool:
    return any(name == prefix or name.startswith(f"{prefix}.") for prefix in TEST_CODE)


FILES = module_files()
GRAPH = import_graph(FILES)


@pytest.mark.parametrize("where", AREAS)
def test_no_import_cycles(where: str) -> None:
    cycles = [cycle for cycle in import_cycles(GRAPH) if any(area(m) == where for m in cycle)]
    assert cycles == []


@pytest.mark.parametrize("where", AREAS)
def test_the_product_never_imports_test_code(where: str) -> None:
    found = sorted(
        (module, name)
        for module, path in FILES.items()
        if area(module) == where
        for name in imported_names(module, path)
        if is_test_code(name)
    )
    assert found == []


def test_the_walk_sees_lazy_relative_and_type_checking_imports(tmp_path: Path) -> None:
    """The checks above can fail: a made-up package with each kind of import and a cycle."""
    package = tmp_path / "retrieval"
    package.mkdir()
    (package / "__init__.py").write_text("from .a import thing\n")
    (package / "a.py").write_text("def thing():\n    from retrieval import b\n")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import c\n"
    )
    (package / "c.py").write_text("import retrieval.a\nimport tests.support\n")
    files = module_files(tmp_path)
    graph = import_graph(files)
    assert graph["retrieval"] == {"retrieval.a"}
    assert graph["retrieval.a"] == {"retrieval.b"}
    assert graph["retrieval.b"] == {"retrieval.c"}
    assert graph["retrieval.c"] == {"retrieval.a"}
    assert import_cycles(graph) == [["retrieval.a", "retrieval.b", "retrieval.c"]]
    assert [n for n in imported_names("retrieval.c", files["retrieval.c"]) if is_test_code(n)] == [
        "tests.support"
    ]


def test_the_real_graph_holds_the_known_imports() -> None:
    assert {"bot.settings", "retrieval.errors"} <= GRAPH["bot.cli"]
    assert "retrieval.evaluation.gold" in GRAPH["retrieval.evaluation.squad"]
    assert "embeddings" in GRAPH["retrieval.config"]
    assert "retrieval.index.view" in GRAPH["retrieval.search.coverage"]
    assert "retrieval.search.ranker" in GRAPH["retrieval.search.candidates"]


#: The stages of ``retrieval/`` in pipeline order: a stage imports only itself and earlier ones.
STAGES = ("read", "split", "index", "search", "answer", "evaluation", "learn")
#: The contracts every stage may import (the package itself: ``from retrieval import x``); the
#: corpus language is one (the settings check its code, every stage reads in it).
SHARED = (
    "retrieval",
    "retrieval.types",
    "retrieval.config",
    "retrieval.errors",
    "retrieval.split.language",
)
#: The facade the faces hold; it stands on these stages, and only evaluation stands on it.
ENGINE = "retrieval.engine"
ENGINE_STANDS_ON = ("index", "search", "answer")


def place(module: str) -> str | None:
    """Where a ``retrieval`` module stands: a stage, "shared" or "engine" (None: nowhere)."""
    if module in SHARED:
        return "shared"
    if module == ENGINE:
        return "engine"
    parts = module.split(".")
    if len(parts) > 1 and parts[0] == "retrieval" and parts[1] in STAGES:
        return parts[1]
    return None


def may_import(module: str, target: str) -> bool:
    """Whether ``retrieval`` module ``module`` may import ``target`` (any module of ours)."""
    if area(target) == "bot":
        return False
    if area(target) != "retrieval" or place(target) == "shared":
        return True
    here, there = place(module), place(target)
    if here == "shared" or here is None or there is None:
        return False
    if here == "engine":
        return there in ENGINE_STANDS_ON
    if there == "engine":
        return here == "evaluation"
    return STAGES.index(there) <= STAGES.index(here)


def layering_problems(graph: Mapping[str, set[str]]) -> list[str]:
    """Every import under ``retrieval/`` that goes against the pipeline's order."""
    problems = []
    for module in sorted(m for m in graph if area(m) == "retrieval"):
        if place(module) is None:
            problems.append(f"{module} is in no stage")
        problems += [
            f"{module} imports {target}"
            for target in sorted(graph[module])
            if not may_import(module, target)
        ]
    return problems


def test_retrieval_stages_import_only_earlier_stages() -> None:
    assert layering_problems(GRAPH) == []


def test_the_stage_folders_are_the_stages() -> None:
    """A new folder under retrieval/ must take its place in STAGES (and so in the checks)."""
    folders = {p.parent.name for p in (REPO / "retrieval").glob("*/__init__.py")}
    assert folders == set(STAGES)


def test_the_layering_check_finds_backward_edges() -> None:
    graph = {
        "retrieval.read.readers": {"retrieval.types", "retrieval.read.dates"},
        "retrieval.split.segment": {"retrieval.read.cleaning", "embeddings"},
        "retrieval.index.loaded": {"retrieval.search.coverage", "retrieval.index.store"},
        "retrieval.types": {"retrieval.read.readers"},
        "retrieval.engine": {"retrieval.answer.answering", "retrieval.read.readers"},
        "retrieval.answer.answering": {"retrieval.engine", "bot.render_text"},
        "retrieval.evaluation.runner": {"retrieval.engine", "retrieval.answer.answering"},
        "retrieval.stray": set(),
        "bot.cli": {"retrieval.index.build"},
    }
    assert layering_problems(graph) == [
        "retrieval.answer.answering imports bot.render_text",
        "retrieval.answer.answering imports retrieval.engine",
        "retrieval.engine imports retrieval.read.readers",
        "retrieval.index.loaded imports retrieval.search.coverage",
        "retrieval.stray is in no stage",
        "retrieval.types imports retrieval.read.readers",
    ]


#: What stands above the store boundary: it sees an index only through these modules.
ABOVE_THE_STORE = ("retrieval.search", "retrieval.answer", "retrieval.engine")
#: The store-neutral part of ``retrieval.index`` (``stores`` opens an index: the engine only).
STORE_NEUTRAL = ("retrieval.index.view", "retrieval.index.rows", "retrieval.index.manifest")
OPENS_INDEXES = {"retrieval.engine": ("retrieval.index.stores",)}
#: Libraries of a store: SQLite, FAISS.
STORE_LIBRARIES = ("sqlite3", "faiss")


def store_leaks(files: Mapping[str, Path], graph: Mapping[str, set[str]]) -> list[str]:
    """Imports above the store boundary of a store's own modules or libraries."""
    leaks = []
    for module in sorted(files):
        if not any(module == top or module.startswith(f"{top}.") for top in ABOVE_THE_STORE):
            continue
        allowed = STORE_NEUTRAL + OPENS_INDEXES.get(module, ())
        leaks += [
            f"{module} imports {target}"
            for target in sorted(graph[module])
            if target.startswith("retrieval.index.") and target not in allowed
        ]
        leaks += [
            f"{module} imports {name}"
            for name in sorted(imported_names(module, files[module]))
            if name.split(".")[0] in STORE_LIBRARIES
        ]
    return leaks


def test_search_answer_and_engine_see_the_index_only_through_the_view() -> None:
    assert store_leaks(FILES, GRAPH) == []


def test_the_store_boundary_check_finds_leaks(tmp_path: Path) -> None:
    package = tmp_path / "retrieval"
    for folder in ("index", "search"):
        (package / folder).mkdir(parents=True)
        (package / folder / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    for name in ("view", "store", "loaded", "stores"):
        (package / "index" / f"{name}.py").write_text("")
    (package / "search" / "good.py").write_text("from retrieval.index.view import IndexView\n")
    (package / "search" / "bad.py").write_text(
        "import sqlite3\nfrom retrieval.index import store\nfrom faiss import IndexFlatIP\n"
    )
    (package / "search" / "opens.py").write_text("from retrieval.index.stores import open_index\n")
    (package / "engine.py").write_text(
        "from retrieval.index.stores import open_index\nfrom retrieval.index.loaded import X\n"
    )
    files = module_files(tmp_path)
    assert store_leaks(files, import_graph(files)) == [
        "retrieval.engine imports retrieval.index.loaded",
        "retrieval.search.bad imports retrieval.index.store",
        "retrieval.search.bad imports faiss.IndexFlatIP",
        "retrieval.search.bad imports sqlite3",
        "retrieval.search.opens imports retrieval.index.stores",
    ]
