"""``verbatim feedback --export CSV``: questions asked, answers shown and 👍 / 👎, for review."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot.settings import Settings

EXIT_OK = 0
EXIT_USAGE = 2
STDOUT = "-"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "feedback",
        help="export the bot's question and feedback log",
        description=(
            "Export the questions the bot was asked, the answer shown for each and its "
            "👍 / 👎 counts as CSV. User ids appear only as salted hashes."
        ),
    )
    parser.add_argument(
        "--export", metavar="CSV", required=True, help=f"file to write ({STDOUT!r} for stdout)"
    )
    parser.add_argument("--db", type=Path, help="feedback database (default VERBATIM_FEEDBACK_DB)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Write the CSV; a missing database is a clear error, not an empty file."""
    from bot.telegram.feedback import FeedbackStore

    db: Path = args.db or settings.feedback_db
    if not db.is_file():
        print(
            f"verbatim feedback: no feedback database at {db}; it is created when the bot "
            "(verbatim serve) answers its first question.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    store = FeedbackStore(db)
    try:
        if args.export == STDOUT:
            rows = store.export_csv(sys.stdout)
        else:
            out = Path(args.export)
            out.parent.mkdir(parents=True, exist_ok=True)
            with out.open("w", newline="", encoding="utf-8") as handle:
                rows = store.export_csv(handle)
    finally:
        store.close()
    where = "stdout" if args.export == STDOUT else args.export
    print(f"Exported {rows} answers to {where}.", file=sys.stderr)
    return EXIT_OK
