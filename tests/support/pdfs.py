"""Real multi-page PDFs for the tests, laid out line by line with reportlab.

A :class:`Layout` flows paragraphs into one or two columns, page after page, under a running
header and above a running footer and a page number, so a test knows which words sit on which
page. In a paragraph, ``~|`` breaks the line after a hyphenation hyphen ("exam~|ple" prints
"exam-" at a line end and "ple" on the next line) and ``-|`` after a real hyphen
("well-|known"). :meth:`Layout.expected` is the test oracle, written from what was drawn: the
text a reader should store (paragraphs as single lines, a blank line between them, hyphenation
undone, real hyphens kept, no page furniture) and where each page starts in it. A paragraph cut
by a column or page break right after a sentence end is expected as two: nothing on the page
tells the two apart.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

FONT = "Helvetica"
BOLD = "Helvetica-Bold"
SIZE = 10
TITLE_SIZE = 18
LEADING = 13
MARGIN = 60
GUTTER = 24
LINES_PER_COLUMN = 20
#: A line ending so ends a sentence, for a reader (retrieval.read.pdf_layout).
SENTENCE_END = re.compile(r"""[.!?…:;]["'”’»)\]]*$""")
HEADER = "Journal of River Studies · Vol. 12 · 2023"
FOOTER = "Preprint: not for distribution"


@dataclass(frozen=True)
class Placed:
    """A drawn line and what joins it to the next line of its paragraph in the stored text.

    ``joiner`` is " " between lines, "" after a kept hyphen, "-" after a hyphenation hyphen
    (which the stored text drops) and None at the end of a paragraph.
    """

    text: str
    joiner: str | None


@dataclass
class Layout:
    """Pages of columns of lines; a paragraph is followed by an empty line (None)."""

    columns: int = 2
    lines_per_column: int = LINES_PER_COLUMN
    header: str | None = HEADER
    footer: str | None = FOOTER
    page_numbers: bool = True
    heading: str | None = None
    pages: list[list[list[Placed | None]]] = field(default_factory=list)

    @property
    def column_width(self) -> float:
        width = A4[0] - 2 * MARGIN
        return (width - GUTTER * (self.columns - 1)) / self.columns

    def _column(self) -> list[Placed | None]:
        if not self.pages or len(self.pages[-1][-1]) >= self.lines_per_column:
            if not self.pages or len(self.pages[-1]) >= self.columns:
                self.pages.append([])
            self.pages[-1].append([])
        return self.pages[-1][-1]

    def add(self, paragraph: str) -> None:
        """Wrap ``paragraph`` to the column width and flow it on, an empty line after it."""
        for line in wrap(paragraph, self.column_width):
            self._column().append(line)
        column = self.pages[-1][-1]
        if len(column) < self.lines_per_column:
            column.append(None)

    def lines(self) -> list[tuple[int, Placed]]:
        """Every drawn body line with its 1-based page, in reading order."""
        return [
            (number, line)
            for number, page in enumerate(self.pages, start=1)
            for column in page
            for line in column
            if line is not None
        ]

    def _lines_by_column(self) -> list[tuple[int, int, Placed]]:
        return [
            (number, index, line)
            for number, page in enumerate(self.pages, start=1)
            for index, column in enumerate(page)
            for line in column
            if line is not None
        ]

    def expected(self) -> tuple[str, tuple[int, ...]]:
        """The stored text a reader should make, and where each page starts in it."""
        text = self.heading or ""
        starts: dict[int, int] = {1: 0}
        joiner: str | None = None if self.heading else ""
        previous: tuple[int, int] | None = None
        for number, column, line in self._lines_by_column():
            if previous is not None and previous != (number, column) and SENTENCE_END.search(text):
                joiner = None  # a break after a sentence end reads as a paragraph's end
            previous = (number, column)
            if joiner is None:
                text += "\n\n"
            elif joiner == "-":
                text = text[:-1]
            elif joiner == " ":
                text += " "
            starts.setdefault(number, len(text))
            text += line.text
            joiner = line.joiner
        following, filled = len(text), []
        for number in range(len(self.pages), 0, -1):  # a page without lines: the next one's
            following = starts.get(number, following)
            filled.append(following)
        return text, tuple(reversed(filled))


def page_of(starts: Sequence[int], offset: int) -> int:
    """The 1-based page holding character ``offset``, given where pages start (a plain scan)."""
    page = 1
    for number, start in enumerate(starts, start=1):
        if start <= offset:
            page = number
    return page


def wrap(paragraph: str, width: float) -> list[Placed]:
    """Lines of at most ``width`` points, breaking at spaces and at the ``~|``/``-|`` marks."""
    lines: list[Placed] = []
    pieces = re.split(r"(?<=[~-])\|", paragraph)
    for index, piece in enumerate(pieces):
        hyphenation = piece.endswith("~")
        piece = piece[:-1] + "-" if hyphenation else piece
        current = ""
        for word in piece.split():
            trial = f"{current} {word}" if current else word
            if current and stringWidth(trial, FONT, SIZE) > width:
                lines.append(Placed(current, " "))
                current = word
            else:
                current = trial
        last = index == len(pieces) - 1
        lines.append(Placed(current, None if last else ("-" if hyphenation else "")))
    return lines


def write_pdf(
    path: Path,
    layout: Layout,
    *,
    metadata_title: str | None = None,
    creation_date: str | None = None,
    encrypt: object = None,
) -> Path:
    """Draw ``layout`` into ``path``: its heading in large type atop page 1."""
    canvas = Canvas(str(path), pagesize=A4, encrypt=encrypt, invariant=True)
    if metadata_title is not None:
        canvas.setTitle(metadata_title)
    if creation_date is not None:
        canvas.setDateFormatter(lambda *_parts: creation_date)
    width, height = A4
    top = height - MARGIN
    for number, page in enumerate(layout.pages, start=1):
        if layout.header:
            canvas.setFont(FONT, 8)
            canvas.drawString(MARGIN, height - 30, layout.header)
        if layout.footer:
            canvas.setFont(FONT, 8)
            canvas.drawString(MARGIN, 30, layout.footer)
        if layout.page_numbers:
            canvas.setFont(FONT, 9)
            canvas.drawRightString(width - MARGIN, 30, str(number))
        y_start = top
        if number == 1 and layout.heading:
            canvas.setFont(BOLD, TITLE_SIZE)
            canvas.drawString(MARGIN, top - TITLE_SIZE, layout.heading)
            y_start = top - 2.5 * TITLE_SIZE
        for index, column in enumerate(page):
            x = MARGIN + index * (layout.column_width + GUTTER)
            y = y_start - SIZE
            canvas.setFont(FONT, SIZE)
            for line in column:
                if line is not None:
                    canvas.drawString(x, y, line.text)
                y -= LEADING
        canvas.showPage()
    canvas.save()
    return path


def article_pdf(
    path: Path,
    paragraphs: Sequence[str],
    *,
    heading: str | None = None,
    columns: int = 2,
    **kwargs: object,
) -> Layout:
    """A PDF of ``paragraphs`` flowed into ``columns`` under ``heading``; returns its layout."""
    layout = Layout(columns=columns, heading=heading)
    for paragraph in paragraphs:
        layout.add(paragraph)
    write_pdf(path, layout, **kwargs)  # type: ignore[arg-type]
    return layout


def image_only_pdf(path: Path, pages: int = 2) -> Path:
    """A PDF whose pages hold only drawings, as a scan holds only images: no text layer."""
    canvas = Canvas(str(path), pagesize=A4, invariant=True)
    for number in range(pages):
        for row in range(40):
            canvas.rect(MARGIN, 100 + row * 15, 300 - number * 10 - row, 8, fill=1)
        canvas.showPage()
    canvas.save()
    return path
