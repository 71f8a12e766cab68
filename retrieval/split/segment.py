"""Cut a document's indexable text into sentences and passages with exact offsets.

Sentences come from sentencex (Wikimedia's rule-based segmenter, with a compiled core): it
reports character offsets itself and handles abbreviations ("Brig. Gen.", "U.S.") as well as
pysbd, at hundreds of times its speed (pysbd manages about 1,600 sentences a second here,
and its ``char_span`` offsets are found by searching the text, which goes wrong on repeats).

Hostile text is bounded: a paragraph longer than ``SEGMENT_WINDOW_CHARS`` goes to the segmenter
a window at a time (its cost grows with the square of some paragraphs' length: a line of
Japanese, with no space after "。", ran for minutes at 1.8 MB), and a run of text with no
sentence boundary is indexed only up to ``MAX_RUN_ON_CHARS`` (a one-line 49 MB dump was cut
into 49,000 "sentences" to embed). What is left out stays in the stored text; ``segment``
reports it.
"""

from __future__ import annotations

import re

import sentencex

from retrieval.read.cleaning import looks_wrapped
from retrieval.split.language import DEFAULT_LANGUAGE
from retrieval.types import Document, Passage, Sentence, Span

#: Longer "sentences" (tables, run-on text) are cut at whitespace into pieces this long.
MAX_SENTENCE_CHARS = 1000
#: A run with no sentence boundary is indexed up to here (in pieces of ``MAX_SENTENCE_CHARS``);
#: the rest of it is left out: text that long without a full stop is not prose but a dump.
MAX_RUN_ON_CHARS = 20_000
#: Longer paragraphs go to the segmenter in windows this long (no normal paragraph is).
SEGMENT_WINDOW_CHARS = 8_000
#: A sentence end this close to a window's end is decided again in the next window, which
#: sees what follows it.
WINDOW_MARGIN_CHARS = 200
#: Paragraphs of at most this many sentences are grouped with their short neighbours.
SHORT_PARAGRAPH_SENTENCES = 1
_WORD = re.compile(r"\w")
_NON_SPACE = re.compile(r"\S")


def segment(
    document: Document,
    *,
    passage_sentences: int,
    left_out: list[tuple[int, int]] | None = None,
    language: str = DEFAULT_LANGUAGE,
) -> tuple[list[Sentence], list[Passage]]:
    """Sentences and passages of ``document``'s indexable spans (all its text when it has none).

    Each line is a paragraph, except that a hard-wrapped block of lines is one. A passage
    holds consecutive sentences of one paragraph, or of a run of one-sentence paragraphs, at
    most ``passage_sentences`` of them; a longer paragraph is split into passages of nearly
    equal size. Sentences with no letter or
    digit ("—", "***") are left out. The ``[start, end)`` ranges of run-on text left out of
    the index (past ``MAX_RUN_ON_CHARS``) are appended to ``left_out`` when it is given.
    ``language`` (ISO 639-1) picks sentencex's rules ("z. B." ends no German sentence).
    """
    if passage_sentences < 1:
        raise ValueError(f"passage_sentences must be at least 1, not {passage_sentences}")
    text = document.text
    sentences: list[Sentence] = []
    passages: list[Passage] = []
    dropped = left_out if left_out is not None else []
    paragraphs = _paragraphs(text, _spans(document))
    for bounds in _units(text, paragraphs, passage_sentences, dropped, language):
        for group in _groups(len(bounds), passage_sentences):
            first = len(sentences)
            for index in group:
                s, e = bounds[index]
                sentences.append(
                    Sentence(
                        doc_id=document.id,
                        ordinal=len(sentences),
                        start=s,
                        end=e,
                        passage=len(passages),
                        text=text[s:e],
                    )
                )
            passages.append(
                Passage(
                    doc_id=document.id,
                    ordinal=len(passages),
                    start=sentences[first].start,
                    end=sentences[-1].end,
                    first_sentence=first,
                    last_sentence=len(sentences) - 1,
                )
            )
    return sentences, passages


def _units(
    text: str,
    paragraphs: list[tuple[int, int]],
    passage_sentences: int,
    left_out: list[tuple[int, int]],
    language: str,
) -> list[list[tuple[int, int]]]:
    """Sentence ranges per passage unit: a paragraph, or a run of short paragraphs.

    News wire puts every sentence in a paragraph of its own; grouping such runs (up to
    ``passage_sentences``) gives their sentences real context. Longer paragraphs stand alone.
    """
    units: list[list[tuple[int, int]]] = []
    run: list[tuple[int, int]] = []
    for start, end in paragraphs:
        bounds = _sentence_bounds(text, start, end, left_out, language)
        if not bounds:
            continue
        if len(bounds) > SHORT_PARAGRAPH_SENTENCES:
            if run:
                units.append(run)
                run = []
            units.append(bounds)
            continue
        if len(run) + len(bounds) > passage_sentences:
            units.append(run)
            run = []
        run.extend(bounds)
    if run:
        units.append(run)
    return units


def _spans(document: Document) -> list[tuple[int, int]]:
    """The indexable spans in order, clipped to the text and to each other."""
    size = len(document.text)
    raw = document.indexable or (Span(start=0, end=size),)
    spans: list[tuple[int, int]] = []
    last = 0
    for span in sorted(raw, key=lambda s: (s.start, s.end)):
        start, end = max(span.start, last, 0), min(span.end, size)
        if start < end:
            spans.append((start, end))
            last = end
    return spans


def _paragraphs(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Paragraph ranges: lines, or hard-wrapped blocks of lines, within each span."""
    out: list[tuple[int, int]] = []
    for span_start, span_end in spans:
        block: list[tuple[int, int]] = []
        pos = span_start
        for line in text[span_start:span_end].split("\n"):
            if line.strip():
                block.append((pos, pos + len(line)))
            else:
                out.extend(_block_paragraphs(text, block))
                block = []
            pos += len(line) + 1
        out.extend(_block_paragraphs(text, block))
    return out


def _block_paragraphs(text: str, block: list[tuple[int, int]]) -> list[tuple[int, int]]:
    if len(block) > 1 and looks_wrapped([text[s:e].strip() for s, e in block]):
        return [(block[0][0], block[-1][1])]
    return list(block)


def _sentence_bounds(
    text: str, start: int, end: int, left_out: list[tuple[int, int]], language: str
) -> list[tuple[int, int]]:
    """Sentence ranges in ``text[start:end]``, whitespace trimmed, long ones cut."""
    bounds: list[tuple[int, int]] = []
    for s, e in _segments(text, start, end, language):
        s, e = _trim(text, s, e)
        if e - s > MAX_RUN_ON_CHARS:
            cut = _whitespace_before(text, s, s + MAX_RUN_ON_CHARS)
            rest = _trim(text, cut, e)
            if rest[0] < rest[1]:
                left_out.append(rest)
            s, e = _trim(text, s, cut)
        bounds.extend(_cap(text, s, e))
    return [(s, e) for s, e in bounds if _WORD.search(text, s, e)]


def _segments(text: str, start: int, end: int, language: str) -> list[tuple[int, int]]:
    """The segmenter's sentences of ``text[start:end]``, untrimmed, found window by window.

    A window's last sentences, which its end may have cut, are found again at the start of
    the next. A window holding no sentence end at all is part of a run, which ends with the
    first sentence the windows after it find.
    """
    if end - start <= SEGMENT_WINDOW_CHARS:
        return _found(text, start, end, language)
    out: list[tuple[int, int]] = []
    run_start: int | None = None
    pos = start
    while pos < end:
        stop = min(end, pos + SEGMENT_WINDOW_CHARS)
        found = _found(text, pos, stop, language)
        if stop < end:
            if len(found) < 2:  # no sentence ends in this window: a run goes on
                run_start = pos if run_start is None else run_start
                pos = _restart(text, pos, stop)
                continue
            found = [f for f in found[:-1] if f[1] <= stop - WINDOW_MARGIN_CHARS] or found[:1]
        elif not found:
            break
        if run_start is not None:
            found[0] = (run_start, found[0][1])
            run_start = None
        out.extend(found)
        pos = found[-1][1] if stop < end else end
    if run_start is not None:
        out.append((run_start, end))
    return out


def _found(text: str, start: int, end: int, language: str) -> list[tuple[int, int]]:
    """One segmenter call: its sentences of ``text[start:end]``, and any text it left over."""
    chunk = text[start:end]
    out: list[tuple[int, int]] = []
    last = 0
    for found in sentencex.get_sentence_boundaries(language, chunk):
        s, e = max(found["start_index"], last), min(found["end_index"], len(chunk))
        if s >= e:
            continue
        last = e
        out.append((start + s, start + e))
    if chunk[last:].strip():  # text the segmenter left uncovered
        out.append((start + last, end))
    return out


def _restart(text: str, pos: int, stop: int) -> int:
    """Where the window after ``[pos, stop)`` starts when this one held no sentence end.

    A little before ``stop``, at a word's start, so that a sentence end near ``stop`` is
    decided with the text on both sides of it.
    """
    lo = max(pos + 1, stop - WINDOW_MARGIN_CHARS)
    for index in range(lo, stop):
        if text[index - 1].isspace() and not text[index].isspace():
            return index
    return lo


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """``[start, end)`` without the whitespace at either end (empty when it is all space)."""
    first = _NON_SPACE.search(text, start, end)
    if first is None:
        return start, start
    last = end
    while text[last - 1].isspace():
        last -= 1
    return first.start(), last


def _groups(count: int, size: int) -> list[range]:
    """``count`` items in consecutive groups of at most ``size``, as equal as possible."""
    if count == 0:
        return []
    base, extra = divmod(count, -(-count // size))
    groups: list[range] = []
    first = 0
    for index in range(-(-count // size)):
        length = base + (1 if index < extra else 0)
        groups.append(range(first, first + length))
        first += length
    return groups


def _cap(chunk: str, start: int, end: int) -> list[tuple[int, int]]:
    """``[start, end)`` cut at whitespace into pieces of at most ``MAX_SENTENCE_CHARS``."""
    pieces: list[tuple[int, int]] = []
    while end - start > MAX_SENTENCE_CHARS:
        limit = start + MAX_SENTENCE_CHARS
        cut = max(chunk.rfind(" ", start + 1, limit + 1), chunk.rfind("\n", start + 1, limit + 1))
        if cut <= start:
            cut = _whitespace_before(chunk, start, limit)
        pieces.append((start, len(chunk[start:cut].rstrip()) + start))
        start = cut
        while start < end and chunk[start].isspace():
            start += 1
    if start < end:
        pieces.append((start, end))
    return [(s, e) for s, e in pieces if s < e]


def _whitespace_before(chunk: str, start: int, limit: int) -> int:
    """The last whitespace of any kind before ``limit``, or ``limit`` itself (a hard cut)."""
    for index in range(limit, start, -1):
        if chunk[index].isspace():
            return index
    return limit
