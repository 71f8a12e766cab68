"""Reading dates as articles write them."""

from __future__ import annotations

import pytest

from retrieval.read.dates import DATE_LINE, parse_date


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("12 July 2017", "2017-07-12"),
        ("12th July, 2017", "2017-07-12"),
        ("June 30, 2017", "2017-06-30"),
        ("Jul. 4 2017", "2017-07-04"),
        ("Sept 3, 2018", "2018-09-03"),
        ("06.05.2017", "2017-05-06"),
        ("2017-07-12", "2017-07-12"),
        ("2017-07-12T10:00:00Z", "2017-07-12"),
        ("2017/7/2", "2017-07-02"),
        ("30/06/2017", "2017-06-30"),
        ("06/30/2017", "2017-06-30"),
        ("05/06/2017", None),  # day or month first cannot be told
        ("31.02.2017", None),
        ("Sunday, 20 January 2019", "2019-01-20"),
        ("the battle ended on 9 July 2017 in the Old City", "2017-07-09"),
        ("no date here", None),
        ("", None),
    ],
)
def test_parse_date(text: str, iso: str | None) -> None:
    assert parse_date(text) == iso


@pytest.mark.parametrize(
    ("line", "is_date_line"),
    [
        ("12 July 2017", True),
        ("Sunday, 20 January 2019", True),
        ("06.05.2017 Madeline Patrick", True),
        ("Published: 12 July 2017 10:32 BST", True),
        ("Posted on June 30, 2017 by admin", True),
        ("Updated 2017-07-12 | By Jo Smith", True),
        ("12 July 2017 was a day like no other", False),
        ("On 12 July 2017 the army entered the city", False),
        ("July", False),
    ],
)
def test_date_line(line: str, is_date_line: bool) -> None:
    assert bool(DATE_LINE.match(line)) is is_date_line
