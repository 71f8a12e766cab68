"""render.py: escaping, citations, splitting at 4,096 on quote boundaries, plain fallback.

Every HTML chunk is checked with the stand-in's copy of Telegram's HTML rules, so "would
Telegram accept this" is tested, not assumed.
"""

from __future__ import annotations

import html

import pytest

from bot.telegram import render
from bot.telegram.callbacks import MAX_CALLBACK_BYTES, decode
from bot.telegram.render import MAX_MESSAGE_LENGTH, telegram_length
from retrieval.types import Answer, DocumentInfo, Extract, IndexInfo, Quote, Source
from tests.support.telegram.telegram_html import telegram_html

SOURCE = Source(
    id="a.txt",
    title="Mosul <b>falls</b> & more",
    date="2017-07-12",
    url='https://ex.org/a?x=1&y="2"',
)
BARE = Source(id="b.txt")


def quote(
    text: str, source: Source = SOURCE, *, start: int = 0, also: tuple[Source, ...] = ()
) -> Quote:
    extracts = tuple(
        Extract(text="same", start=0, end=4, source=s, first_sentence=0, last_sentence=0)
        for s in also
    )
    return Quote(
        text=text,
        start=start,
        end=start + len(text),
        source=source,
        first_sentence=0,
        last_sentence=0,
        score=1.0,
        also_in=extracts,
    )


def answered(*quotes: Quote, offset: int = 0, has_more: bool = False) -> Answer:
    return Answer(question="q?", status="answered", quotes=quotes, offset=offset, has_more=has_more)


def check(chunks: list[render.Chunk]) -> list[str]:
    """Every chunk is valid Telegram HTML within the limit, and so is its plain twin."""
    shown = []
    for chunk in chunks:
        visible = telegram_html(chunk.html).visible
        assert telegram_length(visible) <= MAX_MESSAGE_LENGTH
        assert telegram_length(chunk.plain) <= MAX_MESSAGE_LENGTH
        shown.append(visible)
    return shown


def test_quote_is_escaped_blockquoted_and_cited() -> None:
    text = 'He said "<script>alert(1)</script>" & left.'
    (chunk,) = render.answer_chunks(answered(quote(text)))
    assert "<blockquote>" + html.escape(text, quote=False) + "</blockquote>" in chunk.html
    (shown,) = check([chunk])
    assert text in shown
    assert "[1] Mosul <b>falls</b> & more — 2017-07-12" in shown
    assert '<a href="https://ex.org/a?x=1&amp;y=&quot;2&quot;">' in chunk.html
    assert chunk.plain.startswith(f"> {text}\n[1] Mosul <b>falls</b> & more — 2017-07-12")
    assert '(https://ex.org/a?x=1&y="2")' in chunk.plain


@pytest.mark.parametrize(
    ("url", "linked"),
    [
        ("https://ex.org/a", True),
        ("http://ex.org/a", True),
        ("javascript:alert(1)", False),
        ("ftp://ex.org/file", False),
        ("not a url", False),
        (None, False),
    ],
)
def test_only_web_urls_are_linked(url: str | None, linked: bool) -> None:
    cite = render.citation(1, Source(id="x", title="T", url=url))
    assert ("<a href=" in cite.html) is linked


def test_citation_falls_back_to_the_document_id() -> None:
    assert render.citation(2, BARE).plain == "[2] b.txt"


def test_numbering_continues_after_offset_and_agreement_is_noted() -> None:
    answer = answered(quote("First."), quote("Second.", also=(BARE, BARE)), offset=3)
    (shown,) = check(render.answer_chunks(answer))
    assert "[4] " in shown and "[5] " in shown and "[1] " not in shown
    assert shown.count("Also in: b.txt") == 1  # one note, the repeated source named once


def test_long_answers_split_on_quote_boundaries() -> None:
    quotes = [quote(f"Quote {i}: " + "word " * 300) for i in range(8)]
    chunks = render.answer_chunks(answered(*quotes))
    shown = check(chunks)
    assert len(chunks) > 1
    for piece in shown:  # each message holds whole quotes, each with its citation
        assert piece.count("Quote ") == piece.count("Mosul <b>falls</b>")
    assert "".join(shown).count("Quote ") == 8


def test_a_quote_longer_than_a_message_is_split_between_words_verbatim() -> None:
    text = " ".join(f"w{i}<&>" for i in range(2500))
    chunks = render.answer_chunks(answered(quote(text)))
    shown = check(chunks)
    assert len(chunks) > 1
    rebuilt = " ".join(part.split("\n[1]")[0].strip() for part in shown)
    assert rebuilt == text
    assert "[1] " in shown[-1] and "[1] " not in shown[0]


def test_a_run_without_spaces_longer_than_a_message_is_cut() -> None:
    text = "&" * 10_000  # escapes to 50,000 characters
    shown = check(render.answer_chunks(answered(quote(text))))
    assert "".join(s.split("\n[1]")[0] for s in shown) == text


def test_utf16_length_counts_emoji_twice() -> None:
    assert telegram_length("🇮🇶a") == 5
    chunks = render.answer_chunks(answered(quote("😀 " * 3000)))
    check(chunks)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (Answer(question="q", status="not_found", closest_topics=("Mosul <x>",)), render.NOT_FOUND),
        (Answer(question="q", status="not_found", message="Nothing <here>."), "Nothing <here>."),
        (
            Answer(question="", status="invalid_question", message="Please ask & wait"),
            "Please ask & wait",
        ),
    ],
)
def test_declines_and_invalid_questions(answer: Answer, expected: str) -> None:
    (shown,) = check(render.answer_chunks(answer))
    assert shown.startswith(expected)
    if answer.closest_topics:
        assert "• Mosul <x>" in shown


def test_keyboard_buttons_fit_callback_data() -> None:
    answer = answered(quote("a"), quote("b"), has_more=True)
    markup = render.answer_keyboard("AbCdEf12", answer)
    assert markup is not None
    labels = [b.text for row in markup.inline_keyboard for b in row]
    assert labels == ["Context [1]", "Context [2]", "More quotes ▸", "👍", "👎"]
    for row in markup.inline_keyboard:
        for button in row:
            assert isinstance(button.callback_data, str)
            assert len(button.callback_data.encode()) <= MAX_CALLBACK_BYTES
            assert decode(button.callback_data) is not None
    no_more = render.answer_keyboard("AbCdEf12", answer, more=False)
    assert no_more is not None and "More quotes ▸" not in [
        b.text for r in no_more.inline_keyboard for b in r
    ]
    invalid = Answer(question="", status="invalid_question", message="m")
    assert render.answer_keyboard("AbCdEf12", invalid) is None


def test_context_marks_the_quote_in_bold() -> None:
    q = quote("middle.", start=10)
    extract = Extract(
        text="Before it middle. After.",
        start=0,
        end=24,
        source=SOURCE,
        first_sentence=0,
        last_sentence=2,
    )
    (chunk,) = render.context_chunks(extract, q, 3)
    assert "<b>middle.</b>" in chunk.html and chunk.html.startswith("<b>Context of [3]</b>")
    check([chunk])
    moved = Extract(
        text="Other text entirely.",
        start=0,
        end=20,
        source=SOURCE,
        first_sentence=0,
        last_sentence=0,
    )
    assert "<b>" not in render.context_chunks(moved, q, 3)[0].html.split("</b>", 1)[1]


def test_sources_pages() -> None:
    docs = [
        DocumentInfo(source=Source(id=f"{i}.txt", title=f"T{i} <&>"), sentences=1, chars=1)
        for i in range(23)
    ]
    first, markup = render.sources_page(docs, 0)
    assert (
        "page 1 of 3" in first.plain and "[10] T9 <&>" in first.plain and "[11]" not in first.plain
    )
    assert markup is not None and [b.text for b in markup.inline_keyboard[0]] == ["Next ›"]
    last, markup = render.sources_page(docs, 99)
    assert "page 3 of 3" in last.plain and "[23] T22 <&>" in last.plain
    assert markup is not None and [b.text for b in markup.inline_keyboard[0]] == ["‹ Previous"]
    check([first, last])
    _, none = render.sources_page(docs[:3], 0)
    assert none is None


def test_about_start_help_are_valid_html() -> None:
    info = IndexInfo(
        model_name="m<1>",
        dimension=384,
        documents=5,
        sentences=97,
        passages=89,
        built_at="2026",
        index_type="flat",
    )
    shown = check(
        [render.about_text(info), render.start_text("bot", ["Who <won>?"]), render.help_text("bot")]
    )
    assert (
        "m<1> (384 dimensions)" in shown[0]
        and "• Who <won>?" in shown[1]
        and "/sources" in shown[2]
    )


def test_inline_results_insert_quote_and_citation() -> None:
    results = render.inline_results(answered(quote("Quote <one>."), quote("x " * 5000)), "key")
    (result,) = results  # the quote too long for one message is not offered
    assert result.id == "key.0"
    content = result.input_message_content
    shown = telegram_html(content.message_text).visible  # type: ignore[union-attr]
    assert "Quote <one>." in shown and "Mosul <b>falls</b> & more — 2017-07-12" in shown


def test_many_short_lines_fit_in_plain_text_too() -> None:
    text = "line\n" * 1500  # the plain form adds "> " to every line
    chunks = render.answer_chunks(answered(quote(text)))
    check(chunks)
    assert len(chunks) > 1


PDF = Source(id="study.pdf", title="River study", date="2023-01-15")


def _pdf_extract(pages: tuple[int, int] | None, text: str = "same") -> Extract:
    return Extract(
        text=text,
        start=0,
        end=len(text),
        source=PDF,
        first_sentence=0,
        last_sentence=0,
        pages=pages,
    )


@pytest.mark.parametrize(
    ("pages", "label"), [((3, 3), "[1] River study — 2023-01-15, p. 3"), ((4, 5), "pp. 4–5")]
)
def test_citations_of_pdf_quotes_give_their_pages(pages: tuple[int, int], label: str) -> None:
    cited = quote("Salmon returned.", PDF).model_copy(update={"pages": pages})
    (chunk,) = render.answer_chunks(answered(cited))
    (shown,) = check([chunk])
    assert label in shown and label in chunk.plain
    context = render.context_chunks(_pdf_extract(pages, "Salmon returned."), cited, 1)
    assert label in check(context)[-1]
    (result,) = render.inline_results(answered(cited), "k")
    assert label.removeprefix("[1] ") in (result.description or "")


def test_agreement_names_the_pages_of_each_other_pdf() -> None:
    main = quote("Salmon returned.", SOURCE).model_copy(update={"also_in": (_pdf_extract((2, 2)),)})
    (chunk,) = render.answer_chunks(answered(main))
    assert "Also in: River study — 2023-01-15, p. 2" in check([chunk])[0]


def test_citations_without_pages_are_unchanged() -> None:
    assert render.citation(2, BARE, None).plain == "[2] b.txt"
    assert ", p." not in render.citation(1, SOURCE).plain


def test_a_follow_up_names_its_context_above_the_quotes() -> None:
    earlier = "Who led <the> " + "long " * 40 + "push & why?"
    answer = answered(quote("Peshmerga forces recaptured six districts.")).model_copy(
        update={"context_question": earlier}
    )
    chunks = render.answer_chunks(answer)
    shown = check(chunks)
    first_line = shown[0].split("\n")[0]
    assert first_line.startswith("Taking “Who led <the> long") and first_line.endswith(
        "…” as context. Send /new to start afresh."
    )
    assert len(first_line) < len(earlier)
    assert "<i>" in chunks[0].html and "&lt;the&gt;" in chunks[0].html
    assert chunks[0].plain.startswith("Taking “Who led <the>")
    assert "Peshmerga forces" in shown[0]
    alone = render.answer_chunks(answer.model_copy(update={"context_question": None}))
    assert "as context" not in alone[0].plain


def test_an_unsure_answer_says_so_above_its_quotes() -> None:
    answer = answered(quote("Peshmerga forces recaptured six districts."))
    assert render.UNSURE_NOTE not in check(render.answer_chunks(answer))[0]
    chunks = render.answer_chunks(answer.model_copy(update={"uncertain": True}))
    shown = check(chunks)
    assert shown[0].startswith(render.UNSURE_NOTE) and "Peshmerga forces" in shown[0]
    assert chunks[0].html.startswith(f"<i>{render.UNSURE_NOTE}</i>")
    assert render.UNSURE_NOTE in render.answer_plain(answer.model_copy(update={"uncertain": True}))
    (sure,) = render.inline_results(answer, "k")
    (unsure,) = render.inline_results(answer.model_copy(update={"uncertain": True}), "k")
    assert (unsure.description or "").startswith(render.UNSURE_INLINE)
    assert (unsure.description or "").endswith(sure.description or "-")
    assert not (sure.description or "").startswith(render.UNSURE_INLINE)


def test_help_explains_follow_ups_and_new() -> None:
    text = render.help_text("verbatim_bot").plain
    assert "/new — " in text and "follow-up" in text.lower()
    assert ("new", "Start afresh: forget the last question as context") in render.COMMANDS
