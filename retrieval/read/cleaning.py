"""Decide which parts of an article are worth indexing, and find its title and date.

Cleaning never alters the text: it returns spans of it. It works line by line, because in
scraped news text a line is a paragraph: lines that are boilerplate (comment forms, share
buttons, breadcrumbs, navigation, cookie notices, photo credits, site-title lines), date or
byline lines, and repeats of an earlier line are left out. Lines that read as sentences are
only dropped by the unambiguous rules (comment forms, media players, cookie notices), never by
the looser navigation rules. Hard-wrapped prose (a block of lines cut at a fixed width) is kept
as one span so that its sentences are not cut at every line break.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from retrieval.read.dates import DATE_LINE, parse_date
from retrieval.types import Span

# How far into an article the headline and its date line are looked for (in lines).
HEADER_LINES = 20
# A date line this many lines below a headline (dropped lines between) is its date.
MAX_LINES_TO_HEADLINE = 3
# A title is a short line: at most this many words.
MAX_TITLE_WORDS = 30
# A hard-wrapped block has lines no longer than this, and its longest line is at least
# MIN_WRAP_WIDTH long (short header lines stacked together are not wrapped prose).
MAX_WRAP_WIDTH = 100
MIN_WRAP_WIDTH = 40
# Lines of at least this many words that end like a sentence are content.
MIN_SENTENCE_WORDS = 4
# Front matter (``---`` ... ``---``) longer than this many lines is not front matter.
MAX_FRONT_MATTER_LINES = 50

_MARKER = re.compile(r"(?:(?P<heading>#{1,6})\s+|(?:[-*+•·▪►]|\d{1,3}[.)])\s+|(?:>\s?)+)")
_SENTENCE_END = re.compile(r"""[.!?…]["'”’»)\]]*$""")
_HAS_WORD = re.compile(r"\w")
_WRAP_END = re.compile(r"""[.!?…:;]["'”’»)\]]*$""")

# Boilerplate dropped wherever it appears, sentence-like or not.
_ALWAYS = re.compile(
    r"""^(?:
      leave\ a\ (?:reply|comment)\b.{0,40}$
    | fill\ in\ your\ details\ below\ or\ click\ an\ icon\ to\ log\ in
    | you\ are\ commenting\ using\ your\ .{0,40}\baccount\b
    | connecting\ to\ %s$
    | (?:twitter|facebook|google\+?|wordpress\.com|gravatar)\ (?:picture|photo|image|account)$
    | notify\ me\ of\ (?:new|follow-up)\ (?:comments|posts)
    | media\ playback\ is\ unsupported\ on\ your\ device
    | (?:media|image|video)\ (?:caption|copyright)\b
    | (?:©|\(c\)\s*\d{4}|copyright\ ©?\s*\d{4}).{0,120}$
    | .{0,120}\ball\ rights\ reserved\b.{0,40}$
    )""",
    re.VERBOSE,
)
_COOKIE = re.compile(r"\bcookies?\b")
_COOKIE_NOTICE = re.compile(  # a site speaking to its reader, not an article about cookies
    r"\b(?:we use|we and our partners use|(?:this|our) (?:web)?site uses|"
    r"by (?:continuing to (?:use|browse)|using) (?:this|our) (?:web)?site|you (?:agree|consent) to|"
    r"(?:accept|allow|manage|reject) (?:all )?cookies|"
    r"cookie (?:policy|settings|preferences|notice))\b"
)
MAX_COOKIE_NOTICE_WORDS = 80

# Navigation and page furniture, dropped only when the line is not sentence-like.
_NAV = frozenset(
    """
    latest news|latest|breaking news|top stories|most read|most popular|trending|trending now
    select page|skip to content|skip to main content|skip to navigation|jump to content|menu
    main menu|navigation|search|home|homepage|advertisement|advertisements|advert|sponsored
    sponsored content|story continues below advertisement|read more|continue reading|more
    subscribe|subscribe now|sign in|sign up|log in|login|register|log out|newsletter
    follow us|related|related articles|related stories|related news|related posts|more stories
    related topics|more on this story|top stories|editor's picks|features
    you may also like|recommended|recommended for you|back to top|close|comments|share|print
    cancel reply|reply|post a comment|post navigation|previous article|next article|previous
    next|toggle navigation|open menu|close menu|accept|accept cookies|loading|loading...
    """.replace("\n", "|").split("|")
)
_NAV = frozenset(item.strip() for item in _NAV) - {""}
_SHARE_VERBS = frozenset({"share", "tweet", "email", "e-mail", "print", "pin", "save"})
_SHARE_WORDS = _SHARE_VERBS | {
    "this", "article", "story", "post", "on", "via", "mail", "facebook", "twitter", "x",
    "whatsapp", "linkedin", "pinterest", "reddit", "telegram", "messenger", "sms", "copy",
    "link", "flipboard", "tumblr", "comments", "comment", "with",
}  # fmt: skip
_PREFIXED = re.compile(
    r"^(?:read more|read also|also read|continue reading|see also|more on this|related|"
    r"recommended|watch|listen|tags|filed under|categories|category|topics|posted in|"
    r"photo|photos|photograph|image|picture|pic|credit|credits|photo credit|file photo|"
    r"source|sources)\s*[:：›»]"
    r"|^(?:posted in|filed under|click here|sign (?:up|in)|log in|follow (?:us|@)|more (?:from|on)"
    r"|join us|download (?:our|the) app|powered by)\b.{0,60}$"
    r"|^\d+\s+(?:comments?|replies|shares|views)$"
)
_AGENCY = (
    r"(?:afp|agence france-presse|reuters|ap|associated press|getty images|getty|epa|"
    r"xinhua|dpa|anadolu(?: agency)?|efe|ansa|tass|pa|pa media|bloomberg|shutterstock)"
)
_CREDIT = re.compile(  # "AFP", "Ahmad Al Rubaye / AFP", "Reuters/Ahmed Jadallah"
    rf"^(?:{_AGENCY}|.{{0,60}}\s[/|]\s*{_AGENCY}(?:\s*/\s*\w+)?"
    rf"|{_AGENCY}\s*/\s*[\w .'-]{{1,40}})\.?$"
)
_BREADCRUMB_SEP = re.compile(r"\s+(?:»|›|>|→|/|\\|::)\s+")
_BREADCRUMB_ROOTS = frozenset(["home", "main", "homepage", "start", "news", "index", "front page"])
_BYLINE = re.compile(r"^(?:by|written by|words by|reporting by)\s+\S", re.IGNORECASE)
MAX_BYLINE_WORDS = 7
_IMAGE_LINE = re.compile(r"^!\[[^\]]*\]\([^)]*\)$|^<!--.*-->$")


@dataclass(frozen=True)
class Cleaned:
    """What cleaning decided: spans worth indexing, and the title and date it found."""

    indexable: tuple[Span, ...]
    title: str | None
    date: str | None


@dataclass(frozen=True)
class _Unit:
    """One line (or one hard-wrapped block) of the text, without surrounding markup."""

    start: int
    end: int
    text: str
    norm: str
    heading: int  # markdown heading level, 0 when none
    marked: bool  # started with a list, quote or heading marker


def clean(text: str) -> Cleaned:
    """Spans of ``text`` to index, with the article's title and date (ISO) when found."""
    lines = _lines(text)
    front, front_end = _front_matter(text, lines)
    units = _units([line for line in lines if line.start >= front_end])
    keep: list[_Unit] = []
    dates: list[tuple[int, str | None]] = []  # (unit index, ISO date) of date lines
    seen: set[str] = set()
    kept_flags: list[bool] = []
    in_header = True
    for index, unit in enumerate(units):
        sentence = _is_sentence(unit.text)
        if DATE_LINE.match(unit.text) and not sentence:
            dates.append((index, parse_date(unit.text)))
            verdict = False
        else:
            verdict = not _is_boilerplate(unit, sentence=sentence, in_header=in_header)
        if unit.norm in seen:
            verdict = False
        seen.add(unit.norm)
        kept_flags.append(verdict)
        if verdict:
            keep.append(unit)
            if sentence:
                in_header = False
    title, date = _title_and_date(units, kept_flags, dates)
    title = front.get("title") or title
    date = (parse_date(front["date"]) if front.get("date") else None) or date
    return Cleaned(
        indexable=tuple(Span(start=u.start, end=u.end) for u in keep), title=title, date=date
    )


def looks_wrapped(lines: list[str]) -> bool:
    """True when a block of consecutive lines reads as prose cut at a fixed width.

    Such a block is one paragraph; otherwise each line of scraped news text is its own.
    """
    if len(lines) < 2 or any(_MARKER.match(line) or line.startswith("|") for line in lines):
        return False
    body = lines[:-1]
    width = max(len(line) for line in lines)
    if not MIN_WRAP_WIDTH <= width <= MAX_WRAP_WIDTH:
        return False
    open_ended = sum(1 for line in body if not _WRAP_END.search(line))
    return open_ended * 2 >= len(body) and min(len(line) for line in body) >= 0.7 * width


def normalize(line: str) -> str:
    """The form two lines are compared in: case-folded, whitespace collapsed."""
    return " ".join(line.split()).casefold()


@dataclass(frozen=True)
class _Line:
    start: int
    end: int
    text: str  # stripped
    number: int  # line number in the text


def _lines(text: str) -> list[_Line]:
    """Non-blank lines with the offsets of their stripped content."""
    out: list[_Line] = []
    pos = 0
    for number, raw in enumerate(text.split("\n")):
        stripped = raw.strip()
        if stripped:
            lead = len(raw) - len(raw.lstrip())
            out.append(_Line(pos + lead, pos + lead + len(stripped), stripped, number))
        pos += len(raw) + 1
    return out


def _front_matter(text: str, lines: list[_Line]) -> tuple[dict[str, str], int]:
    """YAML-style front matter at the very top: its ``key: value`` pairs and where it ends."""
    if not lines or lines[0].text != "---" or text[: lines[0].start].strip():
        return {}, 0
    values: dict[str, str] = {}
    for line in lines[1 : MAX_FRONT_MATTER_LINES + 1]:
        if line.text in ("---", "..."):
            return values, line.end
        key, sep, value = line.text.partition(":")
        if sep and key.strip().isidentifier():
            values[key.strip().lower()] = value.strip().strip("\"'")
    return {}, 0


def _units(lines: list[_Line]) -> list[_Unit]:
    """Lines as units, a hard-wrapped block of adjacent lines becoming one unit."""
    units: list[_Unit] = []
    block: list[_Line] = []

    def flush() -> None:
        if len(block) > 1 and looks_wrapped([line.text for line in block]):
            joined = " ".join(line.text for line in block)
            units.append(_Unit(block[0].start, block[-1].end, joined, normalize(joined), 0, False))
        else:
            units.extend(_unit(line) for line in block)
        block.clear()

    for line in lines:
        if block and not _adjacent(block[-1], line):
            flush()
        block.append(line)
    flush()
    return units


def _adjacent(previous: _Line, line: _Line) -> bool:
    return line.number == previous.number + 1


def _unit(line: _Line) -> _Unit:
    """A single line, its leading list/quote/heading marker left out of the span."""
    match = _MARKER.match(line.text)
    skip = match.end() if match and match.end() < len(line.text) else 0
    text = line.text[skip:].lstrip()
    start = line.end - len(text)
    heading = len(match.group("heading")) if match and skip and match.group("heading") else 0
    return _Unit(start, line.end, text, normalize(text), heading, bool(skip))


def _is_sentence(text: str) -> bool:
    return len(text.split()) >= MIN_SENTENCE_WORDS and bool(_SENTENCE_END.search(text))


def _is_boilerplate(unit: _Unit, *, sentence: bool, in_header: bool) -> bool:
    """Whether a line is page furniture rather than article text."""
    norm = unit.norm
    if not _HAS_WORD.search(norm) or _IMAGE_LINE.match(unit.text) or _ALWAYS.match(norm):
        return True
    words = len(norm.split())
    if _COOKIE.search(norm) and _COOKIE_NOTICE.search(norm) and words <= MAX_COOKIE_NOTICE_WORDS:
        return True
    if sentence:
        return False
    bare = norm.strip("()[]:.…»›>| ")
    if bare in _NAV or _PREFIXED.match(bare) or _CREDIT.match(bare):
        return True
    tokens = re.split(r"[\s|/·•,:]+", norm)
    if (
        len(tokens) <= 12
        and all(t in _SHARE_WORDS for t in tokens if t)
        and _SHARE_VERBS & set(tokens)
    ):
        return True
    if _BYLINE.match(unit.text) and words <= MAX_BYLINE_WORDS:
        return True
    if norm.startswith("|"):  # a table row: data, not a menu
        return False
    return _is_breadcrumb(norm) or _is_menu(norm, in_header=in_header)


def _is_breadcrumb(norm: str) -> bool:
    parts = _BREADCRUMB_SEP.split(norm)
    if len(parts) < 2:
        return False
    if parts[0] in _BREADCRUMB_ROOTS:
        return True
    return len(parts) >= 3 and all(len(p.split()) <= 6 for p in parts)


def _is_menu(norm: str, *, in_header: bool) -> bool:
    """Site-title lines ("Site | Section") near the top, and "A | B | C" menus anywhere."""
    parts = [p for p in re.split(r"\s+\|+\s+", norm) if p]
    if len(parts) < 2:
        return False
    return in_header or (len(parts) >= 3 and all(len(p.split()) <= 4 for p in parts))


def _title_candidate(unit: _Unit) -> bool:
    words = len(unit.text.split())
    return (
        0 < words <= MAX_TITLE_WORDS
        and not unit.text.endswith((".", ":", ",", ";"))
        and not (unit.heading == 0 and unit.marked)
    )


def _title_and_date(
    units: list[_Unit], kept: list[bool], dates: list[tuple[int, str | None]]
) -> tuple[str | None, str | None]:
    """The headline and the article's date.

    A date line right after a headline beats a page-header date above it; a markdown level-1
    heading is the headline when there is one.
    """
    header = min(len(units), HEADER_LINES)
    heading = next((u for u in units if u.heading == 1), None)
    for index, iso in dates:
        before = index - 1
        while before > index - MAX_LINES_TO_HEADLINE and before >= 0 and not kept[before]:
            before -= 1  # step over a dropped byline or share line between them
        if 0 <= before < header and kept[before] and _title_candidate(units[before]):
            headline = heading.text if heading else units[before].text
            return _tidy(headline), iso or _first_date(dates, header)
    title = heading.text if heading else _first_title(units, kept, header)
    return (_tidy(title) if title else None), _first_date(dates, header)


def _first_title(units: list[_Unit], kept: list[bool], header: int) -> str | None:
    """The first kept short line above the first sentence, if any."""
    for index in range(header):
        if kept[index]:
            if _is_sentence(units[index].text):
                return None
            if _title_candidate(units[index]):
                return units[index].text
    return None


def _first_date(dates: list[tuple[int, str | None]], header: int) -> str | None:
    return next((iso for index, iso in dates if index < header and iso), None)


def _tidy(title: str) -> str:
    return " ".join(title.split())
