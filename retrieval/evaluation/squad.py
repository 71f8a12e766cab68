"""SQuAD 1.1/2.0 files as a question set plus the corpus its paragraphs make.

One document per article title: id = the title, title = the title with underscores as spaces,
text = the paragraphs joined with a blank line. Every question's source is its article; gold
answers are the answer texts (deduplicated); questions marked ``is_impossible`` must be declined.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from retrieval.evaluation.gold import Question, QuestionSetError, checked_text, parse_json
from retrieval.types import Document, Span

#: What joins the paragraphs of one article into its document text.
PARAGRAPH_SEPARATOR = "\n\n"


def parse_squad(text: str, path: Path) -> tuple[tuple[Question, ...], tuple[Document, ...]]:
    """The questions and documents of a SQuAD file's JSON ``text`` (``path`` for messages).

    Each document's ``indexable`` spans are its paragraphs, so the separators are not indexed.
    Articles that repeat a title are merged into one document, in file order.
    """
    try:
        data = parse_json(text, str(path))
    except json.JSONDecodeError as exc:
        raise QuestionSetError(
            f"{path} is not valid JSON ({exc.msg}, line {exc.lineno}); a .json question set "
            "must be a SQuAD 1.1/2.0 file."
        ) from exc
    articles = data.get("data") if isinstance(data, dict) else None
    if not isinstance(articles, list):
        raise QuestionSetError(
            f"{path} is not a SQuAD file (no 'data' list of articles). Use .jsonl or .csv for "
            "a question set of your own."
        )
    paragraphs: dict[str, list[str]] = {}
    questions: list[Question] = []
    seen: set[str] = set()
    for number, article in enumerate(articles, start=1):
        where = f"{path}, article {number}"
        title = _field(article, "title", str, where)
        if not title.strip():
            raise QuestionSetError(f"{where} has an empty 'title'.")
        for paragraph in _field(article, "paragraphs", list, where):
            context = _field(paragraph, "context", str, where)
            paragraphs.setdefault(title, []).append(context)
            for qa in _field(paragraph, "qas", list, where):
                question = _question(qa, title, where)
                if question.id in seen:
                    raise QuestionSetError(f"{where} repeats the question id {question.id!r}.")
                seen.add(question.id)
                questions.append(question)
    if not questions:
        raise QuestionSetError(f"{path} holds no questions.")
    documents = tuple(_document(title, texts) for title, texts in paragraphs.items())
    return tuple(questions), documents


def _question(qa: Any, title: str, where: str) -> Question:
    qid = str(_field(qa, "id", (str, int), where))
    text = _field(qa, "question", str, f"{where}, question {qid}")
    impossible = bool(qa.get("is_impossible", False))
    answers: tuple[str, ...] = ()
    if not impossible:
        items = _field(qa, "answers", list, f"{where}, question {qid}")
        texts = (item.get("text") for item in items if isinstance(item, dict))
        answers = tuple(
            dict.fromkeys(
                checked_text(t, "answers", f"{where}, question {qid}")
                for t in texts
                if isinstance(t, str) and t.strip()
            )
        )
        if not answers:
            raise QuestionSetError(
                f"{where}, question {qid} is not marked impossible but has no answer texts."
            )
    return Question(id=qid, question=text, answers=answers, sources=(title,))


def _document(title: str, texts: list[str]) -> Document:
    spans: list[Span] = []
    offset = 0
    for text in texts:
        if text.strip():
            spans.append(Span(start=offset, end=offset + len(text)))
        offset += len(text) + len(PARAGRAPH_SEPARATOR)
    return Document(
        id=title,
        title=title.replace("_", " "),
        text=PARAGRAPH_SEPARATOR.join(texts),
        indexable=tuple(spans),
    )


def _field(record: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(record, dict) or key not in record:
        raise QuestionSetError(f"{where} has no {key!r}; is this a SQuAD file?")
    value = record[key]
    if not isinstance(value, kind):
        raise QuestionSetError(f"{where}: {key!r} has the wrong type for a SQuAD file.")
    if isinstance(value, str):
        checked_text(value, key, where)
    return value
