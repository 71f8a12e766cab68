"""``verbatim eval-followups``: follow-up questions answered with and without their context.

For each pair of the set (format in ``retrieval.evaluation.followups``) the first question is
answered, then the follow-up with that answer as its context, as the chat and the bot do, and
the same follow-up alone. It prints hit@1 and hit@k of both per corpus and, with ``--out``,
writes them with every pair's ranks and top quotes as JSON.

Every corpus the pairs name needs an index: ``--index seeds=DIR`` (one already built) or
``--corpus squad=PATH`` (a folder or file of articles, or a SQuAD file whose paragraphs are
the articles, indexed under .verbatim/eval/ as ``verbatim eval`` does it).
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.eval_cmd import (
    EvalInputError,
    cached_index,
    check_writable,
    engine_settings_from,
    reporting_errors,
)
from bot.settings import Settings

DESCRIPTION = (
    "Answer each follow-up of a set (JSONL pairs of a first question, a follow-up leaning on it "
    "and the follow-up's gold answers) with the first answer as its context and alone, and "
    "report hit@1 and hit@k of both per corpus. Name each corpus's index with --index NAME=DIR "
    "or --corpus NAME=PATH (a corpus or a SQuAD file, indexed under .verbatim/eval/)."
)


def add_parser(subparsers: Any) -> None:
    """Add the ``eval-followups`` command to the ``verbatim`` sub-command parsers."""
    parser = subparsers.add_parser(
        "eval-followups",
        help="measure follow-up questions with and without their context",
        description=DESCRIPTION,
    )
    parser.add_argument("pairs", type=Path, metavar="PAIRS.jsonl", help="the follow-up pairs")
    parser.add_argument(
        "--index",
        dest="indexes",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="the index of the corpus the pairs call NAME (repeat for each corpus)",
    )
    parser.add_argument(
        "--corpus",
        dest="corpora",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="index this corpus (or SQuAD file) for the pairs of corpus NAME",
    )
    parser.add_argument("--out", type=Path, metavar="REPORT.json", help="write the figures here")
    parser.add_argument("-k", "--top-k", dest="top_k", type=int, metavar="N", help="quotes shown")
    parser.add_argument(
        "--min-relevance", dest="min_relevance", type=float, metavar="X", help="decline threshold"
    )
    parser.set_defaults(func=run)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    # Imported here: they load numpy, FAISS and the model's libraries.
    from retrieval.config import new_encoder
    from retrieval.engine import Engine
    from retrieval.evaluation.followups import (
        format_summary,
        load_pairs,
        per_pair,
        run_pairs,
        summarise,
    )

    engine_settings = engine_settings_from(args, settings)
    pairs = load_pairs(args.pairs)
    named = sorted({pair.corpus for pair in pairs})
    indexes = corpus_flags(args.indexes, "--index")
    corpora = corpus_flags(args.corpora, "--corpus")
    given = {**indexes, **corpora}
    both = set(indexes) & set(corpora)
    if both:
        raise EvalInputError(f"corpus {sorted(both)[0]!r} has both --index and --corpus: keep one.")
    missing = [name for name in named if name not in given]
    if missing:
        raise EvalInputError(
            f"the pairs ask about corpus {missing[0]!r} but no index was named for it: add "
            f"--index {missing[0]}=DIR or --corpus {missing[0]}=PATH."
        )
    unused = sorted(set(given) - set(named))
    if unused:
        raise EvalInputError(
            f"no pair is about corpus {unused[0]!r} (the pairs name {', '.join(named)})."
        )
    if args.out:
        check_writable(args.out)
    encoder = new_encoder(engine_settings)
    results = []
    index_dirs: dict[str, str] = {}
    for name in named:
        if name in corpora:
            index_dir = cached_index(corpora[name], engine_settings, encoder)
        else:
            index_dir = indexes[name]
        index_dirs[name] = str(index_dir)
        engine = Engine.open(index_dir, engine_settings, encoder=encoder)
        try:
            chosen = [pair for pair in pairs if pair.corpus == name]
            results.extend(
                run_pairs(
                    engine,
                    chosen,
                    top_k=engine_settings.top_k,
                    min_relevance=engine_settings.min_relevance,
                )
            )
        finally:
            engine.close()
    summary = summarise(results)
    print(format_summary(summary, engine_settings.top_k))
    if args.out:
        report = {
            "settings": {
                "pairs": str(args.pairs),
                "indexes": index_dirs,
                "model": engine_settings.model,
                "top_k": engine_settings.top_k,
                "min_relevance": engine_settings.min_relevance,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            },
            "summary": summary,
            "pairs": per_pair(results),
        }
        try:
            args.out.write_text(
                json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
            )
        except OSError as exc:
            raise EvalInputError(f"Cannot write {args.out}: {exc.strerror or exc}.") from exc
        print(f"\nReport: {args.out}")
    return 0


def corpus_flags(values: list[str], flag: str) -> dict[str, Path]:
    """``NAME=PATH`` flags as a mapping; a malformed or repeated one is an EvalInputError."""
    found: dict[str, Path] = {}
    for value in values:
        name, sep, path = value.partition("=")
        name, path = name.strip(), path.strip()
        if not sep or not name or not path:
            raise EvalInputError(f"{flag} {value!r}: write it as {flag} NAME=PATH.")
        if name in found:
            raise EvalInputError(f"{flag} names corpus {name!r} twice: keep one.")
        found[name] = Path(path)
    return found


#: Run the measurement; 0 on success, 2 with a message on stderr for bad input.
run = reporting_errors("eval-followups", _run)
