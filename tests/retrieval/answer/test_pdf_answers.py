"""Answers from an indexed PDF: every quote is cut from the stored text and cites its pages.

The corpus holds the river study as a real two-column PDF (running header, footer and page
numbers on every page, line-end hyphenation) beside one seed article, indexed and answered
with the real model. The test oracle for pages is the layout the PDF was drawn from.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from bot.render_text import render_answer
from bot.telegram.render import answer_chunks, context_chunks
from embeddings import Encoder
from retrieval.config import EngineSettings
from retrieval.engine import Engine
from retrieval.index.build import build_index
from retrieval.types import Document, Extract
from tests.support.pdf_article import HEADING, PARAGRAPHS, QUESTIONS
from tests.support.pdfs import Layout, article_pdf, page_of
from tests.support.stored import stored_documents

REPO = Path(__file__).resolve().parents[3]
PDF_ID = "vellmar.pdf"
SEED = "mosul-victory.txt"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Layout]:
    folder = tmp_path_factory.mktemp("pdf-corpus")
    layout = article_pdf(
        folder / PDF_ID, PARAGRAPHS, heading=HEADING, creation_date="D:20230115093000+01'00'"
    )
    seed = next(p for p in sorted((REPO / "seeds").glob("*.txt")))
    shutil.copy(seed, folder / SEED)
    return folder, layout


@pytest.fixture(scope="module")
def engine(
    corpus: tuple[Path, Layout],
    tmp_path_factory: pytest.TempPathFactory,
    engine_settings: EngineSettings,
    encoder: Encoder,
) -> Engine:
    index = tmp_path_factory.mktemp("pdf-index")
    report = build_index(corpus[0], index, engine_settings, encoder=encoder)
    assert report.skipped == ()
    return Engine.open(index, engine_settings, encoder=encoder)


@pytest.fixture(scope="module")
def stored(engine: Engine) -> dict[str, Document]:
    """The documents as the index stores them (text and page starts)."""
    return stored_documents(engine.index.index_dir)


def _sentence_start(text: str, offset: int) -> int:
    return max(text.rfind(". ", 0, offset) + 2, text.rfind("\n", 0, offset) + 1)


def _check(extract: Extract, stored: dict[str, Document], layout: Layout) -> None:
    document = stored[extract.source.id]
    assert extract.text and document.text[extract.start : extract.end] == extract.text
    if extract.source.id != PDF_ID:
        assert extract.pages is None
        return
    text, starts = layout.expected()
    assert document.text == text and document.pages == starts
    first, last = page_of(starts, extract.start), page_of(starts, extract.end - 1)
    assert extract.pages == (first, last), extract.text


def test_the_pdf_is_stored_as_drawn(
    stored: dict[str, Document], corpus: tuple[Path, Layout]
) -> None:
    text, starts = corpus[1].expected()
    assert stored[PDF_ID].text == text
    assert stored[PDF_ID].pages == starts
    assert stored[PDF_ID].title == HEADING
    assert stored[PDF_ID].date == "2023-01-15"
    assert stored[SEED].pages == ()


@pytest.mark.parametrize("retriever", ["hybrid", "dense", "lexical"])
def test_every_quote_is_verbatim_and_cites_the_pages_it_sits_on(
    engine: Engine,
    stored: dict[str, Document],
    corpus: tuple[Path, Layout],
    retriever: str,
) -> None:
    questions = [q for q, _words in QUESTIONS] + [
        "Who declared victory in Mosul?",
        "What did Lindqvist say about patience?",
        "Why did farmers protest?",
    ]
    checked = 0
    for question in questions:
        for offset in (0, 5, 10):  # the answer's further quotes too ("More quotes")
            answer = engine.answer(
                question, retriever=retriever, min_relevance=-math.inf, top_k=5, offset=offset
            )
            for quote in answer.quotes:
                _check(quote, stored, corpus[1])
                for other in quote.also_in:
                    _check(other, stored, corpus[1])
                checked += 1
            if not answer.has_more:
                break
    assert checked >= len(questions)


@pytest.mark.parametrize(("question", "words"), QUESTIONS)
def test_answers_come_from_the_pdf_and_cite_its_page(
    engine: Engine, corpus: tuple[Path, Layout], question: str, words: str
) -> None:
    text, starts = corpus[1].expected()
    page = page_of(starts, text.index(words))
    answer = engine.answer(question)
    assert answer.answered, question
    top = answer.quotes[0]
    assert top.source.id == PDF_ID and words in top.text, (question, top.text)
    assert top.pages is not None
    first, last = top.pages
    label = f"p. {first}" if first == last else f"pp. {first}–{last}"
    assert first <= page <= last
    assert label in render_answer(answer).split("\n")[-1]
    assert label in answer_chunks(answer)[0].html and label in answer_chunks(answer)[0].plain


def test_a_question_answered_from_page_3_cites_p_3(
    engine: Engine, corpus: tuple[Path, Layout]
) -> None:
    text, starts = corpus[1].expected()
    on_page_3 = [  # questions whose answering sentence lies wholly on page 3
        (q, words)
        for q, words in QUESTIONS
        if page_of(starts, _sentence_start(text, text.index(words))) == 3
    ]
    assert on_page_3
    for question, words in on_page_3:
        answer = engine.answer(question)
        top = answer.quotes[0]
        assert words in top.text and top.pages == (3, 3)
        assert f"— {HEADING} — 2023-01-15 ({PDF_ID}), p. 3, sentence" in render_answer(answer)
        assert f"[1] {HEADING} — 2023-01-15, p. 3" in answer_chunks(answer)[0].html


def test_text_across_a_page_break_cites_both_pages(
    engine: Engine, corpus: tuple[Path, Layout]
) -> None:
    text, starts = corpus[1].expected()
    # the sentence that the break between pages 1 and 2 cuts
    start = text.rindex(". ", 0, starts[1]) + 2
    end = text.index(".", starts[1]) + 1
    extract = engine.context(PDF_ID, start, end, window=0)
    assert extract.start <= start and extract.end >= end
    assert extract.pages == (1, 2)
    answer = engine.answer("How many salmon were counted in 2018?")
    chunks = context_chunks(extract, answer.quotes[0], 1)
    assert "pp. 1–2" in chunks[-1].html
