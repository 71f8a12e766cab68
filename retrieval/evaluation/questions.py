"""Question sets for the harness: JSONL, CSV or SQuAD JSON read into typed ``Question`` objects.

A question set names, per question, the gold answer strings and the ids of the documents that
hold them. An empty ``answers`` list means the right response is to decline. A SQuAD file also
carries its corpus (see ``retrieval.evaluation.squad``); the other formats refer to a corpus that
is indexed separately.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

from retrieval.evaluation.gold import Question, QuestionSetError, checked_text, parse_json
from retrieval.evaluation.squad import parse_squad
from retrieval.types import Document

QuestionFormat = Literal["jsonl", "csv", "squad"]

#: Separator of list cells in CSV files (``"Lynn Maalouf|Maalouf"``).
CSV_LIST_SEPARATOR = "|"
#: CSV columns that hold lists.
LIST_COLUMNS = ("answers", "sources")
#: File name suffixes and the format each one means.
SUFFIX_FORMATS: dict[str, QuestionFormat] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".json": "squad",
}
#: Characters of a broken line quoted back in an error message.
SNIPPET_CHARS = 60


class _Record(NamedTuple):
    """One raw record of a file and where it was read, for error messages."""

    where: str
    line: int
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class QuestionSet:
    """The questions of one file, plus the corpus when the file carries it (SQuAD)."""

    path: Path
    format: QuestionFormat
    questions: tuple[Question, ...]
    documents: tuple[Document, ...] | None = None

    @property
    def name(self) -> str:
        return self.path.stem


def load_questions(path: Path | str) -> QuestionSet:
    """Read a question set, choosing the format by the file's suffix.

    ``.jsonl`` (one JSON object a line), ``.csv`` (a header row), ``.json`` (SQuAD 1.1/2.0).
    Raises QuestionSetError with a message naming the file and, where it helps, the line.
    """
    path = Path(path)
    if not path.exists():
        raise QuestionSetError(f"No question set at {path}: check the path.")
    if not path.is_file():
        raise QuestionSetError(f"{path} is not a file: give a .jsonl, .csv or SQuAD .json file.")
    fmt = SUFFIX_FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(SUFFIX_FORMATS))
        raise QuestionSetError(
            f"{path} has an unknown suffix {path.suffix!r}: a question set is one of {known}."
        )
    text = _read_text(path)
    if fmt == "squad":
        questions, documents = parse_squad(text, path)
        return QuestionSet(path, fmt, questions, documents)
    questions = _parse_jsonl(text, path) if fmt == "jsonl" else _parse_csv(text, path)
    return QuestionSet(path, fmt, questions)


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise QuestionSetError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    if b"\x00" in data:
        raise QuestionSetError(f"{path} is a binary file, not a question set.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise QuestionSetError(
            f"{path} is not UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8."
        ) from exc


def _parse_jsonl(text: str, path: Path) -> tuple[Question, ...]:
    records: list[_Record] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        try:
            record = parse_json(line, where)
        except json.JSONDecodeError as exc:
            snippet = line.strip()[:SNIPPET_CHARS]
            raise QuestionSetError(
                f"{where} is not valid JSON ({exc.msg}): {snippet!r}. "
                "A .jsonl question set holds one JSON object a line."
            ) from exc
        if not isinstance(record, dict):
            raise QuestionSetError(
                f"{where} holds a JSON {type(record).__name__}, not an object with a 'question'."
            )
        records.append(_Record(where, number, record))
    return _questions(records, path)


def _parse_csv(text: str, path: Path) -> tuple[Question, ...]:
    # Strict: a stray or unclosed quote is an error, not a cell that swallows the lines after
    # it; read from a stream so that a quoted cell keeps its line breaks.
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, dict[str, Any]]] = []
    start = reader.line_num + 1
    try:
        header = list(reader.fieldnames or [])
        start = reader.line_num + 1
        for row in reader:
            rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise QuestionSetError(_csv_problem(path, start, exc)) from exc
    if "question" not in header:
        raise QuestionSetError(
            f"{path} has no 'question' column (header: {', '.join(header) or 'none'}). "
            "A CSV question set has the columns id, question, answers, sources."
        )
    records: list[_Record] = []
    for number, row in rows:
        if None in row:
            raise QuestionSetError(
                f"{path}, line {number} has more cells than the header; quote cells that hold "
                "commas."
            )
        if not any((value or "").strip() for value in row.values()):
            continue
        cells = {
            key: _csv_list(value) if key in LIST_COLUMNS else value for key, value in row.items()
        }
        records.append(_Record(f"{path}, line {number}", number, cells))
    return _questions(records, path)


def _csv_problem(path: Path, start: int, exc: csv.Error) -> str:
    """The message for a CSV syntax error, naming the line its row starts on."""
    how = 'quote a cell that holds commas, and write a quote inside a quoted cell as "".'
    if "unexpected end of data" in str(exc):
        return (
            f'{path}, line {start}: a quoted cell opens with " and is never closed (the file '
            f"ends inside it); close it, or {how}"
        )
    return f"{path}, line {start} is not valid CSV ({exc}); {how}"


def _csv_list(cell: str | None) -> list[Any]:
    """A list cell: a JSON list (``["a", "b"]``) or ``|``-separated values; empty is ``[]``."""
    cell = (cell or "").strip()
    if not cell:
        return []
    if cell.startswith("["):
        try:
            value = json.loads(cell)
        except (ValueError, RecursionError):  # not a JSON list after all: read it as text
            pass
        else:
            if isinstance(value, list):
                return value
    return [part.strip() for part in cell.split(CSV_LIST_SEPARATOR) if part.strip()]


def _questions(records: Iterable[_Record], path: Path) -> tuple[Question, ...]:
    """Validate records into questions; ids must be unique (a missing id becomes ``line-N``)."""
    questions: list[Question] = []
    seen: dict[str, str] = {}
    for where, number, record in records:
        question = record.get("question")
        if question is None:
            raise QuestionSetError(f"{where} has no 'question'.")
        if not isinstance(question, str):
            raise QuestionSetError(f"{where}: 'question' must be a string.")
        checked_text(question, "question", where)
        raw_id = record.get("id")
        qid = f"line-{number}" if raw_id is None or raw_id == "" else str(raw_id)
        checked_text(qid, "id", where)
        if qid in seen:
            raise QuestionSetError(
                f"{where} repeats the id {qid!r} (first at {seen[qid]}); ids must be unique."
            )
        seen[qid] = where
        questions.append(
            Question(
                id=qid,
                question=question,
                answers=_strings(record.get("answers"), "answers", where),
                sources=_strings(record.get("sources"), "sources", where),
            )
        )
    if not questions:
        raise QuestionSetError(f"{path} holds no questions.")
    return tuple(questions)


def _strings(value: Any, key: str, where: str) -> tuple[str, ...]:
    """A list of non-empty strings; a lone string counts as a list of one."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise QuestionSetError(f"{where}: {key!r} must be a list of strings.")
    return tuple(dict.fromkeys(checked_text(item, key, where) for item in value if item.strip()))
