"""Plain-text rendering of answers for the terminal: quotes, citations, agreement, declines."""

from __future__ import annotations

import json
import textwrap

from retrieval.types import Answer, DocumentInfo, Extract, Source

WRAP = 88
INDENT = "    "


def citation(source: Source) -> str:
    """``Title — date (id)``, leaving out what is unknown."""
    parts = [source.title or source.id]
    if source.date:
        parts.append(source.date)
    text = " — ".join(parts)
    if source.title:
        text += f" ({source.id})"
    if source.url:
        text += f" <{source.url}>"
    return text


def _position(extract: Extract) -> str:
    if extract.first_sentence == extract.last_sentence:
        return f"sentence {extract.first_sentence + 1}"
    return f"sentences {extract.first_sentence + 1}–{extract.last_sentence + 1}"


def _quoted(text: str) -> str:
    lines = text.splitlines() or [""]
    wrapped = [
        textwrap.fill(line, WRAP, initial_indent=INDENT, subsequent_indent=INDENT)
        if line.strip()
        else ""
        for line in lines
    ]
    return "\n".join(wrapped)


def render_answer(answer: Answer) -> str:
    """The answer as a person reads it in a terminal."""
    if answer.status == "invalid_question":
        return answer.message or "Please ask a question."
    if not answer.answered:
        lines = [answer.message or "I couldn't find this in the articles."]
        if answer.closest_topics:
            lines.append("The articles cover, among others: " + "; ".join(answer.closest_topics))
        return "\n".join(lines)
    blocks = []
    for number, quote in enumerate(answer.quotes, start=answer.offset + 1):
        block = [
            f"[{number}]",
            _quoted(quote.text),
            f"{INDENT}— {citation(quote.source)}, {_position(quote)}",
        ]
        for other in quote.also_in:
            block.append(f"{INDENT}  Agrees: {citation(other.source)}, {_position(other)}")
        blocks.append("\n".join(block))
    if answer.has_more:
        blocks.append(
            f"(more quotes available: ask again with --offset {answer.offset + len(answer.quotes)})"
        )
    return "\n\n".join(blocks)


def render_json(answer: Answer) -> str:
    """The typed result as JSON: ``answered``, ``quotes`` with sources, closest topics."""
    payload = answer.model_dump(mode="json")
    payload = {"answered": answer.answered, **payload}
    return json.dumps(payload, ensure_ascii=False, indent=2)


def render_sources(items: list[DocumentInfo]) -> str:
    """One line per indexed document."""
    lines = [f"{len(items)} documents indexed:"]
    for item in items:
        src = item.source
        title = src.title or "(no title)"
        date = f", {src.date}" if src.date else ""
        lines.append(
            f"  {src.id}: {title}{date} — {item.sentences} sentences, {item.chars:,} chars"
        )
    return "\n".join(lines)
