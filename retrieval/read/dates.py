"""Dates as articles write them, read into ISO ``YYYY-MM-DD``.

A few regular expressions instead of ``dateparser``: the forms news pages use are few, and
cleaning a thousand articles must take well under a second. Dotted dates are day first
(``06.05.2017`` is 6 May); slashed dates are read only when unambiguous (one part over 12)
or year first.
"""

from __future__ import annotations

import re
from datetime import date

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_YEAR = r"\d{4}"
_WEEKDAY = r"(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|sday|urday)?\.?"
_DATE = (
    rf"(?:{_DAY}\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}"
    rf"|{_MONTH}\s+{_DAY},?\s+{_YEAR}"
    rf"|{_YEAR}-\d{{1,2}}-\d{{1,2}}(?:T[\d:.]+(?:Z|[+-]\d{{2}}:?\d{{2}})?)?"
    rf"|{_YEAR}/\d{{1,2}}/\d{{1,2}}"
    r"|\d{1,2}\.\d{1,2}\.\d{4}"
    r"|\d{1,2}/\d{1,2}/\d{4})"
)
_TIME = (
    r"(?:\d{1,2}[:.]\d{2}(?::\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.)?"
    r"(?:\s*(?:[a-z]{2,5}|(?:gmt|utc)\s*[+-]\s*\d{1,2}(?::?\d{2})?))?)"
)
_NAME = r"[A-Z][\w.'’-]*"
_BYLINE = rf"(?:(?i:by)\s+[\w.'’@-]+|{_NAME})(?:\s+(?:{_NAME}|and|&|de|van|von|al|el|bin)){{0,5}}"

#: A line that is a date and nothing else of substance: optional "Published:" and weekday,
#: the date, an optional time and an optional byline ("06.05.2017 Madeline Patrick").
DATE_LINE = re.compile(
    rf"^(?i:(?:(?:first\s+)?published|posted|updated|last\s+updated|date|dated)(?:\s+on)?\s*:?\s*)?"
    rf"(?i:{_WEEKDAY},?\s+)?(?i:{_DATE})"
    rf"(?:\s*(?i:,|at|-|–|\||•|·)?\s*(?i:{_TIME}))?"
    rf"(?:\s*(?:\||•|·|-|–|—|,)?\s*{_BYLINE})?\s*$"
)
_FIND = re.compile(_DATE, re.IGNORECASE)
_WORDS = re.compile(r"[a-z]+|\d+", re.IGNORECASE)


def parse_date(text: str) -> str | None:
    """The first date written in ``text`` as ``YYYY-MM-DD``, or None when none can be read."""
    match = _FIND.search(text)
    if match is None:
        return None
    raw = match.group(0)
    parts = _WORDS.findall(raw.split("T")[0] if "-" in raw else raw)
    day = month = year = None
    if any(p.isalpha() for p in parts):  # "12 July 2017", "July 12th, 2017"
        numbers = [int(re.sub(r"\D", "", p)) for p in parts if p[0].isdigit()]
        month = next((_MONTHS[p[:3].lower()] for p in parts if p[:3].lower() in _MONTHS), None)
        if len(numbers) >= 2:
            day, year = numbers[0], numbers[-1]
    else:
        a, b, c = (int(p) for p in parts[:3])
        if a > 31:  # year first: 2017-07-12, 2017/07/12
            year, month, day = a, b, c
        elif "." in raw or a > 12 >= b:  # 06.05.2017, day first
            day, month, year = a, b, c
        elif b > 12 >= a:  # 06/30/2017
            month, day, year = a, b, c
    return _iso(year, month, day)


def _iso(year: int | None, month: int | None, day: int | None) -> str | None:
    if year is None or month is None or day is None:
        return None
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None
