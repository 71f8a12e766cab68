"""Cut a document's indexable text into sentences and passages with exact offsets.

Sentences come from sentencex (Wikimedia's rule-based segmenter, with a compiled core): it
reports character offsets itself and handles abbreviations ("Brig. Gen.", "U.S.") as well as
pysbd, at hundreds of times its speed (pysbd manages about 1,600 sentences a second here,
and its ``char_span`` offsets are found by searching the text, which goes wrong on repeats).
"""

from __future__ import annotations

import re

import sentencex

from retrieval.cleaning import looks_wrapped
from retrieval.types import Document, Passage, Sentence, Span

#: Longer "sentences" (tables, run-on text) are cut at whitespace into pieces this long.
MAX_SENTENCE_CHARS = 1000
#: The segmenter's language rules.
LANGUAGE = "en"
#: Paragraphs of at most this many sentences are grouped with their short neighbours.
SHORT_PARAGRAPH_SENTENCES = 1
_WORD = re.compile(r"\w")


def segment(document: Document, *, passage_sentences: int) -> tuple[list[Sentence], list[Passage]]:
    """Sentences and passages of ``document``'s indexable spans (all its text when it has none).

    Each line is a paragraph, except that a hard-wrapped block of lines is one. A passage
    holds consecutive sentences of one paragraph, or of a run of one-sentence paragraphs, at
    most ``passage_sentences`` of them; a longer paragraph is split into passages of nearly
    equal size. Sentences with no letter or
    digit ("—", "***") are left out.
    """
    if passage_sentences < 1:
        raise ValueError(f"passage_sentences must be at least 1, not {passage_sentences}")
    text = document.text
    sentences: list[Sentence] = []
    passages: list[Passage] = []
    for bounds in _units(text, _paragraphs(text, _spans(document)), passage_sentences):
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
    text: str, paragraphs: list[tuple[int, int]], passage_sentences: int
) -> list[list[tuple[int, int]]]:
    """Sentence ranges per passage unit: a paragraph, or a run of short paragraphs.

    News wire puts every sentence in a paragraph of its own; grouping such runs (up to
    ``passage_sentences``) gives their sentences real context. Longer paragraphs stand alone.
    """
    units: list[list[tuple[int, int]]] = []
    run: list[tuple[int, int]] = []
    for start, end in paragraphs:
        bounds = _sentence_bounds(text, start, end)
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


def _sentence_bounds(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence ranges in ``text[start:end]``, whitespace trimmed, long ones cut."""
    chunk = text[start:end]
    bounds: list[tuple[int, int]] = []
    last = 0
    for found in sentencex.get_sentence_boundaries(LANGUAGE, chunk):
        s, e = max(found["start_index"], last), min(found["end_index"], len(chunk))
        if s >= e:
            continue
        last = e
        piece = chunk[s:e]
        lead = len(piece) - len(piece.lstrip())
        s, e = s + lead, s + len(piece.rstrip())
        bounds.extend(_cap(chunk, s, e))
    if chunk[last:].strip():  # text the segmenter left uncovered
        piece = chunk[last:]
        s = last + len(piece) - len(piece.lstrip())
        bounds.extend(_cap(chunk, s, last + len(piece.rstrip())))
    return [(start + s, start + e) for s, e in bounds if _WORD.search(chunk, s, e)]


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
