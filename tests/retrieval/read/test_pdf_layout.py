"""Laying out PDF lines as stored text: line joins, furniture, reading order, page starts."""

from __future__ import annotations

import pytest

from retrieval.read.pdf_layout import Block, Line, Page, assemble, reading_order
from retrieval.types import page_range

SIZE = 10.0


def _line(text: str, y: float, x0: float = 60.0, x1: float = 280.0, size: float = SIZE) -> Line:
    return Line(text=text, x0=x0, x1=x1, bottom=y, top=y + size, size=size)


def _paragraph(*texts: str, y: float = 700.0, x0: float = 60.0) -> Block:
    return Block(tuple(_line(t, y - 13 * i, x0, x0 + 220) for i, t in enumerate(texts)))


@pytest.mark.parametrize(
    ("first", "second", "joined"),
    [
        ("a good exam-", "ple follows.", "a good example follows."),
        ("a well-", "known case.", "a well-known case."),
        ("it rose new-", "ly again.", "it rose newly again."),
        ("the Franco-", "Prussian war.", "the Franco-Prussian war."),
        ("from 1990-", "1995 on.", "from 1990-1995 on."),
        ("a state-of-the-", "art method.", "a state-of-the-art method."),
        ("a hyphen\u00ad", "ation mark.", "a hyphenation mark."),
        ("this and/", "or that.", "this and/or that."),
        ("she paused—", "then went on.", "she paused—then went on."),
        ("an ordinary", "line break.", "an ordinary line break."),
    ],
)
def test_lines_of_a_paragraph_join(first: str, second: str, joined: str) -> None:
    laid_out = assemble([Page((_paragraph(first, second),))])
    assert laid_out.text == joined


@pytest.mark.parametrize(
    ("elsewhere", "joined"),
    [
        ("the database grew.", "a data-|base"),  # the document writes the joined form
        ("co-operation helps.", "a co-|operation"),  # ...or the hyphenated one
    ],
)
def test_the_documents_own_words_decide_a_line_end_hyphen(elsewhere: str, joined: str) -> None:
    first, second = joined.split("|")
    block = _paragraph("Some text here.", f"{first}", f"{second.split()[0]} here.", elsewhere)
    text = assemble([Page((block,))]).text
    expected = joined.replace("-|", "" if "database" in elsewhere else "-")
    assert expected in text


BODIES = (
    ("The river rose in spring", "and flooded the meadows."),
    ("Salmon returned in autumn", "after thirty years away."),
    ("The weir at Kellen", "was taken down in 2011."),
    ("Farmers kept their rights", "to graze the new land."),
)


def test_headers_footers_and_page_numbers_are_left_out() -> None:
    pages = []
    for number, body in enumerate(BODIES, start=1):
        pages.append(
            Page(
                (
                    _paragraph("Annals of Rivers, 2023", y=800),
                    _paragraph(*body, y=700),
                    _paragraph("Preprint only", y=40),
                    Block((_line(str(244 + number), 40, 500, 510),)),
                )
            )
        )
    laid_out = assemble(pages)
    assert "Annals" not in laid_out.text and "Preprint" not in laid_out.text
    assert not any(str(244 + n) in laid_out.text for n in range(1, 5))
    assert laid_out.text.split("\n\n") == [" ".join(body) for body in BODIES]


def test_a_number_in_the_body_that_does_not_count_pages_stays() -> None:
    pages = [
        Page((_paragraph(*body, y=700), Block((_line(str(n), 40, 500, 510),))))
        for n, body in enumerate(BODIES[:3], start=1)
    ]
    pages.append(Page((_paragraph("A table:", y=700), Block((_line("17", 40, 300, 310),)))))
    text = assemble(pages).text
    assert "17" in text.split("\n\n")
    assert not any(line in {"1", "2", "3"} for line in text.split("\n\n"))


def test_repeated_first_lines_of_body_paragraphs_are_kept() -> None:
    pages = [
        Page((_paragraph("Chapter 1 begins here", *body, "and so on.", y=800),)) for body in BODIES
    ]
    assert assemble(pages).text.count("Chapter 1 begins here") == 4


def test_two_columns_are_read_column_by_column() -> None:
    left = [_paragraph(f"Left {i} one", f"left {i} two.", y=700 - 60 * i) for i in range(3)]
    right = [
        _paragraph(f"Right {i} one", f"right {i} two.", y=700 - 60 * i, x0=320) for i in range(3)
    ]
    title = Block((_line("A title across both columns", 780, 60, 540),))
    shuffled = (right[1], left[2], title, right[0], left[0], right[2], left[1])
    assert reading_order(shuffled) == (title, *left, *right)


def test_pages_record_where_each_page_starts_and_empty_pages_share_the_next() -> None:
    pages = [
        Page((_paragraph("First page text goes", y=700),)),
        Page(()),
        Page((_paragraph("on here. Second paragraph.", y=700),)),
    ]
    laid_out = assemble(pages)
    assert laid_out.text == "First page text goes on here. Second paragraph."
    start = laid_out.text.index("on here")
    assert laid_out.pages == (0, start, start)
    assert page_range(laid_out.pages, 0, 5) == (1, 1)
    assert page_range(laid_out.pages, start, start + 2) == (3, 3)
    assert page_range(laid_out.pages, 0, len(laid_out.text)) == (1, 3)
    assert page_range((), 0, 5) is None


def test_the_heading_is_the_largest_type_on_page_one() -> None:
    heading = Block((_line("Rivers Restored", 780, size=18),))
    body = _paragraph("Body text in ten point type", "goes on here.")
    assert assemble([Page((heading, body))]).heading == "Rivers Restored"
    assert assemble([Page((body,))]).heading is None


def test_a_chapter_title_running_over_a_few_pages_of_many_is_left_out() -> None:
    names = ("Ada", "Ben", "Cleo", "Dan", "Eva", "Finn", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea")
    pages = []
    for number, name in enumerate(names):
        body = _paragraph(f"{name} walked to the river", f"where {name} saw salmon.", y=700)
        head = (_paragraph("Chapter 2: The Floodplain", y=800),) if 4 <= number < 7 else ()
        pages.append(Page((*head, body)))
    text = assemble(pages).text
    assert "Floodplain" not in text
    assert all(f"{name} walked to the river where {name} saw salmon." in text for name in names)
