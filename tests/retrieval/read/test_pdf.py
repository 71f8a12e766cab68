"""Reading real PDFs: stored text without page furniture, in reading order, with page starts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from reportlab.lib.pdfencrypt import StandardEncryption

from retrieval.read import pdf, readers
from retrieval.read.readers import SkippedFile, content_hash, read_corpus
from retrieval.types import Document, page_range
from tests.support.pdf_article import HEADING, PARAGRAPHS
from tests.support.pdfs import (
    FOOTER,
    HEADER,
    Layout,
    article_pdf,
    image_only_pdf,
    write_pdf,
)


def _read(path: Path) -> Document:
    result = read_corpus(path)
    assert result.skipped == []
    (document,) = result.documents
    return document


@pytest.fixture(scope="module")
def article(tmp_path_factory: pytest.TempPathFactory) -> tuple[Document, Layout]:
    """The river study as a three-page, two-column PDF, and where its lines were drawn."""
    path = tmp_path_factory.mktemp("pdf") / "vellmar.pdf"
    layout = article_pdf(path, PARAGRAPHS, heading=HEADING)
    return _read(path), layout


def test_the_layout_under_test_has_what_the_reader_must_handle(
    article: tuple[Document, Layout],
) -> None:
    _document, layout = article
    assert len(layout.pages) == 3 and all(len(page) == 2 for page in layout.pages[:2])
    drawn = [line.text for _page, line in layout.lines()]
    for end in ("exam-", "Hydro-", "sed-", "well-", "long-", "cost-"):
        assert any(text.endswith(end) for text in drawn), end
    # paragraphs run on across a column break and across a page break
    assert any(column[-1] is not None for page in layout.pages for column in page[:1])
    assert any(page[-1][-1] is not None for page in layout.pages[:-1])


def test_stored_text_is_the_text_without_page_furniture(article: tuple[Document, Layout]) -> None:
    document, layout = article
    text, pages = layout.expected()
    assert document.text == text
    assert document.pages == pages
    assert HEADER not in document.text and "Journal" not in document.text
    assert FOOTER not in document.text and "Preprint" not in document.text
    paragraphs = document.text.split("\n\n")
    assert not any(re.fullmatch(r"\d+", p) for p in paragraphs)


def test_paragraphs_come_in_reading_order_with_words_restored(
    article: tuple[Document, Layout],
) -> None:
    document, _layout = article
    expected = [p.replace("~|", "").replace("-|", "-") for p in PARAGRAPHS]
    assert document.text.split("\n\n") == [HEADING, *expected]


@pytest.mark.parametrize("word", ["example", "Hydrologists", "sediment"])
def test_hyphenated_words_are_joined(article: tuple[Document, Layout], word: str) -> None:
    assert re.search(rf"\b{word}\b", article[0].text)


@pytest.mark.parametrize("compound", ["well-known", "long-term", "cost-effective", "two-thirds"])
def test_compounds_keep_their_hyphen(article: tuple[Document, Layout], compound: str) -> None:
    assert compound in article[0].text
    assert compound.replace("-", "") not in article[0].text


def test_each_drawn_line_lies_on_its_page(article: tuple[Document, Layout]) -> None:
    document, layout = article
    cursor = 0
    for number, line in layout.lines():
        words = line.text.removesuffix("-")
        at = document.text.find(words, cursor)
        assert at >= cursor, words
        assert page_range(document.pages, at, at + len(words)) == (number, number), words
        cursor = at + len(words)


def test_title_is_the_heading_when_the_metadata_has_none(article: tuple[Document, Layout]) -> None:
    assert article[0].title == HEADING  # reportlab's metadata title is "untitled"


@pytest.mark.parametrize(
    ("metadata_title", "title"),
    [
        ("The Vellmar Report", "The Vellmar Report"),
        ("Microsoft Word - vellmar_final_v3.docx", HEADING),
        ("vellmar.pdf", HEADING),
        ("   ", HEADING),
    ],
)
def test_metadata_title_when_it_is_sensible(
    tmp_path: Path, metadata_title: str, title: str
) -> None:
    path = tmp_path / "a.pdf"
    article_pdf(path, PARAGRAPHS[:4], heading=HEADING, metadata_title=metadata_title)
    assert _read(path).title == title


@pytest.mark.parametrize(
    ("creation_date", "date"),
    [("D:20230115093000+01'00'", "2023-01-15"), ("D:20231345", None), ("yesterday", None)],
)
def test_date_from_metadata(tmp_path: Path, creation_date: str, date: str | None) -> None:
    path = tmp_path / "a.pdf"
    article_pdf(path, PARAGRAPHS[:4], heading=HEADING, creation_date=creation_date)
    assert _read(path).date == date


@pytest.mark.parametrize("columns", [1, 2, 3])
@pytest.mark.parametrize("lines_per_column", [9, 15, 23])
def test_other_layouts_read_as_drawn(tmp_path: Path, columns: int, lines_per_column: int) -> None:
    layout = Layout(columns=columns, lines_per_column=lines_per_column, heading=HEADING)
    for paragraph in PARAGRAPHS:
        layout.add(paragraph)
    write_pdf(tmp_path / "a.pdf", layout)
    document = _read(tmp_path / "a.pdf")
    assert (document.text, document.pages) == layout.expected()


def test_pages_are_part_of_the_content_hash(article: tuple[Document, Layout]) -> None:
    document = article[0]
    assert content_hash(document) != content_hash(document.model_copy(update={"pages": ()}))
    # a document without pages hashes as before pages were recorded: nothing is re-embedded
    plain = Document(id="a.txt", text="Some text.", title="T")
    assert content_hash(plain) == "38cefcdee483e70d21f71733bfed6fa23efb081f14c64ef8489f96d509e6d970"


def test_non_pdf_documents_have_no_pages(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("A plain article about rivers and their floods.\n")
    assert _read(tmp_path / "a.txt").pages == ()


def _skip_reasons(folder: Path) -> dict[str, str]:
    (folder / "good.txt").write_text("An article that can be read, about rivers.\n")
    result = read_corpus(folder)
    assert [d.id for d in result.documents] == ["good.txt"]
    return {s.path: s.reason for s in result.skipped}


def test_unreadable_pdfs_are_skipped_with_the_reason(tmp_path: Path) -> None:
    good = tmp_path / "source.pdf"
    article_pdf(good, PARAGRAPHS, heading=HEADING)
    data = good.read_bytes()
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    image_only_pdf(corpus / "scanned.pdf")
    article_pdf(corpus / "locked.pdf", PARAGRAPHS[:3], encrypt="secret")
    (corpus / "truncated.pdf").write_bytes(data[: len(data) // 2])
    (corpus / "damaged.pdf").write_bytes(
        data[:20] + bytes(range(256)) * 40 + b"\ntrailer\n<< /Root 99 0 R >>\n%%EOF\n"
    )
    (corpus / "letter.pdf").write_text("Dear Sir, this is a letter, not a PDF.\n")
    (corpus / "empty.pdf").write_bytes(b"")
    reasons = _skip_reasons(corpus)
    assert set(reasons) == {
        "scanned.pdf",
        "locked.pdf",
        "truncated.pdf",
        "damaged.pdf",
        "letter.pdf",
        "empty.pdf",
    }
    assert "no text layer" in reasons["scanned.pdf"] and "OCR" in reasons["scanned.pdf"]
    assert "encrypted with a password" in reasons["locked.pdf"]
    assert "truncated" in reasons["truncated.pdf"]
    assert "damaged" in reasons["damaged.pdf"]
    assert "not a PDF" in reasons["letter.pdf"]
    assert "empty" in reasons["empty.pdf"]
    assert all("Traceback" not in reason and len(reason) < 300 for reason in reasons.values())


def test_a_pdf_that_opens_without_a_password_is_read(tmp_path: Path) -> None:
    """Owner-password PDFs (printing or copying restricted) open for everyone: they are read."""
    path = tmp_path / "restricted.pdf"
    encryption = StandardEncryption("", ownerPassword="owner", canCopy=0, canModify=0)
    article_pdf(path, PARAGRAPHS[:3], heading=HEADING, encrypt=encryption)
    document = _read(path)
    assert PARAGRAPHS[0] in document.text


def test_limits_on_pages_and_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    article_pdf(corpus / "long.pdf", PARAGRAPHS, heading=HEADING)
    monkeypatch.setattr(pdf, "MAX_PDF_PAGES", 2)
    reasons = _skip_reasons(corpus)
    assert "3 pages" in reasons["long.pdf"] and "the limit is 2" in reasons["long.pdf"]
    monkeypatch.setattr(pdf, "MAX_PDF_PAGES", 100)
    monkeypatch.setattr(readers, "MAX_PDF_BYTES", 1_000)
    assert "too large" in _skip_reasons(corpus)["long.pdf"]


def test_skipped_pdfs_are_reported_by_the_reader_api(tmp_path: Path) -> None:
    (tmp_path / "letter.pdf").write_text("not a PDF\n")
    skipped: list[SkippedFile] = []
    assert readers.read_file(tmp_path / "letter.pdf", "letter.pdf", skipped) == []
    assert skipped and "not a PDF" in skipped[0].reason
