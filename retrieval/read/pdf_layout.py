"""Lay out a PDF's text lines as stored text: paragraphs, without page furniture, with page starts.

The input is what layout analysis found on each page: text blocks in reading order, each a
run of lines with their positions and font size. The output is the text that is stored and
quoted, so everything here decides what a quote can hold:

- running headers and footers (a line among the top or bottom ``EDGE_LINES`` of a page whose
  text, digits aside, repeats at that edge on ``MIN_REPEAT_SHARE`` of the pages, or on
  ``ENOUGH_REPEATS`` pages, as a chapter's running title does) and
  page numbers ("7", "Page 7", "7 of 12", "- 7 -" at a page edge, counting up with the pages)
  are left out, when their text block holds nothing else;
- the lines of a paragraph are joined with spaces and paragraphs are separated by a blank
  line; a block is split where a line starts indented, or follows a short line that ends a
  sentence, or changes font size; a paragraph cut by a column or page break (no sentence end
  before the break) is joined again;
- a word hyphenated at a line end ("exam-" + "ple") is joined ("example"), while a compound
  broken at its hyphen ("well-" + "known") keeps it: the document's own words decide when they
  hold either form, then a list of words that start compounds, else it is joined.

``pages`` holds where each page's text starts in the stored text, so the page of any offset
is found by bisection (``retrieval.types.page_range``).
"""

from __future__ import annotations

import math
import re
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

#: A block wider than this share of the page's text is not inside one column.
SPAN_SHARE = 0.55
#: Lines this near the top or bottom of a page may be running headers, footers, page numbers.
EDGE_LINES = 3
#: A line repeating at a page edge on at least this share of the pages is page furniture...
MIN_REPEAT_SHARE = 0.4
#: ...and on at least this many pages...
MIN_REPEAT_PAGES = 2
#: ...or on this many, however long the document (a chapter's title heads its few pages).
ENOUGH_REPEATS = 3
#: A line starting this many font sizes right of its block's left edge starts a paragraph.
INDENT_SIZES = 1.0
#: A line ending a sentence and shorter than this share of its block ends a paragraph.
SHORT_LINE_SHARE = 0.6
#: Font sizes further apart than this (points) are different kinds of text (heading, body).
SIZE_TOLERANCE = 0.6
#: A heading is set at least this many times larger than the body text.
HEADING_SCALE = 1.2
MAX_HEADING_WORDS = 30
#: Lines of a heading are at most this many font sizes apart.
HEADING_GAP_SIZES = 1.0
#: Words that often start a compound ("well-known", "self-evident", "two-thirds").
COMPOUND_FIRST = frozenset(
    """
    well ill self so all half full long short high low far near much ever never best better
    worst first second third one two three four five six seven eight nine ten twenty thirty
    forty fifty hundred thousand state world cross mid large small top hard open part old new
    left right free single double end case time year day week month
    """.split()  # noqa: SIM905 (a list of words reads better as text)
)
#: Word endings that are never compounds' second words: "new-" + "ly" is "newly".
SUFFIXES = frozenset(
    """
    ly ness ment ments ing ings ed er ers est ful less able ably ible ibly tion tions sion
    sions ity ities ous ive ism ist ists ize ise ized ised izes ises ship hood ward wards al
    ally ish ence ences ance ances ent ant ic ical ery ory
    """.split()  # noqa: SIM905
)

_SENTENCE_END = re.compile(r"""[.!?…:;]["'”’»)\]]*$""")
_PAGE_NUMBER = re.compile(
    r"^(?:(?:page|p\.|s\.|seite)\s*|[-–—]\s*)?(?P<number>\d{1,5})"
    r"(?:\s*(?:of|/|von)\s*\d{1,5}|\s*[-–—])?$",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_]+(?:[-‐][^\W\d_]+)*")
_TRAILING_PART = re.compile(r"([^\W\d_]+(?:[-‐][^\W\d_]+)*)[-‐]$")
_LEADING_WORD = re.compile(r"^[^\W\d_]+")
_HYPHENS = "-‐"
_SOFT_HYPHEN = "\u00ad"


@dataclass(frozen=True)
class Line:
    """One line of text as laid out: its box in points (y grows upwards) and font size."""

    text: str
    x0: float
    x1: float
    bottom: float
    top: float
    size: float


@dataclass(frozen=True)
class Block:
    """A text box of layout analysis: lines in reading order, one paragraph or several."""

    lines: tuple[Line, ...]

    @property
    def x0(self) -> float:
        return min(line.x0 for line in self.lines)

    @property
    def x1(self) -> float:
        return max(line.x1 for line in self.lines)

    @property
    def top(self) -> float:
        return max(line.top for line in self.lines)

    @property
    def bottom(self) -> float:
        return min(line.bottom for line in self.lines)


@dataclass(frozen=True)
class Page:
    """The blocks of one page in reading order."""

    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class PdfText:
    """The stored text, where each page starts in it (page 1 first), and a heading if any."""

    text: str
    pages: tuple[int, ...]
    heading: str | None


def assemble(pages: Sequence[Page]) -> PdfText:
    """The stored text of ``pages``: furniture left out, paragraphs joined, page starts kept."""
    furniture = _furniture(pages)
    vocabulary = _vocabulary(pages)
    chunks: list[str] = []
    length = 0
    starts: list[int | None] = [None] * len(pages)
    previous: Line | None = None
    previous_block: Block | None = None
    previous_page = 0
    for number, page in enumerate(pages):
        for b, block in enumerate(page.blocks):
            lines = [line for i, line in enumerate(block.lines) if (number, b, i) not in furniture]
            for i, line in enumerate(lines):
                if previous is None:
                    separator, drop = "", False
                elif i > 0 and previous_block is block:
                    if _starts_paragraph(lines[i - 1], line, block):
                        separator, drop = "\n\n", False
                    else:
                        separator, drop = _joint(previous, line, vocabulary)
                elif _continues(
                    previous, line, moved_up=number != previous_page or line.top > previous.top
                ):
                    separator, drop = _joint(previous, line, vocabulary)
                else:
                    separator, drop = "\n\n", False
                if drop:
                    chunks[-1] = chunks[-1][:-1]  # the hyphenation hyphen (or soft hyphen)
                    length -= 1
                chunks.append(separator)
                length += len(separator)
                if starts[number] is None:
                    starts[number] = length
                chunks.append(line.text)
                length += len(line.text)
                previous, previous_block, previous_page = line, block, number
    text = "".join(chunks)
    filled: list[int] = []
    following = len(text)
    for start in reversed(starts):  # a page without text starts where the next one does
        following = start if start is not None else following
        filled.append(following)
    return PdfText(text=text, pages=tuple(reversed(filled)), heading=_heading(pages, furniture))


def reading_order(blocks: Sequence[Block]) -> tuple[Block, ...]:
    """``blocks`` in reading order: column by column, top to bottom within a column.

    Columns are the x-ranges that paragraphs (blocks of two lines or more, narrower than
    ``SPAN_SHARE`` of the text width) cover. A block across two columns (a title, an abstract)
    separates the page into bands read one after the other; inside a band the columns come left
    to right. Without columns, blocks are read top to bottom.
    """
    if not blocks:
        return ()
    left = min(block.x0 for block in blocks)
    width = max(block.x1 for block in blocks) - left
    columns: list[list[float]] = []
    for block in sorted(blocks, key=lambda b: b.x0):
        if len(block.lines) < 2 or block.x1 - block.x0 > SPAN_SHARE * width:
            continue
        if columns and block.x0 < columns[-1][1]:
            columns[-1][1] = max(columns[-1][1], block.x1)
        else:
            columns.append([block.x0, block.x1])
    top_down = sorted(blocks, key=lambda b: (-b.top, b.x0))
    if len(columns) < 2:
        return tuple(top_down)
    placed: list[tuple[Block, int | None]] = []
    for block in top_down:
        inside = [i for i, (x0, x1) in enumerate(columns) if block.x0 < x1 and block.x1 > x0]
        if not inside:  # in a gutter or margin: the column whose middle is nearest
            middle = (block.x0 + block.x1) / 2
            inside = [min(range(len(columns)), key=lambda i: abs(sum(columns[i]) / 2 - middle))]
        placed.append((block, inside[0] if len(inside) == 1 else None))
    ordered: list[Block] = []
    band: list[tuple[Block, int]] = []
    for block, column in placed:
        if column is None:
            ordered.extend(b for b, _ in sorted(band, key=lambda item: (item[1], -item[0].top)))
            ordered.append(block)
            band = []
        else:
            band.append((block, column))
    ordered.extend(b for b, _ in sorted(band, key=lambda item: (item[1], -item[0].top)))
    return tuple(ordered)


def _key(text: str) -> str:
    """How running headers are compared: digits as ``#``, case and spacing ignored."""
    return re.sub(r"\d", "#", " ".join(text.split()).casefold())


def _furniture(pages: Sequence[Page]) -> set[tuple[int, int, int]]:
    """(page, block, line) of every running header, footer and page number.

    A page number is a number alone at a page edge that, less the page's index, gives the
    same offset as on most pages (journals number from 245, not 1): a number in a table at
    the foot of one page is not one.
    """
    edges: list[list[tuple[tuple[int, int, int], Line, str]]] = []
    for number, page in enumerate(pages):
        placed = sorted(
            (
                ((number, b, i), line)
                for b, block in enumerate(page.blocks)
                for i, line in enumerate(block.lines)
            ),
            key=lambda item: -item[1].top,
        )
        edges.append(
            [(where, line, "top") for where, line in placed[:EDGE_LINES]]
            + [(where, line, "bottom") for where, line in placed[-EDGE_LINES:]]
        )
    with_text = sum(1 for page in pages if page.blocks)
    share = min(math.ceil(MIN_REPEAT_SHARE * with_text), ENOUGH_REPEATS)
    needed = min(with_text, max(MIN_REPEAT_PAGES, share))
    seen: dict[tuple[str, str], set[int]] = defaultdict(set)
    offsets: dict[int, set[int]] = defaultdict(set)
    for number, near in enumerate(edges):
        for _where, line, edge in near:
            value = _page_number(line.text)
            if value is None:
                seen[(edge, _key(line.text))].add(number)
            else:
                offsets[value - number].add(number)
    offset = max(offsets, key=lambda o: len(offsets[o]), default=None)
    if offset is not None and len(offsets[offset]) < needed:
        offset = None
    candidates: set[tuple[int, int, int]] = set()
    for number, near in enumerate(edges):
        for where, line, edge in near:
            value = _page_number(line.text)
            if value is None:
                if with_text > 1 and len(seen[(edge, _key(line.text))]) >= needed:
                    candidates.add(where)
            elif offset is not None and value - number == offset:
                candidates.add(where)
    # A block that also holds other lines is body text whose first line happens to repeat.
    return {
        (number, b, i)
        for number, page in enumerate(pages)
        for b, block in enumerate(page.blocks)
        if all((number, b, j) in candidates for j in range(len(block.lines)))
        for i in range(len(block.lines))
    }


def _page_number(text: str) -> int | None:
    """The number of a page-number line ("7", "Page 7", "7 of 12", "- 7 -"), else None."""
    match = _PAGE_NUMBER.match(text.strip())
    return int(match.group("number")) if match else None


def _vocabulary(pages: Sequence[Page]) -> set[str]:
    """Every word the document writes inside a line (not cut at its end), lower-cased."""
    words: set[str] = set()
    for page in pages:
        for block in page.blocks:
            for line in block.lines:
                body = line.text[:-1] if line.text.endswith(tuple(_HYPHENS)) else line.text
                words.update(w.casefold() for w in _WORD.findall(body))
    return words


def _ends_sentence(line: Line) -> bool:
    return bool(_SENTENCE_END.search(line.text))


def _same_size(a: Line, b: Line) -> bool:
    return abs(a.size - b.size) <= SIZE_TOLERANCE


def _starts_paragraph(previous: Line, line: Line, block: Block) -> bool:
    """Whether ``line`` starts a new paragraph inside ``block``."""
    if not _same_size(previous, line):
        return True
    if not _ends_sentence(previous):
        return False
    indented = line.x0 - block.x0 >= INDENT_SIZES * line.size
    width = block.x1 - block.x0
    short = width > 0 and (previous.x1 - block.x0) < SHORT_LINE_SHARE * width
    return indented or short


def _continues(previous: Line, line: Line, *, moved_up: bool) -> bool:
    """Whether ``line``, first of its block, goes on with the paragraph ``previous`` ended.

    Not after a sentence end (where a break cannot be told from a paragraph's end) nor in
    another type size. Otherwise it does when ``line`` starts in lower case, or when it is
    higher up than ``previous`` or on the next page (``moved_up``): the text was cut by a
    column or page break. A line without a full stop followed by a capital below it in the
    same column is a heading or a label.
    """
    if not _same_size(previous, line) or _ends_sentence(previous):
        return False
    return line.text[:1].islower() or moved_up


def _joint(previous: Line, line: Line, vocabulary: set[str]) -> tuple[str, bool]:
    """What joins two lines of one paragraph, and whether ``previous``'s last character goes.

    A space, as a rule; nothing after a hyphen or dash that stays ("well-" + "known",
    "1990-" + "1995", "and/" + "or"); nothing, dropping the hyphen, after hyphenation.
    """
    text = previous.text
    if text.endswith(_SOFT_HYPHEN):
        return "", True
    if text.endswith(tuple(_HYPHENS)) and len(text) >= 2 and text[-2].isalnum():
        word = _LEADING_WORD.match(line.text)
        part = _TRAILING_PART.search(text)
        if word is None or part is None or not word.group(0)[0].islower():
            return "", False
        return "", not _keeps_hyphen(part.group(1), word.group(0), vocabulary)
    if text.endswith(("—", "/")):
        return "", False
    return " ", False


def _keeps_hyphen(first: str, second: str, vocabulary: set[str]) -> bool:
    """Whether ``first-`` + ``second`` at a line end is a compound, not a hyphenated word."""
    a, b = first.casefold(), second.casefold()
    if any(h in a for h in _HYPHENS):
        return True  # "state-of-the-" + "art": already a compound
    if f"{a}-{b}" in vocabulary or f"{a}‐{b}" in vocabulary:
        return True
    if a + b in vocabulary:
        return False
    return a in COMPOUND_FIRST and b not in SUFFIXES


def _heading(pages: Sequence[Page], furniture: set[tuple[int, int, int]]) -> str | None:
    """The largest type at the top of page 1, when it is larger than the body text."""
    if not pages or not pages[0].blocks:
        return None
    sizes = [
        line.size
        for page in pages[:3]
        for block in page.blocks
        for line in block.lines
        for _ in range(len(line.text))
    ]
    body = statistics.median(sizes) if sizes else 0.0
    lines = [
        line
        for b, block in enumerate(pages[0].blocks)
        for i, line in enumerate(block.lines)
        if (0, b, i) not in furniture and line.text.strip()
    ]
    if not lines:
        return None
    largest = max(line.size for line in lines)
    if largest < HEADING_SCALE * body:
        return None
    big = sorted(
        (line for line in lines if abs(line.size - largest) <= SIZE_TOLERANCE),
        key=lambda line: -line.top,
    )
    run = [big[0]]
    for line in big[1:]:  # the lines set right below it in the same size (a long title)
        if run[-1].bottom - line.top > HEADING_GAP_SIZES * largest:
            break
        run.append(line)
    heading = " ".join(" ".join(line.text.split()) for line in run)
    return heading if 0 < len(heading.split()) <= MAX_HEADING_WORDS else None
