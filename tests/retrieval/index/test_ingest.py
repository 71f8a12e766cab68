"""Adding one article sent in: saved under the corpus's received/ folder, indexed in place.

Real parts: the real model and index, pages fetched over HTTP from a server on 127.0.0.1.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from embeddings import Encoder
from retrieval.config import EngineSettings, FetchPolicy
from retrieval.engine import Engine
from retrieval.errors import ArticleRefused, VerbatimError
from retrieval.index.build import build_index
from retrieval.index.ingest import RECEIVED_DIR, Added, Received, add_article, add_url, slug
from tests.support.articles import (
    ARTICLE_FACT,
    ARTICLE_TEXT,
    ARTICLE_TITLE,
    TEXT_FACT,
    TEXT_TITLE,
    ArticleServer,
    html_page,
    redirect,
)
from tests.support.german import GERMAN_ARTICLES

SEEDS = Path(__file__).resolve().parents[3] / "seeds"
LOCAL = FetchPolicy(allow_private=True, timeout_seconds=5.0)
SAFE_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*-[0-9a-f]{12}\.(txt|md|html|htm|markdown|pdf)$")


@dataclass
class Corpus:
    """A corpus folder of one seed article, its index, and how to add to both."""

    folder: Path
    index_dir: Path
    settings: EngineSettings
    encoder: Encoder

    def add(self, received: Received) -> Added:
        return add_article(
            received, self.folder, self.index_dir, self.settings, encoder=self.encoder
        )

    def add_url(self, url: str, policy: FetchPolicy = LOCAL) -> Added:
        return add_url(
            url, self.folder, self.index_dir, self.settings, policy, encoder=self.encoder
        )

    def received(self) -> list[str]:
        """Every file under received/, hidden ones too (nothing may be left behind)."""
        folder = self.folder / RECEIVED_DIR
        return sorted(p.name for p in folder.iterdir()) if folder.exists() else []

    def engine(self) -> Engine:
        return Engine.open(self.index_dir, self.settings, encoder=self.encoder)


@pytest.fixture
def corpus(tmp_path: Path, engine_settings: EngineSettings, encoder: Encoder) -> Corpus:
    folder = tmp_path / "articles"
    folder.mkdir()
    shutil.copy(sorted(SEEDS.glob("*.txt"))[0], folder)
    index_dir = tmp_path / "index"
    build_index(folder, index_dir, engine_settings, encoder=encoder)
    return Corpus(folder, index_dir, engine_settings, encoder)


@pytest.fixture
def server() -> Iterator[ArticleServer]:
    with ArticleServer() as running:
        yield running


def text_article(text: str = ARTICLE_TEXT, name: str = "palms.txt") -> Received:
    return Received(data=text.encode("utf-8"), suffix=".txt", name=name)


def test_a_text_file_is_saved_and_answered_from(corpus: Corpus) -> None:
    added = corpus.add(text_article())
    assert added.title == TEXT_TITLE
    assert added.sentences >= 3
    path = added.path
    assert path.parent == corpus.folder / RECEIVED_DIR and SAFE_NAME.match(path.name)
    assert path.read_bytes() == ARTICLE_TEXT.encode("utf-8")  # the bytes as sent
    assert corpus.received() == [path.name]  # nothing else left there
    engine = corpus.engine()
    try:
        answer = engine.answer("How many tonnes of dates did the palm groves produce?")
        assert answer.answered and TEXT_FACT in answer.quotes[0].text
        assert f"{RECEIVED_DIR}/{path.name}" in {d.source.id for d in engine.sources()}
    finally:
        engine.close()


@pytest.mark.parametrize(
    ("index_language", "article", "told"),
    [
        ("en", "muehlheim.txt", "does not look English"),
        ("en", "seed", None),
        ("de", "seed", "looks English"),
        ("de", "muehlheim.txt", "trained on English only"),
    ],
    ids=["german-into-english", "english-into-english", "english-into-german", "german-model"],
)
def test_an_article_that_does_not_fit_the_index_language_is_told(
    tmp_path: Path, encoder: Encoder, index_language: str, article: str, told: str | None
) -> None:
    """The check ``verbatim index`` makes of a corpus is made of the article added: one line
    on ``Added``, naming the index's language (the default model is English only)."""
    folder, index_dir = tmp_path / "articles", tmp_path / "index"
    folder.mkdir()
    seeds = sorted(SEEDS.glob("*.txt"))
    if index_language == "en":
        shutil.copy(seeds[0], folder)
    else:
        (folder / "hafen.txt").write_text(GERMAN_ARTICLES["hafen.txt"], encoding="utf-8")
    settings = EngineSettings(progress=False, language=index_language)
    build_index(folder, index_dir, settings, encoder=encoder)
    text = seeds[1].read_text(encoding="utf-8") if article == "seed" else GERMAN_ARTICLES[article]
    received = Received(data=text.encode("utf-8"), suffix=".txt", name="sent.txt")
    added = add_article(received, folder, index_dir, settings, encoder=encoder)
    assert added.sentences > 0
    if told is None:
        assert added.warning is None
        return
    assert added.warning is not None and told in added.warning
    assert "\n" not in added.warning
    language_name = "English" if index_language == "en" else "German"
    assert f"the index is {language_name}" in added.warning


def test_a_running_engine_answers_from_an_article_added_in_place(corpus: Corpus) -> None:
    engine = corpus.engine()
    try:
        question = "How many tonnes of dates did the palm groves produce?"
        assert not engine.answer(question).answered
        corpus.add(text_article())
        assert TEXT_FACT in engine.answer(question).quotes[0].text
    finally:
        engine.close()


def test_a_page_keeps_its_url_through_a_rebuild(corpus: Corpus, server: ArticleServer) -> None:
    """The citation's url is the link fetched (after redirects), not the page's canonical one;
    a full rebuild from the corpus keeps the article and its url (as /reindex does)."""
    server.pages["/short"] = redirect("/news/ferry.html")
    server.pages["/news/ferry.html"] = html_page()
    added = corpus.add_url(server.url("/short"))
    final = server.url("/news/ferry.html")
    assert (added.title, added.url) == (ARTICLE_TITLE, final)
    build_index(
        corpus.folder, corpus.index_dir, corpus.settings, rebuild=True, encoder=corpus.encoder
    )
    engine = corpus.engine()
    try:
        answer = engine.answer("When do the ferry boats leave the old city pier?")
        assert ARTICLE_FACT in answer.quotes[0].text
        assert answer.quotes[0].source.url == final
    finally:
        engine.close()


def test_the_same_article_again_is_a_duplicate(corpus: Corpus, server: ArticleServer) -> None:
    server.pages["/ferry.html"] = html_page()
    first = corpus.add_url(server.url("/ferry.html"))
    fetched = len(server.requests)
    with pytest.raises(ArticleRefused) as again:
        corpus.add_url(server.url("/ferry.html"))
    assert again.value.kind == "duplicate"
    assert ARTICLE_TITLE in again.value.message and first.doc_id in again.value.message
    assert len(server.requests) == fetched  # a known link is not even fetched
    # the same page under another link: the same text
    server.pages["/copy.html"] = html_page()
    with pytest.raises(ArticleRefused) as copy:
        corpus.add_url(server.url("/copy.html"))
    assert copy.value.kind == "duplicate" and "same text" in copy.value.message
    assert len(corpus.received()) == 2  # the first article and its source sidecar


def test_a_corpus_article_sent_as_a_file_is_a_duplicate(corpus: Corpus) -> None:
    seed = sorted(corpus.folder.glob("*.txt"))[0]
    with pytest.raises(ArticleRefused) as caught:
        corpus.add(Received(data=seed.read_bytes(), suffix=".txt", name="copy.txt"))
    assert caught.value.kind == "duplicate" and seed.name in caught.value.message
    assert corpus.received() == []


@pytest.mark.parametrize(
    ("data", "words"),
    [(b"", "empty"), (b"  \n\t\n", "whitespace"), (b"caf\xe9 au lait", "not UTF-8")],
    ids=["empty", "blank", "latin-1"],
)
def test_a_file_without_article_text_is_refused(corpus: Corpus, data: bytes, words: str) -> None:
    with pytest.raises(ArticleRefused) as caught:
        corpus.add(Received(data=data, suffix=".txt", name="x.txt"))
    assert caught.value.kind == "no_text" and words in caught.value.message
    assert corpus.received() == []


def test_names_come_from_the_title_never_from_what_was_sent(corpus: Corpus) -> None:
    text = "\n\n".join(["Ölpreise steigen — Bericht", ARTICLE_TEXT.split("\n\n", 1)[1]])
    added = corpus.add(text_article(text, name="../../etc/passwd.txt"))
    name = added.path.name
    assert name.startswith("olpreise-steigen-bericht-") and SAFE_NAME.match(name)
    assert added.path.parent == corpus.folder / RECEIVED_DIR


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ferry across the Tigris returns to Mosul", "ferry-across-the-tigris-returns-to-mosul"),
        ("../../etc/passwd", "etc-passwd"),
        ("日本語のタイトル", "article"),
        ("", "article"),
        ("a" * 80, "a" * 48),
        ("word " * 30, "-".join(["word"] * 9)),
    ],
)
def test_slug(text: str, expected: str) -> None:
    assert slug(text) == expected


def test_an_unsupported_format_is_refused(corpus: Corpus) -> None:
    with pytest.raises(ArticleRefused) as caught:
        corpus.add(Received(data=b"{}", suffix=".jsonl", name="many.jsonl"))
    assert caught.value.kind == "unsupported"


def test_a_corpus_that_is_one_file_is_refused(corpus: Corpus, tmp_path: Path) -> None:
    single = sorted(corpus.folder.glob("*.txt"))[0]
    with pytest.raises(ArticleRefused) as caught:
        add_article(
            text_article(), single, corpus.index_dir, corpus.settings, encoder=corpus.encoder
        )
    assert caught.value.kind == "not_allowed" and "single file" in caught.value.message


def test_an_index_of_another_corpus_is_left_alone(corpus: Corpus, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(ArticleRefused) as caught:
        add_article(
            text_article(), other, corpus.index_dir, corpus.settings, encoder=corpus.encoder
        )
    assert (
        caught.value.kind == "not_allowed" and str(corpus.folder.resolve()) in caught.value.message
    )
    assert not (other / RECEIVED_DIR).exists()


def test_a_failed_build_leaves_nothing_in_the_corpus(corpus: Corpus, tmp_path: Path) -> None:
    blocked = tmp_path / "index-is-a-file"
    blocked.write_text("not a folder")
    with pytest.raises(VerbatimError) as caught:
        add_article(text_article(), corpus.folder, blocked, corpus.settings, encoder=corpus.encoder)
    assert "is a file" in caught.value.message
    assert corpus.received() == []


def test_a_fetch_refusal_saves_nothing(corpus: Corpus, server: ArticleServer) -> None:
    with pytest.raises(ArticleRefused) as caught:
        corpus.add_url(server.url("/missing"))
    assert caught.value.kind == "unreachable"
    with pytest.raises(ArticleRefused) as private:
        corpus.add_url(server.url("/missing"), FetchPolicy())
    assert private.value.kind == "private_address"
    assert corpus.received() == []
