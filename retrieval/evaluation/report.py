"""The harness's JSON report, its per-question file, and the comparison with an earlier report.

Report shape: ``answerable``, ``unanswerable``, ``latency_ms``, ``counts``, ``settings``,
``threshold_tradeoff``, ``retrieval`` (the ranking alone, never declining), ``relevance`` (the
AUROC of relevance between answerable and unanswerable questions), ``by_question_type`` (hits
per kind of answerable question) and ``retriever`` describe the primary (first) retriever's
run; ``runs`` holds one such block (without ``settings``) per retriever, primary included, by
name.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retrieval.errors import VerbatimError
from retrieval.evaluation.metrics import (
    QuestionResult,
    answerable_metrics,
    by_question_type,
    cites,
    counts,
    hit_rank,
    latency_metrics,
    relevance_metrics,
    retrieval_metrics,
    unanswerable_metrics,
)
from retrieval.evaluation.question_type import question_type
from retrieval.evaluation.tradeoff import threshold_tradeoff
from retrieval.types import Quote

#: The report sections whose numbers are compared between runs.
COMPARED_SECTIONS = ("answerable", "unanswerable", "retrieval", "relevance", "latency_ms")
#: The sections every report has (older reports may lack the others: they compare as missing).
REQUIRED_SECTIONS = ("answerable", "unanswerable", "latency_ms")
#: Suffix of the per-question file written beside ``report.json``.
QUESTIONS_SUFFIX = ".questions.jsonl"


class ReportError(VerbatimError):
    """An earlier report (for ``--compare``) is missing or is not a harness report."""


@dataclass(frozen=True)
class Change:
    """One metric of one retriever in an earlier and in this report."""

    retriever: str
    section: str
    metric: str
    old: float | None
    new: float | None

    @property
    def delta(self) -> float | None:
        if self.old is None or self.new is None:
            return None
        return self.new - self.old


def summarize_run(
    results: Sequence[QuestionResult], *, retriever: str, min_relevance: float
) -> dict[str, Any]:
    """The metrics block of one retriever's run."""
    return {
        "answerable": answerable_metrics(results),
        "unanswerable": unanswerable_metrics(results),
        "latency_ms": latency_metrics([result.latency_ms for result in results]),
        "counts": counts(results),
        "threshold_tradeoff": threshold_tradeoff(results, min_relevance),
        "retrieval": retrieval_metrics(results),
        "relevance": relevance_metrics(results),
        "by_question_type": by_question_type(results),
        "retriever": retriever,
    }


def build_report(
    runs: Mapping[str, Sequence[QuestionResult]],
    *,
    min_relevance: Mapping[str, float],
    settings: Mapping[str, Any],
) -> dict[str, Any]:
    """The whole report; the first entry of ``runs`` is the primary run.

    ``min_relevance`` is each run's decline threshold (``-inf``: that retriever never declines).
    """
    if not runs:
        raise ValueError("a report needs at least one run")
    blocks = {
        name: summarize_run(results, retriever=name, min_relevance=min_relevance[name])
        for name, results in runs.items()
    }
    primary = blocks[next(iter(blocks))]
    return {
        "answerable": primary["answerable"],
        "unanswerable": primary["unanswerable"],
        "latency_ms": primary["latency_ms"],
        "counts": primary["counts"],
        "settings": dict(settings),
        "threshold_tradeoff": primary["threshold_tradeoff"],
        "retrieval": primary["retrieval"],
        "relevance": primary["relevance"],
        "by_question_type": primary["by_question_type"],
        "retriever": primary["retriever"],
        "runs": blocks,
    }


def questions_path(report_path: Path) -> Path:
    """Where the per-question file of ``report_path`` goes: ``report.json`` gives
    ``report.questions.jsonl``."""
    return report_path.with_name(report_path.stem + QUESTIONS_SUFFIX)


def write_report(
    report: Mapping[str, Any], runs: Mapping[str, Sequence[QuestionResult]], path: Path
) -> Path:
    """Write the report to ``path`` and one line per (retriever, question) beside it.

    Returns the per-question file's path. Parent folders are created.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    lines_path = questions_path(path)
    with lines_path.open("w", encoding="utf-8") as out:
        for name, results in runs.items():
            for result in results:
                out.write(json.dumps(question_record(result, name), ensure_ascii=False) + "\n")
    return lines_path


def question_record(result: QuestionResult, retriever: str) -> dict[str, Any]:
    """One line of the per-question file.

    ``hit_rank`` is for the quotes shown; ``raw_hit_rank`` for the quotes the engine found
    before the threshold (it tells a wrong decline from a retrieval miss).
    """
    question, answer = result.question, result.answer
    rank = result.hit_rank
    return {
        "retriever": retriever,
        "id": question.id,
        "question": question.question,
        "question_type": question_type(question.question),
        "gold": list(question.answers),
        "sources": list(question.sources),
        "status": answer.status,
        "uncertain": answer.uncertain,
        "relevance": result.raw.relevance,
        "hit_rank": rank,
        "raw_hit_rank": hit_rank(result.raw.quotes, question.answers),
        "cited": cites(answer.quotes[rank - 1], question.sources) if rank else None,
        "latency_ms": result.latency_ms,
        "quotes": [_quote_record(quote) for quote in answer.quotes],
        "closest_topics": list(answer.closest_topics),
        "message": answer.message,
    }


def _quote_record(quote: Quote) -> dict[str, Any]:
    return {
        "text": quote.text,
        "source": quote.source.id,
        "start": quote.start,
        "end": quote.end,
        "pages": list(quote.pages) if quote.pages else None,
        "score": quote.score,
        "also_in": [extract.source.id for extract in quote.also_in],
    }


def load_report(path: Path) -> dict[str, Any]:
    """Read an earlier report for comparison; raises ReportError if it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ReportError(f"No report at {path} to compare with: check the path.") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"{path} is not a readable JSON report ({exc}).") from exc
    if not isinstance(data, dict) or not all(
        isinstance(data.get(section), dict) for section in REQUIRED_SECTIONS
    ):
        raise ReportError(
            f"{path} is not a report of `verbatim eval` (it lacks {', '.join(REQUIRED_SECTIONS)})."
        )
    return data


def compare_reports(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Every compared metric of every retriever in ``new`` next to its value in ``old``.

    Runs are matched by retriever name; the primary runs are matched with each other when the
    old report names no runs (or not this one). Metrics missing on either side come as None.
    """
    changes: list[Change] = []
    new_runs = _runs(new)
    old_runs = _runs(old)
    new_primary = next(iter(new_runs))
    for name, block in new_runs.items():
        old_block = old_runs.get(name)
        if old_block is None and name == new_primary:
            old_block = old_runs[next(iter(old_runs))]
        for section in COMPARED_SECTIONS:
            new_section = block.get(section) or {}
            old_section = (old_block or {}).get(section) or {}
            for metric in new_section:
                changes.append(
                    Change(
                        name,
                        section,
                        metric,
                        _number(old_section.get(metric)),
                        _number(new_section.get(metric)),
                    )
                )
    return changes


def _runs(report: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The runs of a report by retriever, primary first."""
    primary_name = str(report.get("retriever") or "primary")
    runs: dict[str, Mapping[str, Any]] = {primary_name: report}
    extra = report.get("runs")
    if isinstance(extra, dict):
        runs.update({str(k): v for k, v in extra.items() if isinstance(v, dict)})
    return runs


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None
