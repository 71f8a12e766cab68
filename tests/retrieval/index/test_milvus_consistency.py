"""The consistency level the Milvus store reads a version's rows at."""

from __future__ import annotations

import pytest

from retrieval.index import milvus_consistency
from retrieval.index.milvus_consistency import BOUNDED, STRONG, Consistency


def test_a_version_is_read_strong_until_the_graceful_time_has_passed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(milvus_consistency.time, "monotonic", lambda: clock[0])
    consistency = Consistency()
    assert consistency.level(3) == STRONG
    clock[0] += milvus_consistency.BOUNDED_AFTER_SECONDS / 2
    assert consistency.level(3) == STRONG
    assert consistency.level(4) == STRONG  # a newer version starts its own wait
    clock[0] += milvus_consistency.BOUNDED_AFTER_SECONDS
    assert consistency.level(3) == BOUNDED
    assert consistency.level(4) == STRONG
    clock[0] += milvus_consistency.BOUNDED_AFTER_SECONDS
    assert consistency.level(4) == BOUNDED


def test_only_the_newest_versions_are_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [0.0]
    monkeypatch.setattr(milvus_consistency.time, "monotonic", lambda: clock[0])
    consistency = Consistency()
    for version in range(1, Consistency.KEPT + 3):
        consistency.level(version)
    clock[0] += 2 * milvus_consistency.BOUNDED_AFTER_SECONDS
    assert consistency.level(Consistency.KEPT + 2) == BOUNDED
    assert consistency.level(1) == STRONG  # forgotten: seen again as new
