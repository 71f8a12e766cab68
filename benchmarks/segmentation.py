"""Sentences per second when segmenting the SQuAD v2.0 dev paragraphs, and cleaning time.

Run: ``.venv/bin/python -m benchmarks.segmentation [PATH/TO/squad-v2.0-dev.json]``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from retrieval.read.cleaning import clean
from retrieval.split.segment import segment
from retrieval.types import Document

ROOT = Path(__file__).resolve().parents[1]
SQUAD_CANDIDATES = (
    ROOT / "shared" / "data" / "squad-v2.0-dev.json",
    ROOT.parent / "shared" / "data" / "squad-v2.0-dev.json",
)
PASSAGE_SENTENCES = 6
PYSBD_PARAGRAPHS = 200
PYSBD_INSTALL = "pip install -e '.[test]'"


def squad_documents(path: Path) -> list[Document]:
    """One document per SQuAD article, its paragraphs separated by blank lines."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return [
        Document(id=article["title"], text="\n\n".join(p["context"] for p in article["paragraphs"]))
        for article in data["data"]
    ]


def main(argv: list[str]) -> int:
    present = [p for p in SQUAD_CANDIDATES if p.is_file()]
    path = Path(argv[0]) if argv else (present[0] if present else SQUAD_CANDIDATES[-1])
    if not path.is_file():
        print(f"SQuAD file not found: {path}. Pass its path as the first argument.")
        return 1
    documents = squad_documents(path)
    chars = sum(len(d.text) for d in documents)

    started = time.perf_counter()
    cleaned = [clean(d.text) for d in documents]
    clean_seconds = time.perf_counter() - started

    documents = [
        d.model_copy(update={"indexable": c.indexable})
        for d, c in zip(documents, cleaned, strict=True)
    ]
    started = time.perf_counter()
    sentences = passages = 0
    for document in documents:
        cut, grouped = segment(document, passage_sentences=PASSAGE_SENTENCES)
        sentences += len(cut)
        passages += len(grouped)
    seconds = time.perf_counter() - started

    kept = sum(s.end - s.start for c in cleaned for s in c.indexable)
    print(f"documents:   {len(documents)} ({chars:,} characters)")
    print(
        f"cleaning:    {clean_seconds:.3f} s ({len(documents) / clean_seconds:,.0f} documents/s, "
        f"{kept / chars:.1%} of characters kept)"
    )
    print(f"segmenting:  {seconds:.3f} s for {sentences:,} sentences and {passages:,} passages")
    print(f"speed:       {sentences / seconds:,.0f} sentences/s")
    print(f"pysbd:       {pysbd_line(documents)}")
    return 0


def pysbd_line(documents: list[Document]) -> str:
    """pysbd's speed on ``documents`` for comparison, or how to install it when it is missing."""
    speed = pysbd_speed(documents)
    if speed is None:
        return f"not installed, no comparison (it is a test extra: {PYSBD_INSTALL})"
    return f"{speed:,.0f} sentences/s (for comparison)"


def pysbd_speed(documents: list[Document]) -> float | None:
    """Sentences per second of pysbd with offsets, on the first paragraphs only (it is slow).

    None when pysbd is not installed: the product does not need it.
    """
    try:
        import pysbd
    except ImportError:
        return None

    segmenter = pysbd.Segmenter(language="en", clean=False, char_span=True)
    paragraphs = [p for d in documents for p in d.text.split("\n\n")][:PYSBD_PARAGRAPHS]
    started = time.perf_counter()
    count = sum(len(segmenter.segment(p)) for p in paragraphs)
    return count / (time.perf_counter() - started)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
