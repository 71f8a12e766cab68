"""Plain-text rendering of answers for the terminal: quotes, citations, agreement, declines.

Article text may hold control characters (an ANSI escape that recolours or clears the screen,
a bell, a carriage return that overwrites the line). The terminal must not act on them, and
the quote must still show every character it copies, so each one is printed as a visible
escape: ``ESC`` as ``\\x1b``, ``DEL`` as ``\\x7f``. A quote keeps its line breaks; a title,
date or id is one line, so its ``\\n`` and ``\\t`` are escaped too. ``--json`` carries every
string exactly as stored: JSON escapes the C0 controls itself, and :func:`json_text` escapes
DEL and the C1 controls (``\\u009b`` is a CSI too), which decode to the same characters.
"""

from __future__ import annotations

import json
import textwrap

from retrieval.answer.answering import NOT_FOUND_MESSAGE
from retrieval.types import Answer, DocumentInfo, Extract, Source

WRAP = 88
INDENT = "    "
#: The line above a follow-up's answer, naming the question it was answered in.
CONTEXT_NOTE = "(Taking “{question}” as context; /new starts afresh.)"
#: Above the quotes of an answer marked unsure (``Answer.uncertain``).
UNSURE_NOTE = "(Low confidence: these quotes may not answer the question.)"
#: Characters of that question shown.
CONTEXT_QUESTION_CHARS = 120
#: The C0 controls, DEL and the C1 controls (Unicode category Cc), each as a visible escape.
_ESCAPES = {code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0))}
#: DEL and the C1 controls, which JSON may carry raw, as JSON escapes of themselves.
_JSON_ESCAPES = {code: f"\\u{code:04x}" for code in range(0x7F, 0xA0)}
#: The same, but keeping line breaks and tabs (for quote text, which is laid out in lines).
_ESCAPES_IN_LINES = {code: text for code, text in _ESCAPES.items() if chr(code) not in "\n\t"}


def terminal_safe(text: str, *, keep_lines: bool = False) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``), not acted on.

    With ``keep_lines``, line breaks and tabs stay as they are.
    """
    return text.translate(_ESCAPES_IN_LINES if keep_lines else _ESCAPES)


def json_text(payload: object) -> str:
    """``payload`` as indented JSON whose strings decode verbatim and print inertly."""
    return json.dumps(payload, ensure_ascii=False, indent=2).translate(_JSON_ESCAPES)


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
    return terminal_safe(text)


def page_label(pages: tuple[int, int] | None) -> str | None:
    """``p. 4`` or ``pp. 4–5`` for an extract of a PDF; None when its document has no pages."""
    if pages is None:
        return None
    first, last = pages
    return f"p. {first}" if first == last else f"pp. {first}–{last}"


def _position(extract: Extract) -> str:
    if extract.first_sentence == extract.last_sentence:
        where = f"sentence {extract.first_sentence + 1}"
    else:
        where = f"sentences {extract.first_sentence + 1}–{extract.last_sentence + 1}"
    page = page_label(extract.pages)
    return f"{page}, {where}" if page else where


def _quoted(text: str) -> str:
    lines = terminal_safe(text, keep_lines=True).split("\n")
    wrapped = [
        textwrap.fill(line, WRAP, initial_indent=INDENT, subsequent_indent=INDENT)
        if line.strip()
        else ""
        for line in lines
    ]
    return "\n".join(wrapped)


def context_note(answer: Answer) -> str | None:
    """The line saying which earlier question a follow-up was answered in, if it was."""
    if answer.context_question is None:
        return None
    shown = terminal_safe(shorten(answer.context_question, CONTEXT_QUESTION_CHARS))
    return CONTEXT_NOTE.format(question=shown)


def shorten(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def render_answer(answer: Answer) -> str:
    """The answer as a person reads it in a terminal (a follow-up's context line first)."""
    note = context_note(answer)
    body = _render_body(answer)
    return body if note is None else f"{note}\n\n{body}"


def _render_body(answer: Answer) -> str:
    if answer.status == "invalid_question":
        return terminal_safe(answer.message or "Please ask a question.")
    if not answer.answered:
        lines = [terminal_safe(answer.message or NOT_FOUND_MESSAGE)]
        if answer.closest_topics:
            topics = "; ".join(terminal_safe(topic) for topic in answer.closest_topics)
            lines.append(f"The articles cover, among others: {topics}")
        return "\n".join(lines)
    blocks = [UNSURE_NOTE] if answer.uncertain else []
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
    return json_text(payload)


def render_sources(items: list[DocumentInfo]) -> str:
    """One line per indexed document."""
    lines = [f"{len(items)} documents indexed:"]
    for item in items:
        src = item.source
        title = src.title or "(no title)"
        date = f", {src.date}" if src.date else ""
        line = f"{src.id}: {title}{date} — {item.sentences} sentences, {item.chars:,} chars"
        lines.append(f"  {terminal_safe(line)}")
    return "\n".join(lines)
