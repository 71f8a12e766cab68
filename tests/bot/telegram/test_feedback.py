"""feedback.py: questions, answers shown and votes in SQLite; users only as salted hashes."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

import pytest

from bot.telegram.feedback import EXPORT_COLUMNS, FeedbackStore

USER, OTHER = 424_242_424, 777_777_777


@pytest.fixture
def store(tmp_path: Path) -> FeedbackStore:
    store = FeedbackStore(tmp_path / "fb" / "feedback.sqlite3")
    yield store  # type: ignore[misc]
    store.close()


def _rows(store: FeedbackStore) -> list[dict[str, str]]:
    out = io.StringIO()
    store.export_csv(out)
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def _log(store: FeedbackStore, answer_id: str, question: str = "Who won?") -> None:
    store.record_answer(
        answer_id,
        user_id=USER,
        chat_type="private",
        question=question,
        status="answered",
        answer_shown="“Quote.”\n[1] Title",
    )


def test_votes_are_counted_per_answer(store: FeedbackStore) -> None:
    _log(store, "a1")
    _log(store, "a2", "What happened?")
    assert store.rate("a1", user_id=USER, rating=1)
    assert store.rate("a1", user_id=OTHER, rating=-1)
    assert store.rate("a1", user_id=USER, rating=-1)  # a second vote replaces the first
    rows = _rows(store)
    assert list(rows[0]) == list(EXPORT_COLUMNS)
    assert [(r["answer_id"], r["thumbs_up"], r["thumbs_down"]) for r in rows] == [
        ("a1", "0", "2"),
        ("a2", "0", "0"),
    ]
    assert rows[0]["answer_shown"] == "“Quote.”\n[1] Title"


def test_unknown_answers_and_bad_ratings(store: FeedbackStore) -> None:
    assert not store.rate("never-logged", user_id=USER, rating=1)
    _log(store, "a1")
    with pytest.raises(ValueError):
        store.rate("a1", user_id=USER, rating=5)


def test_user_ids_are_never_stored(store: FeedbackStore, tmp_path: Path) -> None:
    _log(store, "a1")
    store.rate("a1", user_id=OTHER, rating=1)
    dump = "\n".join(sqlite3.connect(store.path).iterdump())
    assert str(USER) not in dump and str(OTHER) not in dump
    assert store.hash_user(USER) in dump
    assert store.hash_user(USER) != store.hash_user(OTHER)


def test_the_salt_is_per_database_and_kept(tmp_path: Path) -> None:
    first = FeedbackStore(tmp_path / "one.sqlite3")
    again = FeedbackStore(tmp_path / "one.sqlite3")
    other = FeedbackStore(tmp_path / "two.sqlite3")
    try:
        assert first.hash_user(USER) == again.hash_user(USER)
        assert first.hash_user(USER) != other.hash_user(USER)
    finally:
        for s in (first, again, other):
            s.close()


@pytest.mark.parametrize("question", ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)"])
def test_export_defuses_spreadsheet_formulas(store: FeedbackStore, question: str) -> None:
    _log(store, "a1", question)
    assert _rows(store)[0]["question"] == "'" + question
