"""The antonym table generator reads WordNet's database format (``retrieval.learn.antonyms``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.learn.antonyms import antonym_pairs, main, write_table
from retrieval.split.antonyms import TABLE_PATH

# Three synsets in WordNet 3.0's format: "increase" and "decrease" point at each other as
# antonyms (word 1 -> word 1); "give_up" (a phrase) has an antonym pointer that is skipped.
VERBS = """\
  1 This software and database is being provided to you, the LICENSEE, by Princeton
00000001 30 v 01 increase 0 001 ! 00000002 v 0101 01 + 02 00 | become bigger
00000002 30 v 02 decrease 0 diminish 0 001 ! 00000001 v 0101 01 + 02 00 | become smaller
00000003 30 v 01 give_up 0 001 ! 00000001 v 0101 01 + 02 00 | stop
"""
ADJECTIVES = """\
00000010 00 a 01 galore(ip) 0 001 ! 00000011 a 0101 | plenty
00000011 00 a 01 scarce 0 001 ! 00000010 a 0101 | few
"""


def _wordnet(folder: Path) -> Path:
    (folder / "data.verb").write_text(VERBS, encoding="latin-1")
    (folder / "data.adj").write_text(ADJECTIVES, encoding="latin-1")
    (folder / "data.noun").write_text("", encoding="latin-1")
    (folder / "data.adv").write_text("", encoding="latin-1")
    (folder / "LICENSE").write_text("WordNet 3.0 Copyright 2006 by Princeton University.\n")
    return folder


def test_direct_antonyms_of_single_words_become_stem_pairs(tmp_path: Path) -> None:
    pairs = set(antonym_pairs(_wordnet(tmp_path)))
    assert pairs == {("decreas", "increas"), ("galor", "scarc")}


def test_the_written_table_starts_with_the_notice(tmp_path: Path) -> None:
    out = tmp_path / "table.txt"
    assert write_table(_wordnet(tmp_path), out) == 2
    lines = out.read_text(encoding="utf-8").splitlines()
    assert "# WordNet 3.0 Copyright 2006 by Princeton University." in lines
    assert lines[-2:] == ["decreas increas", "galor scarc"]


def test_the_shipped_table_has_the_pairs_of_the_example() -> None:
    shipped = set(TABLE_PATH.read_text(encoding="utf-8").splitlines())
    assert {"decreas increas", "first last", "high low"} <= shipped


def test_a_folder_without_wordnet_gets_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "data.adj").write_text("not wordnet\n", encoding="latin-1")
    with pytest.raises(SystemExit) as exited:
        main(["--wordnet", str(tmp_path), "--out", str(tmp_path / "out.txt")])
    assert exited.value.code == 1
    message = capsys.readouterr().err
    assert "Cannot read a WordNet 3.0 database" in message
    assert "data.adj, data.adv, data.noun, data.verb and LICENSE" in message
    assert not (tmp_path / "out.txt").exists()
