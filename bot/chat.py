"""The terminal chat: questions line by line from a stream, answers rendered as plain text.

Works interactively (a prompt when the input is a terminal) and piped
(``printf 'question\\n' | verbatim chat``). The last answered question and its quotes are the
context of the next one, so a follow-up ("when was that?") is answered in it; ``/new`` starts
afresh. ``/more`` shows the next quotes for the last question, ``/sources`` lists the articles,
``/quit`` (or end of input) leaves.
"""

from __future__ import annotations

from typing import TextIO

from bot.render_text import render_answer, render_sources
from retrieval.engine import Engine
from retrieval.types import PriorTurn

PROMPT = "> "
HELP = (
    "Ask a question about the articles; a follow-up (“when was that?”) is answered in the "
    "context of the last answer. Commands: /more (next quotes), /new (start afresh), /sources, "
    "/help, /quit."
)
ASK_FIRST = "Ask a question first."
STARTED_AFRESH = "Starting afresh: the next question stands on its own."


def chat(engine: Engine, stdin: TextIO, stdout: TextIO) -> int:
    """Run the chat until end of input or ``/quit``; returns the exit code."""
    interactive = stdin.isatty()
    if interactive:
        print(f"Verbatim — {engine.info().documents} articles indexed. {HELP}", file=stdout)
    last_question: str | None = None
    last_context: PriorTurn | None = None  # what the last question was asked in
    context: PriorTurn | None = None  # what the next question may lean on
    shown = 0
    while True:
        if interactive:
            print(PROMPT, end="", file=stdout, flush=True)
        line = stdin.readline()
        if not line:
            return 0
        text = line.strip()
        if not text:
            continue
        command = text.lower()
        if command in {"/quit", "/exit", "quit", "exit"}:
            return 0
        if command == "/help":
            print(HELP, file=stdout)
            continue
        if command == "/sources":
            print(render_sources(engine.sources()), file=stdout)
            continue
        if command == "/new":
            last_question, last_context, context, shown = None, None, None, 0
            print(STARTED_AFRESH, file=stdout)
            continue
        if command == "/more":
            if last_question is None:
                print(ASK_FIRST, file=stdout)
                continue
            answer = engine.answer(last_question, offset=shown, context=last_context)
        else:
            last_question, last_context, shown = text, context, 0
            answer = engine.answer(text, context=context)
            if answer.answered:
                context = PriorTurn.of(answer)
        shown += len(answer.quotes)
        print(render_answer(answer), file=stdout)
        print(file=stdout, flush=True)
