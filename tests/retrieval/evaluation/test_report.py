"""The JSON report, its per-question file, comparison with an earlier report, and the tables."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from retrieval.evaluation.metrics import QuestionResult
from retrieval.evaluation.report import (
    ReportError,
    build_report,
    compare_reports,
    load_report,
    questions_path,
    write_report,
)
from retrieval.evaluation.table import (
    CONFIGURED_MARK,
    format_by_type,
    format_changes,
    format_metrics,
    format_tradeoff,
)
from retrieval.types import Quote

ResultFactory = Callable[..., QuestionResult]
QuoteFactory = Callable[..., Quote]
SETTINGS = {"questions": "set.jsonl", "top_k": 3, "min_relevance": 0.35}


@pytest.fixture
def runs(make_result: ResultFactory, make_quote: QuoteFactory) -> dict[str, list[QuestionResult]]:
    hybrid = [
        make_result("a1", ["x"], [make_quote("x here", "d1", 0.9)], sources=["d1"], latency_ms=8),
        make_result("a2", ["y"], [make_quote("no", "d1", 0.6), make_quote("y", "d2", 0.5)]),
        make_result("u1", [], [], latency_ms=4),
    ]
    dense = [
        make_result("a1", ["x"], [make_quote("nothing", "d1", 0.9)], sources=["d1"]),
        make_result("a2", ["y"], [make_quote("y!", "d2", 0.6)], latency_ms=30),
        make_result("u1", [], [make_quote("z", "d3", 0.4)]),
    ]
    return {"hybrid": hybrid, "dense": dense}


def test_report_keeps_the_primary_run_at_the_top(runs: dict[str, list[QuestionResult]]) -> None:
    report = build_report(runs, min_relevance=dict.fromkeys(runs, 0.35), settings=SETTINGS)
    assert list(report)[:6] == [
        "answerable",
        "unanswerable",
        "latency_ms",
        "counts",
        "settings",
        "threshold_tradeoff",
    ]
    assert list(report["runs"]) == ["hybrid", "dense"]
    assert report["retriever"] == "hybrid"
    for key in ("answerable", "unanswerable", "latency_ms", "counts", "threshold_tradeoff"):
        assert report[key] == report["runs"]["hybrid"][key]
    assert report["answerable"]["hit_at_1"] == pytest.approx(1 / 2)
    assert report["runs"]["dense"]["answerable"]["hit_at_1"] == pytest.approx(1 / 2)
    assert report["runs"]["dense"]["answerable"]["mrr"] == pytest.approx(1 / 2)
    assert report["answerable"]["mrr"] == pytest.approx((1 + 1 / 2) / 2)
    assert report["unanswerable"]["declined"] == 1.0
    assert report["runs"]["dense"]["unanswerable"]["declined"] == 0.0
    assert report["latency_ms"]["max"] == 10.0
    assert report["settings"] == SETTINGS
    for section in ("answerable", "unanswerable"):
        assert all(0.0 <= value <= 1.0 for value in report[section].values())
    json.dumps(report, allow_nan=False)


def test_write_report_puts_one_line_per_run_and_question_beside_it(
    runs: dict[str, list[QuestionResult]], tmp_path: Path
) -> None:
    report = build_report(runs, min_relevance=dict.fromkeys(runs, 0.35), settings=SETTINGS)
    out = tmp_path / "reports" / "seeds.json"
    lines_path = write_report(report, runs, out)

    assert lines_path == questions_path(out) == tmp_path / "reports" / "seeds.questions.jsonl"
    assert json.loads(out.read_text(encoding="utf-8")) == report
    lines = [json.loads(line) for line in lines_path.read_text(encoding="utf-8").splitlines()]
    assert [(line["retriever"], line["id"]) for line in lines] == [
        (name, qid) for name in ("hybrid", "dense") for qid in ("a1", "a2", "u1")
    ]
    second = lines[1]
    assert second["gold"] == ["y"]
    assert second["question_type"] == "other"
    assert second["status"] == "answered"
    assert second["hit_rank"] == 2 and second["raw_hit_rank"] == 2
    assert second["relevance"] == 0.6
    assert [(q["text"], q["source"], q["score"]) for q in second["quotes"]] == [
        ("no", "d1", 0.6),
        ("y", "d2", 0.5),
    ]
    assert lines[0]["cited"] is True
    assert lines[2]["status"] == "not_found" and lines[2]["hit_rank"] is None
    assert lines[2]["latency_ms"] == 4


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "No report at"),
        ("{broken", "is not a readable JSON report"),
        ('{"answerable": {}}', "is not a report of `verbatim eval`"),
        ("[1, 2]", "is not a report of `verbatim eval`"),
    ],
)
def test_load_report_rejects_what_is_not_a_report(
    tmp_path: Path, content: str | None, expected: str
) -> None:
    path = tmp_path / "old.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ReportError, match=expected):
        load_report(path)


def test_compare_matches_runs_by_retriever(
    runs: dict[str, list[QuestionResult]], tmp_path: Path
) -> None:
    new = build_report(runs, min_relevance=dict.fromkeys(runs, 0.35), settings=SETTINGS)
    old = json.loads(json.dumps(new))
    old["runs"]["hybrid"]["answerable"]["hit_at_1"] = 0.25
    old["runs"]["dense"]["latency_ms"]["p50"] = 12.5
    del old["runs"]["dense"]["answerable"]["mrr"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old), encoding="utf-8")

    changes = {
        (c.retriever, c.section, c.metric): c for c in compare_reports(load_report(path), new)
    }
    assert changes["hybrid", "answerable", "hit_at_1"].delta == pytest.approx(0.5 - 0.25)
    assert changes["hybrid", "answerable", "mrr"].delta == 0.0
    dense_p50 = changes["dense", "latency_ms", "p50"]
    assert dense_p50.delta == pytest.approx(new["runs"]["dense"]["latency_ms"]["p50"] - 12.5)
    assert changes["dense", "answerable", "mrr"].old is None
    assert changes["dense", "answerable", "mrr"].delta is None

    text = format_changes(list(changes.values()))
    assert "+0.250" in text
    assert "answerable.hit_at_1" in text


def test_compare_with_a_single_run_report_matches_the_primary_runs(
    runs: dict[str, list[QuestionResult]],
) -> None:
    new = build_report(runs, min_relevance=dict.fromkeys(runs, 0.35), settings=SETTINGS)
    old = {key: new[key] for key in ("answerable", "unanswerable", "latency_ms")}
    old = json.loads(json.dumps(old))
    old["unanswerable"]["declined"] = 0.5
    changes = compare_reports(old, new)
    declined = [c for c in changes if (c.section, c.metric) == ("unanswerable", "declined")]
    assert [(c.retriever, c.delta) for c in declined] == [("hybrid", 0.5), ("dense", None)]


def test_tables_show_one_column_per_retriever_and_mark_the_threshold(
    runs: dict[str, list[QuestionResult]],
) -> None:
    report = build_report(runs, min_relevance=dict.fromkeys(runs, 0.35), settings=SETTINGS)
    metrics = format_metrics(report).splitlines()
    assert metrics[0].split() == ["hybrid", "dense"]
    mrr = next(line for line in metrics if line.strip().startswith("MRR"))
    assert mrr.split() == ["MRR", "0.750", "0.500"]
    assert any(line.startswith("answerable (2)") for line in metrics)

    tradeoff = format_tradeoff(report["threshold_tradeoff"]).splitlines()
    marked = [line for line in tradeoff if CONFIGURED_MARK in line]
    assert len(marked) == 1 and marked[0].startswith("0.350")
    assert len(tradeoff) == 1 + len(report["threshold_tradeoff"])


def test_report_has_auroc_and_hits_by_question_type_per_run(
    runs: dict[str, list[QuestionResult]],
) -> None:
    report = build_report(runs, min_relevance=dict.fromkeys(runs, 0.35), settings=SETTINGS)
    # hybrid: answerable relevances 0.9 and 0.6 against the unanswerable one's 0.0
    assert report["relevance"] == {"auroc": 1.0}
    # dense: 0.9 and 0.6 against 0.4
    assert report["runs"]["dense"]["relevance"] == {"auroc": 1.0}
    for name in ("hybrid", "dense"):
        kinds = report["runs"][name]["by_question_type"]
        # the fixture's questions read "question a1?": no question word
        assert kinds["other"]["answerable"] == 2
        assert sum(kind["answerable"] for kind in kinds.values()) == 2
    assert report["by_question_type"]["other"]["hit_at_1"] == pytest.approx(1 / 2)
    assert report["runs"]["dense"]["by_question_type"]["other"]["hit_at_1"] == pytest.approx(1 / 2)

    metrics = format_metrics(report).splitlines()
    auroc_row = next(line for line in metrics if line.strip().startswith("AUROC"))
    assert auroc_row.split() == ["AUROC", "1.000", "1.000"]
    by_type = format_by_type(report).splitlines()
    assert by_type[0].split() == ["hit@1", "hybrid", "dense"]
    assert [line.split() for line in by_type[1:]] == [["other", "(2)", "0.500", "0.500"]]


def test_an_older_report_without_the_newer_sections_still_compares(
    runs: dict[str, list[QuestionResult]], tmp_path: Path
) -> None:
    new = build_report(runs, min_relevance=dict.fromkeys(runs, 0.35), settings=SETTINGS)
    old = {key: new[key] for key in ("answerable", "unanswerable", "latency_ms")}
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old), encoding="utf-8")
    changes = compare_reports(load_report(path), new)
    auroc_change = next(c for c in changes if (c.retriever, c.section) == ("hybrid", "relevance"))
    assert (auroc_change.old, auroc_change.new) == (None, 1.0)
    assert format_by_type(old) == ""
