"""A damaged or odd index folder, seen through the ``verbatim`` command line.

Found by hostile testing: each of these printed a traceback (or, once the command line caught
everything, "unexpected error"). Each must end in a message that says what to do, or in a
build that copes.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from bot import cli
from retrieval.index import manifest as mf
from retrieval.index import row_files, store

REPO = Path(__file__).resolve().parents[3]
QUESTION = "Who is Lynn Maalouf?"
#: Deeper than Python's recursion limit (the reader used to recurse per folder).
CORPUS_DEPTH = 1_200


@pytest.fixture
def index(tmp_path: Path, seeds_index: Path) -> Path:
    """A copy of the seeds index that a test may damage."""
    copy = tmp_path / "index"
    shutil.copytree(seeds_index, copy)
    return copy


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(REPO / "seeds", folder)
    return folder


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """Exit code and everything printed, after checking that no traceback was printed."""
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    printed = captured.out + captured.err
    assert "Traceback" not in printed
    assert "unexpected error" not in printed, printed
    return code, printed


def store_file(index: Path) -> Path:
    return Path(glob.glob(str(index / "g*" / store.STORE_FILE))[0])


def nest_manifest(index: Path) -> None:
    raw = (index / mf.MANIFEST_FILE).read_text(encoding="utf-8").rstrip().removesuffix("}")
    deep = raw + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    (index / mf.MANIFEST_FILE).write_text(deep, encoding="utf-8")


def huge_number_manifest(index: Path) -> None:
    raw = (index / mf.MANIFEST_FILE).read_text(encoding="utf-8").rstrip().removesuffix("}")
    (index / mf.MANIFEST_FILE).write_text(raw + ', "x": ' + "9" * 5_000 + "}", encoding="utf-8")


def long_generation(index: Path) -> None:
    manifest = json.loads((index / mf.MANIFEST_FILE).read_text(encoding="utf-8"))
    manifest["generation"] = "g" + "a" * 5_000
    (index / mf.MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (nest_manifest, "manifest"),
        (huge_number_manifest, "manifest"),
        (long_generation, "generation"),
    ],
    ids=["nested-manifest", "huge-number-manifest", "long-generation"],
)
def test_unreadable_manifest_is_a_message_and_index_rebuilds(
    index: Path,
    corpus: Path,
    capsys: pytest.CaptureFixture[str],
    damage: Callable[[Path], None],
    expected: str,
) -> None:
    damage(index)
    code, printed = run(capsys, "ask", QUESTION, "--index", str(index))
    assert code == cli.EXIT_USAGE
    assert expected in printed and "--rebuild" in printed
    code, printed = run(capsys, "index", str(corpus), "--index", str(index))
    assert code == cli.EXIT_OK and "rebuilding from scratch" in printed
    code, printed = run(capsys, "ask", QUESTION, "--index", str(index))
    assert code == cli.EXIT_OK and "Maalouf" in printed


def test_manifest_that_is_a_folder_is_a_message(
    index: Path, corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (index / mf.MANIFEST_FILE).unlink()
    (index / mf.MANIFEST_FILE).mkdir()
    generations = sorted(p.name for p in index.glob("g*"))
    for argv in (["ask", QUESTION], ["index", str(corpus)]):
        code, printed = run(capsys, *argv, "--index", str(index))
        assert code == cli.EXIT_USAGE
        assert f"{mf.MANIFEST_FILE} is not a file" in printed and "move it away" in printed
    assert sorted(p.name for p in index.glob("g*")) == generations  # nothing built in vain


def test_index_path_that_is_a_file_is_a_message(
    tmp_path: Path, corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not an index\n")
    for argv in (["ask", QUESTION], ["index", str(corpus)], ["sources"]):
        code, printed = run(capsys, *argv, "--index", str(path))
        assert code == cli.EXIT_USAGE
        assert "is a file, not a folder" in printed and "--index" in printed
    assert path.read_text() == "not an index\n"


def test_incremental_index_over_a_damaged_store_is_a_message(
    index: Path, corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Two indexes swap their b-trees: every page is sound, so SQLite's quick check passes,
    # but the update's first delete finds an index that does not match its table.
    with sqlite3.connect(store_file(index), isolation_level=None) as conn:
        roots = dict(conn.execute("SELECT name, rootpage FROM sqlite_master"))
        conn.execute("PRAGMA writable_schema=ON")
        for name, other in (("documents_by_file", "acronyms_by_doc"),):
            conn.execute("UPDATE sqlite_master SET rootpage=? WHERE name=?", (roots[other], name))
            conn.execute("UPDATE sqlite_master SET rootpage=? WHERE name=?", (roots[name], other))
    conn.close()
    changed = sorted(corpus.glob("*.txt"))[0]
    changed.write_text(changed.read_text(encoding="utf-8") + "\nOne more sentence here.\n")
    code, printed = run(capsys, "index", str(corpus), "--index", str(index))
    assert code == cli.EXIT_USAGE
    assert "damaged" in printed and "--rebuild" in printed
    code, printed = run(capsys, "index", str(corpus), "--index", str(index), "--rebuild")
    assert code == cli.EXIT_OK


def null_column(table: str, column: str) -> Callable[[Path], None]:
    """Empty one position column, as a hand edit of the store could."""

    def damage(index: Path) -> None:
        with sqlite3.connect(store_file(index), isolation_level=None) as conn:
            sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()[
                0
            ]
            loose = sql.replace(f"{column} INTEGER NOT NULL", f"{column} INTEGER")
            assert loose != sql
            conn.execute("PRAGMA writable_schema=ON")
            conn.execute("UPDATE sqlite_master SET sql = ? WHERE name = ?", (loose, table))
        conn.close()
        with sqlite3.connect(store_file(index), isolation_level=None) as conn:
            conn.execute(f"UPDATE {table} SET {column} = NULL")
        conn.close()

    return damage


def drop_table(name: str) -> Callable[[Path], None]:
    def damage(index: Path) -> None:
        with sqlite3.connect(store_file(index), isolation_level=None) as conn:
            conn.execute(f"DROP TABLE {name}")
        conn.close()

    return damage


def row_file(index: Path, name: str) -> Path:
    return store_file(index).parent / name


def cut_row_file(name: str) -> Callable[[Path], None]:
    """Cut a row file short, as a full disk or a lost write could."""

    def damage(index: Path) -> None:
        os.truncate(row_file(index, name), row_files.RECORD_BYTES + 3)

    return damage


def garble_splits(name: str) -> Callable[[Path], None]:
    """Every sentence record says its text is longer than its strings (sizes stay right)."""

    def damage(index: Path) -> None:
        path = row_file(index, name)
        records = np.fromfile(path, dtype="<i8").reshape(-1, row_files.FIELDS)
        records[:, 5] = 1 << 40
        records.tofile(path)

    return damage


def garble_strings(name: str) -> Callable[[Path], None]:
    """Bytes that are not UTF-8 in place of a strings file's text."""

    def damage(index: Path) -> None:
        path = row_file(index, name)
        path.write_bytes(b"\xff" * path.stat().st_size)

    return damage


@pytest.mark.parametrize(
    "damage",
    [
        drop_table("sentences_fts"),
        drop_table("passages_fts"),
        null_column("documents", "first_sentence"),
        cut_row_file("sentences.fields"),
        garble_splits("sentences.fields"),
        garble_strings("passages.strings"),
    ],
    ids=[
        "sentences_fts",
        "passages_fts",
        "documents.first_sentence",
        "sentences.fields cut",
        "sentences.fields garbled",
        "passages.strings garbled",
    ],
)
def test_damaged_store_at_answer_time_is_a_message(
    index: Path, capsys: pytest.CaptureFixture[str], damage: Callable[[Path], None]
) -> None:
    damage(index)
    code, printed = run(capsys, "ask", QUESTION, "--index", str(index))
    assert code == cli.EXIT_USAGE
    assert "damaged" in printed and "--rebuild" in printed


@pytest.mark.parametrize(
    "damage",
    [cut_row_file("passages.fields"), garble_splits("sentences.fields")],
    ids=["passages.fields cut", "sentences.fields garbled"],
)
def test_index_over_damaged_row_files_rebuilds(
    index: Path,
    corpus: Path,
    capsys: pytest.CaptureFixture[str],
    damage: Callable[[Path], None],
) -> None:
    damage(index)
    code, printed = run(capsys, "index", str(corpus), "--index", str(index))
    assert code == cli.EXIT_OK
    assert "rebuilding from scratch: the row files are damaged" in printed
    code, printed = run(capsys, "ask", QUESTION, "--index", str(index))
    assert code == cli.EXIT_OK and "[1]" in printed


def deep_corpus(root: Path, depth: int) -> Path:
    """``root/d/d/.../d/story.txt``, ``depth`` folders down (made by descriptor: no long paths)."""
    root.mkdir()
    (root / "top.txt").write_text("Grey owls hunt at dusk along the river bank.\n")
    fd = os.open(root, os.O_RDONLY)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            inner = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
        story = os.open("story.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(story, b"The owls of the deep story nest in old pine trees by the river.\n")
        os.close(story)
    finally:
        os.close(fd)
    return root


@pytest.fixture
def deep(tmp_path: Path) -> Iterator[Path]:
    """A corpus ``CORPUS_DEPTH`` folders deep, removed afterwards by ``rm``.

    Python's ``shutil.rmtree`` recurses per folder and fails on it, and with it pytest's
    clean-up of old temporary folders in every later run.
    """
    root = tmp_path / "deep"
    try:
        yield deep_corpus(root, CORPUS_DEPTH)
    finally:
        subprocess.run(["rm", "-rf", str(root)], check=True)


def test_corpus_nested_deeper_than_the_recursion_limit_is_indexed(
    tmp_path: Path, deep: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = deep
    index = tmp_path / "index"
    code, printed = run(capsys, "index", str(corpus), "--index", str(index))
    assert code == cli.EXIT_OK and "2 documents" in printed
    code, printed = run(capsys, "ask", "Where do the owls nest?", "--index", str(index))
    assert code == cli.EXIT_OK and "old pine trees" in printed


#: A file size limit the new generation's store and vectors pass (the seeds need ~400 KiB).
FILE_SIZE_LIMIT = 64 * 1024
_INDEX_UNDER_LIMIT = f"""
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, ({FILE_SIZE_LIMIT}, {FILE_SIZE_LIMIT}))
from bot.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_write_the_disk_refuses_is_a_message_and_keeps_the_index(
    index: Path, corpus: Path
) -> None:
    before = (index / mf.MANIFEST_FILE).read_text(encoding="utf-8")
    argv = ["index", str(corpus), "--index", str(index), "--rebuild", "-q"]
    done = subprocess.run(
        [sys.executable, "-c", _INDEX_UNDER_LIMIT, *argv],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert done.returncode == cli.EXIT_USAGE, done.stderr[-2000:]
    assert "Traceback" not in done.stderr and "unexpected error" not in done.stderr
    assert "Free disk space" in done.stderr
    assert (index / mf.MANIFEST_FILE).read_text(encoding="utf-8") == before
    assert len(list(index.glob("g*"))) == 1  # the half-written generation is gone


@pytest.mark.parametrize("name", ["a#b", "what?now", "100%", "x%23y?mode=ro#"])
def test_index_folder_name_with_uri_characters(
    tmp_path: Path, corpus: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    # Before: SQLite read "#", "?" and "%" in the path as URI syntax ("no such table:
    # documents") and an empty file appeared outside the index folder.
    parent = tmp_path / "indexes"
    parent.mkdir()
    index = parent / name
    code, printed = run(capsys, "index", str(corpus), "--index", str(index), "-q")
    assert code == cli.EXIT_OK, printed
    assert [p.name for p in parent.iterdir()] == [name]
    code, printed = run(capsys, "ask", QUESTION, "--index", str(index))
    assert code == cli.EXIT_OK and "Maalouf" in printed
    assert [p.name for p in parent.iterdir()] == [name]


@pytest.mark.parametrize("generation", ["../victim", "{victim}"], ids=["relative", "absolute"])
def test_generation_outside_the_index_is_never_read_or_written(
    tmp_path: Path,
    index: Path,
    corpus: Path,
    capsys: pytest.CaptureFixture[str],
    generation: str,
) -> None:
    # A manifest naming a folder outside the index: before, it was served (and updated).
    victim = tmp_path / "victim"
    shutil.copytree(next(index.glob("g*")), victim)
    before = {p.name: p.read_bytes() for p in victim.iterdir()}
    manifest = json.loads((index / mf.MANIFEST_FILE).read_text(encoding="utf-8"))
    manifest["generation"] = generation.format(victim=victim)
    (index / mf.MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    code, printed = run(capsys, "ask", QUESTION, "--index", str(index))
    assert code == cli.EXIT_USAGE and "not a folder of this index" in printed
    (corpus / "new.md").write_text("# Pancakes\n\nMix flour, eggs and milk to make pancakes.\n")
    code, printed = run(capsys, "index", str(corpus), "--index", str(index))
    assert code == cli.EXIT_OK and "rebuilding from scratch" in printed
    assert {p.name: p.read_bytes() for p in victim.iterdir()} == before
    assert mf.generation_dir(index, mf.read(index)).parent == index
