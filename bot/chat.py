"""The terminal chat: questions line by line from a stream, answers rendered as plain text.

Works interactively (a prompt when the input is a terminal) and piped
(``printf 'question\\n' | verbatim chat``). ``/more`` shows the next quotes for the last
question, ``/sources`` lists the articles, ``/quit`` (or end of input) leaves.
"""

from __future__ import annotations

from typing import TextIO

from bot.render_text import render_answer, render_sources
from retrieval.engine import Engine

PROMPT = "> "
HELP = "Ask a question about the articles. Commands: /more (next quotes), /sources, /help, /quit."


def chat(engine: Engine, stdin: TextIO, stdout: TextIO) -> int:
    """Run the chat until end of input or ``/quit``; returns the exit code."""
    interactive = stdin.isatty()
    if interactive:
        print(f"Verbatim — {engine.info().documents} articles indexed. {HELP}", file=stdout)
    last_question: str | None = None
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
        if command == "/more":
            if last_question is None:
                print("Ask a question first.", file=stdout)
                continue
            answer = engine.answer(last_question, offset=shown)
        else:
            last_question, shown = text, 0
            answer = engine.answer(text)
        shown += len(answer.quotes)
        print(render_answer(answer), file=stdout)
        print(file=stdout, flush=True)
