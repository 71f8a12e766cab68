"""The Milvus store's in-memory term table against a plain reading of the same rows.

The reference reads ``term_df`` rows as the store's readers did before the table: a term's
frequencies are those of its newest row at or below the version, and a term whose newest row
is ``(0, 0)`` is held by no row.
"""

from __future__ import annotations

import random

import pytest

from retrieval.index.milvus_term_table import TermTable, empty

WORDS = ["iraq", "iraqi", "iraqis", "ira", "syria", "syrian", "mosul", "zz", "a", "ab", "abc"]


def _reference(rows: list[dict], version: int) -> dict[str, tuple[int, int]]:
    newest: dict[str, dict] = {}
    for r in rows:
        if r["added"] <= version and (
            r["term"] not in newest or r["added"] > newest[r["term"]]["added"]
        ):
            newest[r["term"]] = r
    return {
        t: (r["sentences"], r["passages"])
        for t, r in newest.items()
        if r["sentences"] or r["passages"]
    }


def _rows(seed: int, versions: int) -> list[dict]:
    """Frequency rows as syncs write them: each version rewrites the terms it touched."""
    rng = random.Random(seed)
    rows = []
    for version in range(1, versions + 1):
        for term in rng.sample(WORDS, rng.randint(1, len(WORDS))):
            held = rng.random() < 0.8
            s, p = (rng.randint(1, 9), rng.randint(1, 5)) if held else (0, 0)
            rows.append({"term": term, "sentences": s, "passages": p, "added": version})
    return rows


def _check(table: TermTable, expected: dict[str, tuple[int, int]]) -> None:
    counts = zip(table.sentences.tolist(), table.passages.tolist(), strict=True)
    assert dict(zip(table.terms, counts, strict=True)) == expected
    for word in WORDS:
        assert table.frequencies(word) == expected.get(word)
        for cut in range(len(word) + 1):
            prefix = word[:cut]
            wanted = sorted((t, *df) for t, df in expected.items() if t.startswith(prefix))
            assert table.with_prefix(prefix) == wanted


@pytest.mark.parametrize("seed", range(5))
def test_a_table_moved_on_version_by_version_equals_one_read_whole(seed: int) -> None:
    rows = _rows(seed, versions=6)
    table = empty()
    for version in range(1, 7):
        change = [r for r in rows if table.version < r["added"] <= version]
        table = table.changed(version, change, [])
        _check(table, _reference(rows, version))
        whole = empty().changed(version, [r for r in rows if r["added"] <= version], [])
        assert whole.terms == table.terms


def test_acronyms_are_replaced_whole_on_each_version() -> None:
    first = [
        {"dockey": "1:0:0", "acronym": "SDF", "akey": "sdf", "term": "syrian"},
        {"dockey": "1:0:0", "acronym": "SDF", "akey": "sdf", "term": "forc"},
    ]
    second = [{"dockey": "2:9:3", "acronym": "CTS", "akey": "ct", "term": "servic"}]
    table = empty().changed(1, [], first)
    assert table.spelled_by["syrian"] == (("1:0:0", "SDF"),)
    assert sorted(table.long_name["sdf"]) == [("1:0:0", "forc"), ("1:0:0", "syrian")]
    table = table.changed(2, [], second)
    assert "syrian" not in table.spelled_by and "sdf" not in table.long_name
    assert table.long_name["ct"] == (("2:9:3", "servic"),)
