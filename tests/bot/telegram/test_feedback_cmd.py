"""``verbatim feedback --export CSV`` through the real command line."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bot.cli import main
from bot.telegram.feedback import EXPORT_COLUMNS, FeedbackStore

USER = 31_415_926


def test_export_writes_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "feedback.sqlite3"
    store = FeedbackStore(db)
    store.record_answer(
        "a1",
        user_id=USER,
        chat_type="group",
        question="Who won?",
        status="answered",
        answer_shown="“Quote.”\n[1] T",
    )
    store.rate("a1", user_id=USER, rating=1)
    store.close()
    monkeypatch.setenv("VERBATIM_FEEDBACK_DB", str(db))
    out = tmp_path / "review" / "feedback.csv"
    assert main(["feedback", "--export", str(out)]) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert list(rows[0]) == list(EXPORT_COLUMNS)
    assert (rows[0]["question"], rows[0]["thumbs_up"], rows[0]["chat_type"]) == (
        "Who won?",
        "1",
        "group",
    )
    assert str(USER) not in out.read_text(encoding="utf-8")
    assert "Exported 1 answers" in capsys.readouterr().err


def test_export_to_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "f.sqlite3"
    FeedbackStore(db).close()
    assert main(["feedback", "--export", "-", "--db", str(db)]) == 0
    assert capsys.readouterr().out.splitlines() == [",".join(EXPORT_COLUMNS)]


def test_missing_database_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "feedback",
                "--export",
                str(tmp_path / "x.csv"),
                "--db",
                str(tmp_path / "none.sqlite3"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "no feedback database" in err and not (tmp_path / "x.csv").exists()
