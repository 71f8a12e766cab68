"""Plain-text tables of a harness report for the terminal: metrics, threshold trade-off, changes.

Shares print as fractions with three decimals, latencies in milliseconds with one; a value
that was not measured (no such questions) prints as ``-``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from retrieval.evaluation.question_type import QUESTION_TYPES
from retrieval.evaluation.report import Change

#: The rows of the metrics table: (section, metric, label).
METRIC_ROWS = (
    ("answerable", "hit_at_1", "hit@1"),
    ("answerable", "hit_at_k", "hit@k"),
    ("answerable", "mrr", "MRR"),
    ("answerable", "citation_accuracy", "citation accuracy"),
    ("answerable", "declined", "wrongly declined"),
    ("answerable", "uncertain", "answered, marked unsure"),
    ("unanswerable", "declined", "rightly declined"),
    ("unanswerable", "uncertain", "answered, marked unsure"),
    ("retrieval", "hit_at_1", "hit@1"),
    ("retrieval", "hit_at_k", "hit@k"),
    ("retrieval", "mrr", "MRR"),
    ("relevance", "auroc", "AUROC"),
    ("latency_ms", "p50", "p50"),
    ("latency_ms", "p95", "p95"),
    ("latency_ms", "mean", "mean"),
    ("latency_ms", "max", "max"),
)
#: The columns of the trade-off table: (row key, header).
TRADEOFF_COLUMNS = (
    ("answerable_hit_at_1", "hit@1"),
    ("answerable_hit_at_k", "hit@k"),
    ("answerable_declined", "wrongly declined"),
    ("unanswerable_declined", "rightly declined"),
)
#: Marks the configured threshold's row in the trade-off table.
CONFIGURED_MARK = "<- configured"
#: What prints for a value that was not measured.
MISSING = "-"


def format_metrics(report: Mapping[str, Any]) -> str:
    """The metrics of every run of ``report``, one column per retriever."""
    runs: Mapping[str, Mapping[str, Any]] = report.get("runs") or {
        str(report.get("retriever", "run")): report
    }
    names = list(runs)
    rows: list[list[str]] = []
    section = ""
    for key, metric, label in METRIC_ROWS:
        if key != section:
            section = key
            rows.append([_section_title(key, report.get("counts", {}))] + [""] * len(names))
        rows.append(
            [f"  {label}"] + [_value(runs[name].get(key, {}).get(metric), key) for name in names]
        )
    return _render(["", *names], rows)


def format_by_type(report: Mapping[str, Any]) -> str:
    """hit@1 of the answerable questions of each kind, one column per retriever.

    A row's label carries its count of answerable questions; kinds with none are left out.
    Reports made before the breakdown existed give an empty string.
    """
    runs: Mapping[str, Mapping[str, Any]] = report.get("runs") or {
        str(report.get("retriever", "run")): report
    }
    names = list(runs)
    kinds = report.get("by_question_type") or {}
    rows = [
        [f"{kind} ({kinds[kind]['answerable']})"]
        + [_value(_kind_of(runs[name], kind).get("hit_at_1"), "share") for name in names]
        for kind in QUESTION_TYPES
        if kinds.get(kind, {}).get("answerable")
    ]
    return _render(["hit@1", *names], rows) if rows else ""


def _kind_of(run: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    return (run.get("by_question_type") or {}).get(kind) or {}


def format_tradeoff(rows: Sequence[Mapping[str, Any]]) -> str:
    """The threshold trade-off table, lowest threshold first, the configured one marked."""
    body = [
        [f"{row['min_relevance']:.3f}"]
        + [_value(row.get(key), "share") for key, _ in TRADEOFF_COLUMNS]
        + [CONFIGURED_MARK if row.get("configured") else ""]
        for row in rows
    ]
    headers = ["min_relevance", *(header for _, header in TRADEOFF_COLUMNS), ""]
    return _render(headers, body, last_left=True)


def format_changes(changes: Sequence[Change]) -> str:
    """The change of each metric against an earlier report (``+`` means it went up)."""
    body = [
        [
            change.retriever,
            f"{change.section}.{change.metric}",
            _value(change.old, change.section),
            _value(change.new, change.section),
            MISSING if change.delta is None else _signed(change.delta, change.section),
        ]
        for change in changes
    ]
    return _render(["retriever", "metric", "old", "new", "change"], body, left=2)


def _section_title(section: str, counts: Mapping[str, Any]) -> str:
    if section == "latency_ms":
        return "latency (ms)"
    if section == "retrieval":
        return "ranking alone (no threshold)"
    if section == "relevance":
        return "relevance, answerable vs unanswerable"
    number = counts.get(section)
    return f"{section} ({number})" if number is not None else section


def _value(value: Any, section: str) -> str:
    if value is None:
        return MISSING
    return f"{value:.1f}" if section == "latency_ms" else f"{value:.3f}"


def _signed(value: float, section: str) -> str:
    return f"{value:+.1f}" if section == "latency_ms" else f"{value:+.3f}"


def _render(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, left: int = 1, last_left: bool = False
) -> str:
    """Columns padded to their widest cell; the first ``left`` ones aligned left, numbers right."""
    table = [list(headers), *map(list, rows)]
    count = len(headers)
    widths = [max(len(row[i]) for row in table) for i in range(count)]
    lines = []
    for row in table:
        cells = [
            cell.ljust(width) if i < left or (last_left and i == count - 1) else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
