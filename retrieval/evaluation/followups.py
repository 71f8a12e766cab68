"""Follow-up pairs: a first question, a follow-up leaning on it, and the follow-up's gold answers.

The file is JSONL, one pair a line::

    {"id": "fs05", "corpus": "seeds", "first": "When did the SDF break into Raqqa?",
     "followup": "How many militants are fighting there?", "answers": ["2,500"]}

- ``id``: unique.
- ``corpus``: which corpus the pair is about (``seeds``, ``squad``): the harness is given one
  index per corpus name.
- ``first``: the question asked first; ``followup``: the next one, as people ask it.
- ``answers``: gold strings of the follow-up (at least one), matched as ``verbatim eval`` does
  (as whole words after SQuAD's normalisation, ``metrics.contains_answer``).
- Other keys are notes for readers (a SQuAD pair's ``squad_ids``, ``article`` and the
  ``rewritten_from`` question) and are ignored.

:func:`run_pairs` asks the first question, then the follow-up with that answer as its context
(``PriorTurn.of``), as the chat and the bot do, and the same follow-up alone. Both are scored
as users get them: the configured decline threshold applies, a decline is a miss.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from retrieval.evaluation.gold import QuestionSetError, checked_text, parse_json
from retrieval.evaluation.metrics import hit_rank, share
from retrieval.types import Answer, PriorTurn

#: The fields every pair must have, all strings but ``answers``.
REQUIRED = ("id", "corpus", "first", "followup", "answers")
#: The key of the summary over every corpus together.
ALL = "all"


class FollowUpAnswerer(Protocol):
    """What the runner needs of an engine: ``Engine.answer`` with a context."""

    def answer(
        self,
        question: str,
        *,
        top_k: int | None = None,
        min_relevance: float | None = None,
        context: PriorTurn | None = None,
    ) -> Answer: ...


@dataclass(frozen=True)
class FollowUpPair:
    """One pair of the set (see the module docstring for the file format)."""

    id: str
    corpus: str
    first: str
    followup: str
    answers: tuple[str, ...]


@dataclass(frozen=True)
class PairResult:
    """A pair replayed: the first answer, the follow-up in its context and the follow-up alone."""

    pair: FollowUpPair
    first: Answer
    with_context: Answer
    alone: Answer

    def rank(self, answer: Answer) -> int | None:
        """Rank (1-based) of the first quote of ``answer`` holding a gold answer, or None."""
        return hit_rank(answer.quotes, self.pair.answers)


def load_pairs(path: Path | str) -> tuple[FollowUpPair, ...]:
    """The pairs of a JSONL file; a QuestionSetError names the line of a bad one."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionSetError(f"Cannot read {path} as UTF-8 text: {exc}.") from exc
    pairs: list[FollowUpPair] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        try:
            record = parse_json(line, where)
        except json.JSONDecodeError as exc:
            raise QuestionSetError(
                f"{where} is not valid JSON ({exc.msg}); a follow-up set holds one JSON object "
                f"a line with the keys {', '.join(REQUIRED)}."
            ) from exc
        pair = _pair(record, where)
        if pair.id in seen:
            raise QuestionSetError(f"{where} repeats the id {pair.id!r}; ids must be unique.")
        seen.add(pair.id)
        pairs.append(pair)
    if not pairs:
        raise QuestionSetError(f"{path} holds no follow-up pairs.")
    return tuple(pairs)


def _pair(record: Any, where: str) -> FollowUpPair:
    if not isinstance(record, dict):
        raise QuestionSetError(f"{where} is not a JSON object with {', '.join(REQUIRED)}.")
    missing = [key for key in REQUIRED if key not in record]
    if missing:
        raise QuestionSetError(f"{where} has no {', '.join(repr(k) for k in missing)}.")
    values: dict[str, str] = {}
    for key in REQUIRED[:-1]:
        value = record[key]
        if not isinstance(value, str) or not value.strip():
            raise QuestionSetError(f"{where}: {key!r} must be a non-empty string.")
        values[key] = checked_text(value, key, where)
    answers = record["answers"]
    if not isinstance(answers, list) or not all(isinstance(a, str) and a.strip() for a in answers):
        raise QuestionSetError(f"{where}: 'answers' must be a list of non-empty strings.")
    if not answers:
        raise QuestionSetError(f"{where}: 'answers' is empty; a follow-up needs a gold answer.")
    return FollowUpPair(answers=tuple(checked_text(a, "answers", where) for a in answers), **values)


def run_pairs(
    engine: FollowUpAnswerer,
    pairs: Sequence[FollowUpPair],
    *,
    top_k: int,
    min_relevance: float | None,
) -> list[PairResult]:
    """Replay each pair through ``engine``: first question, follow-up in context, alone."""
    results: list[PairResult] = []
    for pair in pairs:
        first = engine.answer(pair.first, top_k=top_k, min_relevance=min_relevance)
        with_context = engine.answer(
            pair.followup,
            top_k=top_k,
            min_relevance=min_relevance,
            context=PriorTurn.of(first),
        )
        alone = engine.answer(pair.followup, top_k=top_k, min_relevance=min_relevance)
        results.append(PairResult(pair, first, with_context, alone))
    return results


def summarise(results: Sequence[PairResult]) -> dict[str, dict[str, float | int | None]]:
    """Per corpus (and ``all``): pairs, hit@1 and hit@k with and without context, and the
    share of follow-ups answered in context (found to lean on the first question)."""
    corpora = sorted({r.pair.corpus for r in results})
    summary: dict[str, dict[str, float | int | None]] = {}
    for corpus in [*corpora, ALL]:
        chosen = [r for r in results if corpus in (ALL, r.pair.corpus)]
        ctx = [r.rank(r.with_context) for r in chosen]
        alone = [r.rank(r.alone) for r in chosen]
        summary[corpus] = {
            "pairs": len(chosen),
            "hit_at_1_context": share([rank == 1 for rank in ctx]),
            "hit_at_1_alone": share([rank == 1 for rank in alone]),
            "hit_at_k_context": share([rank is not None for rank in ctx]),
            "hit_at_k_alone": share([rank is not None for rank in alone]),
            "leaned": share([r.with_context.context_question is not None for r in chosen]),
        }
    return summary


def per_pair(results: Sequence[PairResult]) -> list[dict[str, Any]]:
    """One JSON-ready row per pair: what was asked, the ranks and the top quotes."""
    return [
        {
            "id": r.pair.id,
            "corpus": r.pair.corpus,
            "first": r.pair.first,
            "followup": r.pair.followup,
            "answers": list(r.pair.answers),
            "context_question": r.with_context.context_question,
            "rank_context": r.rank(r.with_context),
            "rank_alone": r.rank(r.alone),
            "relevance_context": r.with_context.relevance,
            "first_quote": _top(r.first),
            "top_quote_context": _top(r.with_context),
            "top_quote_alone": _top(r.alone),
        }
        for r in results
    ]


def _top(answer: Answer) -> str | None:
    return answer.quotes[0].text if answer.quotes else None


def format_summary(summary: dict[str, dict[str, float | int | None]], top_k: int) -> str:
    """The summary as a small table: one row per corpus, then all together."""
    header = [
        "corpus",
        "pairs",
        "hit@1 ctx",
        "hit@1 alone",
        "gain",
        f"hit@{top_k} ctx",
        f"hit@{top_k} alone",
        "leaned",
    ]
    rows = [header]
    for corpus, row in summary.items():
        with_context, alone = row["hit_at_1_context"], row["hit_at_1_alone"]
        gain = None if with_context is None or alone is None else with_context - alone
        rows.append(
            [
                corpus,
                str(row["pairs"]),
                _fraction(with_context),
                _fraction(alone),
                _fraction(gain, signed=True),
                _fraction(row["hit_at_k_context"]),
                _fraction(row["hit_at_k_alone"]),
                _fraction(row["leaned"]),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    )


def _fraction(value: float | int | None, *, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.3f}" if signed else f"{value:.3f}"
