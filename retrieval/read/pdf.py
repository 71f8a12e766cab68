"""Read a PDF's text layer with pdfminer.six: the stored text, its page starts, title and date.

pdfminer's layout analysis (``LAParams``) groups characters into lines and lines into text
boxes; :mod:`retrieval.read.pdf_layout` puts the boxes in reading order (its own column
detection: pdfminer's ordering can read the foot of a column after the next column) and turns
them into the stored text.

Only the text layer is read. A PDF without one (scanned pages) is refused with a hint to run
OCR; so are PDFs that need a password, truncated or damaged files, files that are not PDFs at
all, and files past ``MAX_PDF_PAGES``. Every refusal is an :class:`UnreadablePdf` whose message
says why in plain words; nothing from pdfminer escapes as a traceback. pdfminer is imported on
first use (only PDFs need it).
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
import warnings
from dataclasses import dataclass
from datetime import date
from typing import Any

from retrieval.read.pdf_layout import Block, Line, Page, assemble, reading_order

#: PDFs with more pages than this are refused (a book is better split into chapters).
MAX_PDF_PAGES = 2_000
#: Fewer letters than this in the whole file: it has no text layer worth the name.
MIN_TEXT_LETTERS = 20
#: A PDF ends with ``%%EOF`` within this many bytes of its end; a file without it is cut short.
EOF_WINDOW = 1_024
#: Where the ``%PDF-`` header may start (some writers put junk before it).
HEADER_WINDOW = 1_024
#: More than this share of unreadable glyphs ``(cid:N)``: the fonts map no characters.
MAX_UNMAPPED_SHARE = 0.3
#: Metadata titles that name no document.
_PLACEHOLDER_TITLES = frozenset({"untitled", "title", "document", "no title", "none", "unknown"})
_FILE_NAME_TITLE = re.compile(
    r"^(?:microsoft (?:word|powerpoint|excel) - .*|.*\.(?:docx?|pdf|tex|dvi|indd|pptx?|odt|rtf|"
    r"xlsx?|qxd|ps|eps|txt|html?))$",
    re.IGNORECASE,
)
_PDF_DATE = re.compile(r"^(?:D:)?(\d{4})(\d{2})?(\d{2})?")
_UNMAPPED = re.compile(r"\(cid:\d+\)")
#: The Latin ligatures (U+FB00 "ﬀ" to U+FB06 "ﬆ") as their letters, so "ﬁnd" matches "find".
_LIGATURES = str.maketrans(
    {chr(c): unicodedata.normalize("NFKC", chr(c)) for c in range(0xFB00, 0xFB07)}
)
#: Control characters that are not whitespace: drawn as nothing, stored as nothing.
_CONTROLS = str.maketrans(
    dict.fromkeys([c for c in (*range(0x20), *range(0x7F, 0xA0)) if not chr(c).isspace()])
)
_INSTALL_HINT = "pip install pdfminer.six"


class UnreadablePdf(Exception):
    """A PDF whose text cannot be read; the message says why and what to do."""


@dataclass(frozen=True)
class PdfDocument:
    """What a PDF holds for the index: stored text, page starts, title and date if known."""

    text: str
    pages: tuple[int, ...]
    title: str | None
    date: str | None


def read_pdf(data: bytes) -> PdfDocument:
    """The text layer of the PDF in ``data``; raises :class:`UnreadablePdf` with the reason."""
    _check_framing(data)
    pdfminer = _pdfminer()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pdfminer warns about every irregularity it repairs
        try:
            document = pdfminer.PDFDocument(pdfminer.PDFParser(io.BytesIO(data)))
        except pdfminer.PDFPasswordIncorrect:
            raise UnreadablePdf(
                "is encrypted with a password: save an unprotected copy of it"
            ) from None
        except pdfminer.PDFEncryptionError as exc:
            raise UnreadablePdf(f"is encrypted in a way that cannot be read ({exc})") from None
        except Exception as exc:  # pdfminer raises many kinds on damaged files
            raise UnreadablePdf(f"is damaged and cannot be parsed ({_what(exc)})") from None
        try:
            pages = _pages(document, pdfminer)
            info = _info(document, pdfminer)
        except UnreadablePdf:
            raise
        except Exception as exc:
            raise UnreadablePdf(f"is damaged and cannot be read ({_what(exc)})") from None
    laid_out = assemble(pages)
    letters = sum(1 for char in laid_out.text if char.isalpha())
    if letters < MIN_TEXT_LETTERS:
        raise UnreadablePdf(
            "has no text layer (scanned pages are images); run OCR on it first "
            "(for example: ocrmypdf IN.pdf OUT.pdf) and index the result"
        )
    title = _sensible_title(info.get("Title")) or laid_out.heading
    return PdfDocument(text=laid_out.text, pages=laid_out.pages, title=title, date=_pdf_date(info))


def _check_framing(data: bytes) -> None:
    """Refuse what is not a PDF, or a PDF cut short, before parsing anything."""
    if not data.strip():
        raise UnreadablePdf("is empty")
    if b"%PDF-" not in data[:HEADER_WINDOW]:
        raise UnreadablePdf("is not a PDF (it does not start with %PDF-): is the name wrong?")
    if b"%%EOF" not in data.rstrip(b"\x00 \t\r\n\f")[-EOF_WINDOW:]:
        raise UnreadablePdf("is truncated (it does not end with %%EOF): copy or download it again")


class _Pdfminer:
    """The parts of pdfminer.six this module uses, imported once."""

    def __init__(self) -> None:
        from pdfminer.converter import PDFPageAggregator
        from pdfminer.layout import LAParams, LTChar, LTTextBox, LTTextLine
        from pdfminer.pdfdocument import PDFDocument, PDFEncryptionError, PDFPasswordIncorrect
        from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
        from pdfminer.pdfpage import PDFPage
        from pdfminer.pdfparser import PDFParser
        from pdfminer.pdftypes import resolve1
        from pdfminer.utils import decode_text

        self.PDFPageAggregator = PDFPageAggregator
        self.LAParams = LAParams
        self.LTChar = LTChar
        self.LTTextBox = LTTextBox
        self.LTTextLine = LTTextLine
        self.PDFDocument = PDFDocument
        self.PDFEncryptionError = PDFEncryptionError
        self.PDFPasswordIncorrect = PDFPasswordIncorrect
        self.PDFPageInterpreter = PDFPageInterpreter
        self.PDFResourceManager = PDFResourceManager
        self.PDFPage = PDFPage
        self.PDFParser = PDFParser
        self.resolve1 = resolve1
        self.decode_text = decode_text
        pdf_logger = logging.getLogger("pdfminer")
        if pdf_logger.level == logging.NOTSET:  # it logs each repaired irregularity as a warning
            pdf_logger.setLevel(logging.ERROR)


_loaded: _Pdfminer | None = None


def _pdfminer() -> _Pdfminer:
    global _loaded
    if _loaded is None:
        try:
            _loaded = _Pdfminer()
        except ImportError as exc:
            raise UnreadablePdf(
                f"cannot be read here: the PDF reader failed to load ({type(exc).__name__}: "
                f"{exc}). Install it with: {_INSTALL_HINT}"
            ) from None
    return _loaded


def _what(exc: BaseException) -> str:
    text = "".join(char if char.isprintable() else "?" for char in str(exc))
    message = " ".join(text.split())[:120]
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _pages(document: Any, pdfminer: _Pdfminer) -> list[Page]:
    """Every page's text blocks, in reading order; refuses more than ``MAX_PDF_PAGES``."""
    count = pdfminer.resolve1(document.catalog.get("Pages"))
    count = pdfminer.resolve1(count.get("Count")) if isinstance(count, dict) else None
    if isinstance(count, int) and count > MAX_PDF_PAGES:
        raise UnreadablePdf(_too_many(count))
    resources = pdfminer.PDFResourceManager(caching=True)
    device = pdfminer.PDFPageAggregator(resources, laparams=pdfminer.LAParams(boxes_flow=None))
    interpreter = pdfminer.PDFPageInterpreter(resources, device)
    pages: list[Page] = []
    glyphs = [0, 0]  # characters read, and of them unmapped ones ("(cid:N)")
    for number, page in enumerate(pdfminer.PDFPage.create_pages(document), start=1):
        if number > MAX_PDF_PAGES:
            raise UnreadablePdf(_too_many(number))
        interpreter.process_page(page)
        layout = device.get_result()
        blocks = []
        for element in layout:
            if isinstance(element, pdfminer.LTTextBox):
                lines = [
                    line
                    for item in element
                    if isinstance(item, pdfminer.LTTextLine)
                    and (line := _line(item, pdfminer, glyphs)) is not None
                ]
                if lines:
                    blocks.append(Block(tuple(lines)))
        pages.append(Page(reading_order(blocks)))
    if not pages:
        raise UnreadablePdf("is damaged: no page of it could be found")
    if glyphs[1] > MAX_UNMAPPED_SHARE * glyphs[0]:
        raise UnreadablePdf(
            "has fonts that do not say which characters they draw, so its text cannot be "
            "read; run OCR on it first (for example: ocrmypdf --force-ocr IN.pdf OUT.pdf)"
        )
    return pages


def _too_many(count: int) -> str:
    return (
        f"has {count:,} pages or more; the limit is {MAX_PDF_PAGES:,} (MAX_PDF_PAGES): "
        "split it into parts"
    )


def _line(item: Any, pdfminer: _Pdfminer, glyphs: list[int]) -> Line | None:
    """A text line with its box and median font size; None when it holds no text.

    Glyphs without a character (``(cid:N)``) are left out and counted in ``glyphs``.
    """
    raw = item.get_text()
    unmapped = sum(len(m) for m in _UNMAPPED.findall(raw))
    glyphs[0] += len(raw)
    glyphs[1] += unmapped
    if unmapped:
        raw = _UNMAPPED.sub("", raw)
    text = " ".join(raw.translate(_LIGATURES).translate(_CONTROLS).split())
    if not text:
        return None
    sizes = sorted(c.size for c in item if isinstance(c, pdfminer.LTChar))
    size = sizes[len(sizes) // 2] if sizes else item.height
    x0, bottom, x1, top = item.bbox
    return Line(text=text, x0=x0, x1=x1, bottom=bottom, top=top, size=round(size, 2))


def _info(document: Any, pdfminer: _Pdfminer) -> dict[str, str]:
    """The document information dictionary's text values (Title, CreationDate, ...)."""
    values: dict[str, str] = {}
    for info in document.info:
        for key, raw in info.items():
            value = pdfminer.resolve1(raw)
            if isinstance(value, bytes):
                values[str(key)] = pdfminer.decode_text(value)
            elif isinstance(value, str):
                values[str(key)] = value
    return values


def _sensible_title(title: str | None) -> str | None:
    """A metadata title worth showing: not empty, a placeholder or a file name."""
    if not title:
        return None
    title = " ".join("".join(c for c in title if c.isprintable()).split())
    letters = sum(1 for c in title if c.isalpha())
    if letters < 2 or title.casefold() in _PLACEHOLDER_TITLES or _FILE_NAME_TITLE.match(title):
        return None
    return title


def _pdf_date(info: dict[str, str]) -> str | None:
    """``CreationDate`` ("D:20230115093000+01'00'") as ``YYYY-MM-DD``; None when unreadable."""
    match = _PDF_DATE.match(info.get("CreationDate", "").strip())
    if match is None or match.group(2) is None or match.group(3) is None:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3))).isoformat()
    except ValueError:
        return None
