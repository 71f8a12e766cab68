"""``verbatim eval``: replay a question set through the engine and report how it did.

The index comes from ``--index DIR``, from ``--corpus PATH`` (built or updated under a cache
folder), from the SQuAD file itself (its paragraphs are the corpus), or else from the settings.
Several retrievers (``--retriever dense,lexical --retriever hybrid``) run side by side on the
same questions; the first is the report's primary run.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast, get_args

from bot.settings import Settings
from retrieval.config import EngineSettings, Retriever
from retrieval.errors import VerbatimError
from retrieval.evaluation.questions import Question, QuestionSet, load_questions

if TYPE_CHECKING:
    from embeddings import Encoder
    from retrieval.types import Document

#: Where indexes built for ``--corpus`` and SQuAD files are kept between runs.
EVAL_CACHE_DIR = Path(".verbatim/eval")
#: Where the report goes without ``--out``.
DEFAULT_REPORT_DIR = Path("reports")
#: Hex digits of the path hash in a cache folder's name.
CACHE_HASH_CHARS = 10
#: The suffix of a SQuAD file, whose paragraphs are the corpus.
SQUAD_SUFFIX = ".json"
#: Exit status for bad input (as argparse uses).
EXIT_BAD_INPUT = 2
RETRIEVERS: tuple[str, ...] = get_args(Retriever)
DESCRIPTION = (
    "Replay a question set (JSONL, CSV or SQuAD JSON) through the answering function and report "
    "hit@1, hit@k, MRR, citation accuracy, declines and latency, with the decline threshold's "
    "trade-off. The index is DIR, or one built from PATH (or from the SQuAD file's own "
    "paragraphs) under .verbatim/eval/, or else the configured one."
)


class EvalInputError(VerbatimError):
    """A flag of ``verbatim eval`` has a value that cannot be used."""


def add_parser(subparsers: Any) -> None:
    """Add the ``eval`` command to the ``verbatim`` sub-command parsers."""
    parser = subparsers.add_parser(
        "eval",
        help="replay a question set and report hits, declines and latency",
        description=DESCRIPTION,
    )
    parser.add_argument(
        "questions", type=Path, metavar="QUESTIONS", help="a .jsonl, .csv or SQuAD .json file"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--index",
        dest="index_dir",
        type=Path,
        metavar="DIR",
        help=(
            "the index to ask (for a SQuAD file: a new folder for its articles, or one holding "
            "them from an earlier run; an index of other documents is never replaced)"
        ),
    )
    where.add_argument("--corpus", type=Path, metavar="PATH", help="index this corpus and ask it")
    parser.add_argument("--out", type=Path, metavar="REPORT.json", help="where the report goes")
    parser.add_argument("--compare", type=Path, metavar="OLD.json", help="an earlier report")
    parser.add_argument(
        "--retriever",
        dest="retrievers",
        action="append",
        metavar="NAME",
        help=f"{'|'.join(RETRIEVERS)}; repeat or comma-separate to run several side by side",
    )
    parser.add_argument("-k", "--top-k", dest="top_k", type=int, metavar="N", help="quotes shown")
    parser.add_argument("--limit", type=int, metavar="N", help="N questions spread over the set")
    parser.add_argument(
        "--min-relevance",
        dest="min_relevance",
        type=float,
        metavar="X",
        help="decline threshold (default: each retriever's own; dense, lexical and rrf have none)",
    )
    parser.add_argument(
        "--ranker-folds",
        dest="ranker_folds",
        type=Path,
        metavar="DIR",
        help="score each article with the fold model trained without it (retrieval.learn.train)",
    )
    parser.set_defaults(func=run)


Command = Callable[[argparse.Namespace, Settings], int]


def reporting_errors(name: str, work: Command) -> Command:
    """``work`` with bad input told in one line (``verbatim NAME: ...``) and exit code 2."""

    def run(args: argparse.Namespace, settings: Settings) -> int:
        try:
            return work(args, settings)
        except VerbatimError as exc:
            print(f"verbatim {name}: {exc.message}", file=sys.stderr)
            return EXIT_BAD_INPUT

    return run


def _run(args: argparse.Namespace, settings: Settings) -> int:
    # Imported here: they load numpy, FAISS and the model's libraries.
    from retrieval.config import new_encoder
    from retrieval.engine import Engine
    from retrieval.evaluation.folds import load_folds
    from retrieval.evaluation.metrics import QuestionResult
    from retrieval.evaluation.report import (
        build_report,
        compare_reports,
        load_report,
        write_report,
    )
    from retrieval.evaluation.runner import run_questions
    from retrieval.evaluation.table import (
        format_by_type,
        format_changes,
        format_metrics,
        format_tradeoff,
    )

    retrievers = parse_retrievers(args.retrievers, settings.retriever)
    engine_settings = engine_settings_from(args, settings)
    old = load_report(args.compare) if args.compare else None
    question_set = load_questions(args.questions)
    questions = limit_questions(question_set.questions, args.limit)
    out = args.out or DEFAULT_REPORT_DIR / f"eval-{question_set.name}.json"
    check_writable(out)
    # One encoder for the build and the engine: the model loads once.
    encoder = new_encoder(engine_settings)
    ranker_for = load_folds(args.ranker_folds) if args.ranker_folds else None
    index_dir = _index_for(args, settings, question_set, engine_settings, encoder)
    engine = Engine.open(index_dir, engine_settings, encoder=encoder)
    sample = ranker_for(questions[0]) if ranker_for is not None and questions else None
    thresholds: dict[str, float] = {
        name: engine.decline_threshold(name, sample) for name in retrievers
    }
    runs: dict[str, list[QuestionResult]] = {
        name: run_questions(
            engine,
            questions,
            retriever=name,
            top_k=engine_settings.top_k,
            min_relevance=thresholds[name],
            progress=True,
            ranker_for=ranker_for,
        )
        for name in retrievers
    }
    report_settings = {
        "questions": str(args.questions),
        "format": question_set.format,
        "index_dir": str(index_dir),
        "corpus": str(args.corpus) if args.corpus else None,
        "model": engine_settings.model,
        "top_k": engine_settings.top_k,
        "min_relevance": {
            name: value if math.isfinite(value) else None for name, value in thresholds.items()
        },
        "ranker": str(args.ranker_folds) + " (held-out folds)" if args.ranker_folds else "shipped",
        "retrievers": list(retrievers),
        "limit": args.limit,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    report = build_report(runs, min_relevance=thresholds, settings=report_settings)
    try:
        lines_path = write_report(report, runs, out)
    except OSError as exc:
        raise EvalInputError(f"Cannot write the report to {out}: {exc.strerror or exc}.") from exc
    print(format_metrics(report))
    print("\nDecline thresholds: " + describe_thresholds(thresholds))
    by_type = format_by_type(report)
    if by_type:
        print(f"\nBy question type (answerable questions of each kind):\n{by_type}")
    print(f"\nDecline threshold trade-off ({report['retriever']}, k={engine_settings.top_k}):")
    print(format_tradeoff(report["threshold_tradeoff"]))
    if old is not None:
        print(f"\nChange against {args.compare}:")
        print(format_changes(compare_reports(old, report)))
    print(f"\nReport: {out}\nPer question: {lines_path}")
    return 0


def describe_thresholds(thresholds: dict[str, float]) -> str:
    """Each run's decline threshold in words, saying plainly which runs never decline."""
    parts = [
        f"{name} {value:.3f}" if math.isfinite(value) else f"{name} none (never declines)"
        for name, value in thresholds.items()
    ]
    return "; ".join(parts)


def parse_retrievers(values: list[str] | None, default: Retriever) -> tuple[Retriever, ...]:
    """The retrievers named by repeated or comma-separated flags, in order, without repeats."""
    names = [part.strip() for value in values or [] for part in value.split(",") if part.strip()]
    unknown = [name for name in names if name not in RETRIEVERS]
    if unknown:
        raise EvalInputError(
            f"unknown retriever {unknown[0]!r}: choose from {', '.join(RETRIEVERS)}."
        )
    return tuple(cast(Retriever, name) for name in dict.fromkeys(names)) or (default,)


def limit_questions(questions: tuple[Question, ...], limit: int | None) -> tuple[Question, ...]:
    """``limit`` questions spread evenly over the set (all of them without a limit).

    Spread rather than the first ones, because sets like SQuAD are ordered by article.
    """
    if limit is not None and limit < 1:
        raise EvalInputError(f"--limit must be at least 1, not {limit}.")
    if limit is None or limit >= len(questions):
        return questions
    return tuple(questions[i * len(questions) // limit] for i in range(limit))


def cache_dir(corpus: Path, model: str) -> Path:
    """The cache folder of the index built for ``corpus`` with ``model``."""
    key = f"{corpus.resolve()}\n{model}".encode()
    digest = hashlib.sha1(key, usedforsecurity=False).hexdigest()[:CACHE_HASH_CHARS]
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", corpus.stem).strip("-") or "corpus"
    return EVAL_CACHE_DIR / f"{name}-{digest}"


def check_writable(out: Path) -> None:
    """Fail before the run, not after it, when the report cannot be written."""
    if out.is_dir():
        raise EvalInputError(f"--out {out} is a folder: name a .json file.")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EvalInputError(f"Cannot create {out.parent} for the report: {exc.strerror}.") from exc


def engine_settings_from(args: argparse.Namespace, settings: Settings) -> EngineSettings:
    """The engine settings with the ``-k`` and ``--min-relevance`` flags applied."""
    from pydantic import ValidationError

    values = settings.engine().model_dump()
    if args.top_k is not None:
        values["top_k"] = args.top_k
    if args.min_relevance is not None:
        if not math.isfinite(args.min_relevance):
            raise EvalInputError(f"--min-relevance must be a number, not {args.min_relevance}.")
        values["min_relevance"] = args.min_relevance
    try:
        return EngineSettings(**values)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "settings"
        flag = {"top_k": "-k", "min_relevance": "--min-relevance"}.get(field, field)
        raise EvalInputError(f"{flag}: {error['msg']}.") from exc


def _index_for(
    args: argparse.Namespace,
    settings: Settings,
    question_set: QuestionSet,
    engine_settings: EngineSettings,
    encoder: Encoder,
) -> Path:
    """The index to ask, built or updated first when the corpus is given."""
    from retrieval.evaluation.index_guard import check_holds_only
    from retrieval.index.build import build_index

    if question_set.documents is not None:
        if args.corpus:
            raise EvalInputError(
                f"{args.questions} is a SQuAD file and carries its own corpus: drop --corpus."
            )
        if not args.index_dir:
            return cached_index(question_set.path, engine_settings, encoder, question_set)
        # the user's folder: never replace an index of another corpus
        check_holds_only(
            args.index_dir,
            question_set.documents,
            engine_settings,
            encoder=encoder,
            source=question_set.path,
        )
        articles = len(question_set.documents)
        _log(f"indexing the {articles} articles of {args.questions} in {args.index_dir}")
        build_index(
            list(question_set.documents), args.index_dir, engine_settings, encoder=encoder, log=_log
        )
        return Path(args.index_dir)
    if args.corpus:
        return cached_index(args.corpus, engine_settings, encoder)
    return Path(args.index_dir or settings.index_dir)


def cached_index(
    path: Path,
    engine_settings: EngineSettings,
    encoder: Encoder,
    question_set: QuestionSet | None = None,
) -> Path:
    """The index of a corpus (folder or file) or of a SQuAD file's paragraphs, built or
    brought up to date under ``EVAL_CACHE_DIR`` (a second run does no work).

    ``question_set`` is the SQuAD file already read, if it was.
    """
    from retrieval.index.build import build_index

    if not path.exists():
        raise EvalInputError(f"No corpus at {path}: check the path.")
    if question_set is None and path.is_file() and path.suffix.lower() == SQUAD_SUFFIX:
        question_set = load_questions(path)
    index_dir = cache_dir(path, engine_settings.model)
    corpus: Path | list[Document] = path
    if question_set is not None and question_set.documents is not None:
        corpus = list(question_set.documents)
        _log(f"indexing the {len(corpus)} articles of {path} in {index_dir}")
    else:
        _log(f"indexing {path} in {index_dir}")
    report = build_index(corpus, index_dir, engine_settings, encoder=encoder, log=_log)
    for warning in report.warnings:
        _log(warning)
    return index_dir


def _log(message: str) -> None:
    print(message, file=sys.stderr)


#: Run the evaluation; 0 on success, 2 with a message on stderr for bad input.
run = reporting_errors("eval", _run)
