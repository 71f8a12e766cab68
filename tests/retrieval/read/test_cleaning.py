"""Cleaning: boilerplate left out, content kept, titles and dates found, text never altered."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.read.cleaning import Cleaned, clean, looks_wrapped

SEEDS = Path(__file__).resolve().parents[3] / "seeds"


def seed(name: str) -> str:
    return (SEEDS / name).read_text(encoding="utf-8")


def indexed_lines(text: str, cleaned: Cleaned) -> list[str]:
    """Each line of ``text`` that some indexable span touches, stripped."""
    out, pos = [], 0
    for raw in text.split("\n"):
        end = pos + len(raw)
        if raw.strip() and any(s.start < end and s.end > pos for s in cleaned.indexable):
            out.append(raw.strip())
        pos = end + 1
    return out


def is_indexed(text: str, cleaned: Cleaned, line: str, *, occurrence: int = 0) -> bool:
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(line, start + 1)
    return any(s.start < start + len(line) and s.end > start for s in cleaned.indexable)


def check_spans(text: str, cleaned: Cleaned) -> None:
    last = 0
    for span in cleaned.indexable:
        assert last <= span.start < span.end <= len(text)
        piece = text[span.start : span.end]
        assert piece == piece.strip()
        last = span.end


@pytest.mark.parametrize(
    ("name", "title", "date"),
    [
        (
            "000_c8c2ba5684a4ae7d.txt",
            "U.S. calls Mosul victory a 'critical milestone'",
            "2017-07-12",
        ),
        (
            "001_1465cd743fc52e2d.txt",
            "Sporadic clashes continue in Mosul after Iraq declares ‘total victory’",
            None,
        ),
        ("002_226329c1c46f42b1.txt", "Iraqi forces a ‘few days’ from victory in Mosul", None),
        (
            "003_70c2a50049753284.txt",
            "International Callings to Protect Mosul Civilians, ISIS Sends Car Bombs to Streets"
            " - ASHARQ AL-AWSAT English Archive",
            None,
        ),
        (
            "004_8ae4ba73e080a6d3.txt",
            "Iraqi forces gain foothold in Mosul after new push",
            "2017-05-06",
        ),
    ],
)
def test_seed_titles_and_dates(name: str, title: str, date: str | None) -> None:
    cleaned = clean(seed(name))
    assert cleaned.title == title
    assert cleaned.date == date
    check_spans(seed(name), cleaned)


SEED_BOILERPLATE = {
    "000_c8c2ba5684a4ae7d.txt": [
        "Sunday, 20 January 2019",
        "Latest news",
        "Main » U.S. calls Mosul victory a 'critical milestone'",
        "12 July 2017",
        "Media playback is unsupported on your device",
        "Media caption The BBC reports from Mosul where rescue teams are searching for survivors",
        "Media playback is unsupported on your device Media caption The BBC reports from Mosul",
    ],
    "002_226329c1c46f42b1.txt": ["Powered by automated translation", "* Agence France-Presse"],
    "003_70c2a50049753284.txt": ["Middle-east Arab News Opinion | Asharq Al-awsat", "Select Page"],
    "004_8ae4ba73e080a6d3.txt": [
        "06.05.2017 Madeline Patrick",
        "Leave a Reply",
        "Fill in your details below or click an icon to log in: Logo",
        "You are commenting using your account. Log\u00a0Out\u00a0/\u00a0 Change\u00a0)",
        "Twitter picture",
        "You are commenting using your Twitter account.",
        "Facebook photo",
        "You are commenting using your Facebook account.",
        "Connecting to %s",
    ],
}


@pytest.mark.parametrize("name", sorted(SEED_BOILERPLATE))
def test_seed_boilerplate_is_dropped(name: str) -> None:
    text = seed(name)
    kept = indexed_lines(text, clean(text))
    for line in SEED_BOILERPLATE[name]:
        assert not any(k.startswith(line) for k in kept), line


@pytest.mark.parametrize("name", sorted(p.name for p in SEEDS.glob("*.txt")))
def test_seed_sentences_are_all_kept(name: str) -> None:
    """Every line that ends like a sentence is content (apart from comment-form lines)."""
    text = seed(name)
    kept = set(indexed_lines(text, clean(text)))
    for line in {raw.strip() for raw in text.split("\n")}:
        sentence = len(line.split()) >= 6 and line.rstrip("”\"'").endswith((".", "!", "?"))
        if sentence and not line.startswith("You are commenting"):
            assert line in kept, line


def test_repeated_headline_first_kept_later_dropped() -> None:
    text = seed("000_c8c2ba5684a4ae7d.txt")
    cleaned = clean(text)
    headline = "\nU.S. calls Mosul victory a 'critical milestone'"
    assert text.count(headline) == 2  # besides the breadcrumb: once on top, once at the end
    assert is_indexed(text, cleaned, headline)
    assert not is_indexed(text, cleaned, headline, occurrence=1)


ARTICLE_HEAD = "Iraqi army retakes Mosul\n\nThe army said the city was free on Sunday.\n\n"
ARTICLE_TAIL = "\n\nThe fighting went on for nine months, officials said.\n"

BOILERPLATE = [
    "Leave a Reply",
    "Leave a Reply Cancel reply",
    "Fill in your details below or click an icon to log in:",
    "You are commenting using your WordPress.com account. Log Out /  Change )",
    "Connecting to %s",
    "Twitter picture",
    "Facebook photo",
    "Notify me of new comments via email.",
    "Media playback is unsupported on your device",
    "Media caption Rescue teams search the rubble",
    "Media playback is unsupported on your device Media caption Crowds in the street",
    "Image copyright Getty Images",
    "Share this",
    "Share this:",
    "Share on Facebook",
    "Tweet",
    "Email",
    "Print",
    "Share Tweet Email Print",
    "Facebook Twitter WhatsApp Email",
    "Main » World",
    "Home > News > Middle East",
    "Home / World / Iraq",
    "News › World › Europe",
    "Latest news",
    "Select Page",
    "Skip to content",
    "Advertisement",
    "ADVERTISEMENT",
    "Read more",
    "Read more: Iraq declares victory in Mosul",
    "Subscribe",
    "Sign up for our newsletter",
    "We use cookies to give you the best experience. By continuing you accept our cookie policy.",
    "This website uses cookies to improve your experience. Accept",
    "Powered by automated translation",
    "Photo: Ahmad Al Rubaye / AFP",
    "(Photo: Reuters)",
    "Getty Images",
    "* Agence France-Presse",
    "Reuters/Ahmed Jadallah",
    "Ahmad Al Rubaye / AFP",
    "© 2019 The National",
    "Copyright 2017 Reuters. All rights reserved.",
    "Tags: Iraq, Mosul, ISIS",
    "By Madeline Patrick",
    "Related Articles",
    "Follow us on Twitter",
    "Posted in World News",
    "12 July 2017",
    "Updated 12 July 2017 10:32 BST",
    "Posted on June 30, 2017 by admin",
    "News | World | Sport | Business",
    "3 Comments",
    "***",
    "![a photo](img/photo.jpg)",
]


@pytest.mark.parametrize("line", BOILERPLATE)
def test_boilerplate_line_is_dropped(line: str) -> None:
    text = ARTICLE_HEAD + line + ARTICLE_TAIL
    cleaned = clean(text)
    assert not is_indexed(text, cleaned, line)
    assert is_indexed(text, cleaned, "The army said the city was free on Sunday.")
    assert is_indexed(text, cleaned, "The fighting went on for nine months, officials said.")


CONTENT = [
    "Share prices fell sharply on Monday after the announcement.",
    "Print media has struggled for a decade, the report said.",
    "Read more about the study in the journal Nature, he said.",
    "Email was the main way the group talked, officials said.",
    "Home prices in Mosul doubled after the war.",
    "The cookie factory reopened on Monday, and workers said they accept the new contract.",
    "By the end of the day, the troops had crossed the river.",
    "Advertisement revenue fell by half, the company said.",
    "Tweet by the president angered officials in Baghdad.",
    "Latest news from the front was grim.",
    "Reuters reported that 20 people died.",
    "The Battle for Mosul",
    "Mosul: a city in ruins",
    "Q: What happens next?",
    "Yes.",
    "He said: “Never.”",
    "Most read stories were about the war, the editor said.",
    "Profits > costs / revenue, the analysts wrote in their note.",
    "On 12 July 2017 the army entered the Old City.",
    "(c) the defendant must pay the costs within thirty days.",
    "| Party | Seats | Share |",
    "Powered by solar panels, the car drove across the desert.",
    "The new rules mean every website must ask for consent before it uses cookies.",
]


@pytest.mark.parametrize("line", CONTENT)
def test_content_line_is_kept(line: str) -> None:
    text = ARTICLE_HEAD + line + ARTICLE_TAIL
    cleaned = clean(text)
    assert is_indexed(text, cleaned, line)


def test_list_marker_left_out_of_span() -> None:
    text = "Steps\n\n- Secure the city first.\n1. Rebuild the bridges.\n> Quoted words here.\n"
    cleaned = clean(text)
    pieces = [text[s.start : s.end] for s in cleaned.indexable]
    assert pieces == [
        "Steps",
        "Secure the city first.",
        "Rebuild the bridges.",
        "Quoted words here.",
    ]


def test_repeated_lines_keep_only_the_first() -> None:
    text = (
        "Title here\n\nSame line again.\n\nOther text.\n\nsame  LINE again.\n\nSame line again.\n"
    )
    cleaned = clean(text)
    assert is_indexed(text, cleaned, "Same line again.")
    assert not is_indexed(text, cleaned, "same  LINE again.")
    assert not is_indexed(text, cleaned, "Same line again.", occurrence=1)


@pytest.mark.parametrize(
    ("text", "title", "date"),
    [
        (
            "Headline here\n\n12 July 2017\n\nBody sentence one is here.",
            "Headline here",
            "2017-07-12",
        ),
        ("Headline here\nJune 30, 2017\nBody sentence one is here.", "Headline here", "2017-06-30"),
        (
            "Monday, 1 May 2017\nHeadline here\nBy Jo Smith\n2017-07-12\nBody text.",
            "Headline here",
            "2017-07-12",
        ),
        ("Monday, 1 May 2017\n\nBody sentence one is here.", None, "2017-05-01"),
        ("Body sentence one is here.\n\nShort line later", None, None),
        ("Intro\n\n# Markdown Title\n\nBody.", "Markdown Title", None),
        ("---\ntitle: Front\ndate: 2020-02-29\n---\n# Heading\nBody.", "Front", "2020-02-29"),
        ("---\ndate: someday\n---\nTitle\n1 May 2017\nBody.", "Title", "2017-05-01"),
        ("---\nnot: closed\n\nBody sentence one is here.", "not: closed", None),
        (
            "Headline   with\u00a0odd  spacing\n\nBody sentence one is here.",
            "Headline with odd spacing",
            None,
        ),
        ("A line that ends with a period.\nNext", None, None),
        ("", None, None),
    ],
)
def test_titles_and_dates(text: str, title: str | None, date: str | None) -> None:
    cleaned = clean(text)
    assert (cleaned.title, cleaned.date) == (title, date)
    check_spans(text, cleaned)


def test_front_matter_is_not_indexed() -> None:
    text = "---\ntitle: Front\n---\n\nBody sentence one is here.\n"
    cleaned = clean(text)
    assert [text[s.start : s.end] for s in cleaned.indexable] == ["Body sentence one is here."]


WRAPPED = (
    "The army said on Sunday that the city had been retaken after nine months\n"
    "of fighting, and that the remaining militants had been cleared from the\n"
    "narrow streets of the Old City, where they had made their last stand.\n"
)


def test_hard_wrapped_prose_is_one_span() -> None:
    text = "Title\n\n" + WRAPPED
    cleaned = clean(text)
    assert [text[s.start : s.end] for s in cleaned.indexable] == ["Title", WRAPPED.strip()]


@pytest.mark.parametrize(
    ("lines", "wrapped"),
    [
        (WRAPPED.strip().split("\n"), True),
        (["Sunday, 20 January 2019", "Latest news", "Main » Story"], False),
        (["One full sentence here.", "Another full sentence here, longer than the first."], False),
        (
            ["- a list item that goes on and on without", "- another list item of similar size"],
            False,
        ),
        (["just one line"], False),
    ],
)
def test_looks_wrapped(lines: list[str], wrapped: bool) -> None:
    assert looks_wrapped(lines) is wrapped


HOSTILE = [
    "",
    " \n\t\n ",
    "\u202eevil RTL override\u202c",
    "שלום עולם. זה משפט.\nمرحبا بالعالم.",
    "😀👍🏽👨‍👩‍👧 🎉",
    "\x01\x02\x07\x1b[31m\x7f\x0b\x0c",
    "a" * 20000,
    "word " * 200_000,
    "<script>alert(1)</script>",
    "| a | b |\n|---|---|\n| 1 | 2 |",
    "---\n" * 100,
    "Home > " * 1000,
    "12 July 2017 " * 1000,
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_text(text: str) -> None:
    cleaned = clean(text)
    check_spans(text, cleaned)
    assert cleaned.title is None or len(cleaned.title) <= len(text)
