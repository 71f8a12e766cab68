"""The ``verbatim`` command line: index, ask, chat, sources, eval(-followups), serve, feedback.

Every command builds the one settings object (flags over environment over config file) and
calls the engine; errors a person can fix are printed as one clear message (exit code 2).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

# Imported eagerly (they are small and import nothing heavy at module level), so a broken
# import fails here, loudly, instead of silently dropping a command.
from bot import eval_cmd, feedback_cmd, followups_cmd, serve_cmd
from bot.settings import Settings, load_settings
from retrieval.errors import VerbatimError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
#: What a shell reports for a process killed by SIGPIPE (128 + 13).
EXIT_BROKEN_PIPE = 141

Command = Callable[[argparse.Namespace, Settings], int]
#: The modules that add a subcommand each (``add_parser(subparsers)`` sets its ``func``).
SUBCOMMAND_MODULES = (eval_cmd, followups_cmd, serve_cmd, feedback_cmd)
#: The flag that sets each settings field, for messages about bad values.
SETTING_FLAGS = {
    "index_dir": "--index",
    "model": "--model",
    "encoder": "--encoder",
    "top_k": "-k",
    "index_type": "--index-type",
    "language": "--language",
}
logger = logging.getLogger(__name__)
#: ``verbatim index`` given this is adding an article from the web, not indexing a path.
LINK = re.compile(r"https?://", re.IGNORECASE)


def _engine(settings: Settings) -> Any:
    from retrieval.engine import Engine

    return Engine.open(settings.index_dir, settings.engine())


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    from retrieval.index.build import build_index

    if args.path and LINK.match(args.path):
        if args.ray:
            raise VerbatimError("--ray encodes a corpus in bulk; index a link without it.")
        return _index_link(args, settings)
    corpus = Path(args.path) if args.path else settings.corpus
    engine_settings = settings.engine().model_copy(update={"progress": not args.quiet})
    say = (lambda _m: None) if args.quiet else (lambda m: print(m, file=sys.stderr))
    encoder = None
    if args.ray:
        from embeddings import EncoderError
        from embeddings.ray_backend import RayEncoder

        try:  # joins the cluster now: an unreachable one is told before any work
            encoder = RayEncoder(
                engine_settings.model,
                address=args.ray,
                backend=engine_settings.encoder,
                batch_size=engine_settings.batch_size,
            ).load()
        except EncoderError as exc:
            raise VerbatimError(str(exc)) from exc
        say(f"encoding on the Ray cluster at {args.ray}")
    report = build_index(
        corpus,
        settings.index_dir,
        engine_settings,
        rebuild=args.rebuild,
        encoder=encoder,
        log=say,
    )
    changes = (
        f"{len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.removed)} removed, {report.unchanged} unchanged"
    )
    state = "written" if report.wrote else "already up to date"
    print(
        f"Index {state} at {report.index_dir}: {report.documents} documents, "
        f"{report.sentences} sentences, {report.passages} passages ({changes}; "
        f"{len(report.skipped)} files skipped) in {report.seconds:.1f}s"
    )
    for note in report.notes:
        print(f"  {note}")
    for warning in report.warnings:
        print(warning, file=sys.stderr)
    return EXIT_OK


def _index_link(args: argparse.Namespace, settings: Settings) -> int:
    """``verbatim index URL``: fetch the article, save it in the corpus, index incrementally."""
    from retrieval.index.ingest import add_url

    policy = settings.fetch_policy()
    if args.allow_private:
        policy = dataclasses.replace(policy, allow_private=True)
    engine_settings = settings.engine().model_copy(update={"progress": not args.quiet})
    say = (lambda _m: None) if args.quiet else (lambda m: print(m, file=sys.stderr))
    added = add_url(
        args.path, settings.corpus, settings.index_dir, engine_settings, policy, log=say
    )
    title = f"“{added.title}”" if added.title else added.doc_id
    print(f"Added {title} ({added.url}): {added.sentences} sentences, saved as {added.path}")
    if added.warning:
        print(added.warning, file=sys.stderr)
    return EXIT_OK


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from bot.render_text import render_answer, render_json

    answer = _engine(settings).answer(
        args.question, top_k=args.k, offset=args.offset, retriever=args.retriever
    )
    if answer.status == "invalid_question":  # empty, too long, binary: the caller's mistake
        if args.json:
            print(render_json(answer))
        else:
            print(f"verbatim: {render_answer(answer)}", file=sys.stderr)
        return EXIT_USAGE
    print(render_json(answer) if args.json else render_answer(answer))
    return EXIT_OK


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from bot.chat import chat

    return chat(_engine(settings), sys.stdin, sys.stdout)


def cmd_sources(args: argparse.Namespace, settings: Settings) -> int:
    from bot.render_text import json_text, render_sources

    items = _engine(settings).sources()
    if args.json:
        print(json_text([i.model_dump(mode="json") for i in items]))
    else:
        print(render_sources(items))
    return EXIT_OK


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """What ``make run`` does: make sure an index exists, then the bot or the terminal chat."""
    from retrieval.index.build import build_index
    from retrieval.index.manifest import MANIFEST_FILE

    if not (settings.index_dir / MANIFEST_FILE).exists():
        print(f"Indexing {settings.corpus} into {settings.index_dir} (first run)…", file=sys.stderr)
        report = build_index(
            settings.corpus,
            settings.index_dir,
            settings.engine(),
            log=lambda m: print(m, file=sys.stderr),
        )
        print(
            f"Indexed {report.documents} documents, {report.sentences} sentences.", file=sys.stderr
        )
        for warning in report.warnings:
            print(warning, file=sys.stderr)
    if settings.telegram_bot_token is not None:
        return serve_cmd.run(args, settings)
    print("No TELEGRAM_BOT_TOKEN set: starting the terminal chat.", file=sys.stderr)
    return cmd_chat(args, settings)


_COMMON_FLAGS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (
        ("--index",),
        {
            "dest": "index_dir",
            "metavar": "DIR",
            "help": "index directory (default: VERBATIM_INDEX_DIR or .verbatim/index)",
        },
    ),
    (("--config",), {"metavar": "FILE", "help": "TOML config file (default verbatim.toml)"}),
    (("--model",), {"help": "sentence-transformers model name or path"}),
    (
        ("--encoder",),
        {
            "choices": ["onnx-int8", "onnx", "torch"],
            "help": "how vectors are computed (default onnx-int8; the index records it)",
        },
    ),
    (("-v", "--verbose"), {"action": "store_true", "help": "log details to stderr"}),
]


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    for flags, kwargs in _COMMON_FLAGS:
        common.add_argument(*flags, **kwargs)

    parser = argparse.ArgumentParser(
        prog="verbatim",
        description="Answer questions about articles with verbatim, cited quotes.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "index", parents=[common], help="index a folder or file of articles, or add one by URL"
    )
    p.add_argument(
        "path",
        nargs="?",
        help="folder or file (.txt .md .html .jsonl); default seeds/. An http(s) URL instead "
        "fetches that article into the corpus's received/ folder and indexes it",
    )
    p.add_argument(
        "--allow-private",
        action="store_true",
        help="with a URL: fetch from private and loopback addresses too (an intranet)",
    )
    p.add_argument("--rebuild", action="store_true", help="ignore the existing index, start over")
    p.add_argument(
        "--index-type",
        choices=["auto", "flat", "ivf"],
        help="auto (default: exact search, IVF past 50,000 sentences), flat (exact), ivf",
    )
    p.add_argument(
        "--language",
        metavar="CODE",
        help="the corpus language, an ISO 639-1 code (default: VERBATIM_LANGUAGE, else the "
        "index's own, else en); the "
        "index records it and answers in it",
    )
    p.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="encode on a Ray cluster: auto (the one this machine joined), HOST:PORT, or "
        "local (Ray inside this process); needs pip install 'verbatim-qa[cluster]'",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("ask", parents=[common], help="answer one question")
    p.add_argument("question")
    p.add_argument("-k", type=int, dest="k", metavar="N", help="number of quotes (default 3)")
    p.add_argument("--offset", type=int, default=0, help="skip the first N quotes (for 'more')")
    p.add_argument("--retriever", choices=["dense", "lexical", "rrf", "hybrid"])
    p.add_argument("--json", action="store_true", help="print the typed result as JSON")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", parents=[common], help="interactive chat in the terminal")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("sources", parents=[common], help="list the indexed articles")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_sources)

    p = sub.add_parser("run", parents=[common], help="index seeds if needed, then bot or chat")
    p.set_defaults(func=cmd_run)

    for module in SUBCOMMAND_MODULES:
        before = set(sub.choices)
        module.add_parser(sub)
        for name in set(sub.choices) - before:
            _add_common(sub.choices[name])
    return parser


def _add_common(parser: argparse.ArgumentParser) -> None:
    """Give a contributed subcommand the common flags it does not define itself."""
    taken = {opt for action in parser._actions for opt in action.option_strings}
    for flags, kwargs in _COMMON_FLAGS:
        if not taken.intersection(flags):
            parser.add_argument(*flags, **kwargs)


def _settings_from(args: argparse.Namespace) -> Settings:
    if getattr(args, "config", None):
        os.environ["VERBATIM_CONFIG"] = args.config
    return load_settings(
        SETTING_FLAGS,
        index_dir=getattr(args, "index_dir", None),
        model=getattr(args, "model", None),
        encoder=getattr(args, "encoder", None),
        top_k=getattr(args, "k", None),
        index_type=getattr(args, "index_type", None),
        language=getattr(args, "language", None),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = _settings_from(args)
        return int(args.func(args, settings))
    except VerbatimError as exc:
        print(f"verbatim: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\nverbatim: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (`verbatim sources | head`): stop quietly
        _discard_stdout()
        return EXIT_BROKEN_PIPE
    except Exception as exc:  # a bug: one line for the person, the traceback with -v
        if args.verbose:
            logger.exception("unexpected error")
        print(
            f"verbatim: unexpected error ({type(exc).__name__}: {exc}); run again with -v for "
            "the details.",
            file=sys.stderr,
        )
        return EXIT_FAILED


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so flushing it at exit does not fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (captured output)
        return


if __name__ == "__main__":
    raise SystemExit(main())
