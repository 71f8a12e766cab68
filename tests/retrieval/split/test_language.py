"""The corpus language: codes, stems, stopwords, full-text text, sentence rules, the warning."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from embeddings import DEFAULT_MODEL
from retrieval.config import EngineSettings
from retrieval.split.language import (
    ENGLISH,
    ENGLISH_FTS_TOKENIZER,
    SNOWBALL_NAMES,
    LanguageError,
    check_code,
    language_of,
)
from retrieval.split.language_check import (
    ENGLISH_SHARE,
    MULTILINGUAL_MODEL,
    Problem,
    article_warning,
    english_share,
    language_warning,
    misfit,
)
from retrieval.split.segment import segment
from retrieval.split.terms import STOPWORDS, sentence_terms, terms_of
from retrieval.types import Document
from tests.support.german import FRENCH_TEXT, GERMAN_ARTICLES

SEEDS = Path(__file__).resolve().parents[3] / "seeds"
GERMAN_TEXT = "\n\n".join(GERMAN_ARTICLES.values())


def _seeds_text() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted(SEEDS.iterdir()) if p.is_file()]


def test_english_is_what_verbatim_always_did() -> None:
    assert language_of("en") is ENGLISH
    assert ENGLISH.stopwords is STOPWORDS
    assert ENGLISH.fts_tokenizer == ENGLISH_FTS_TOKENIZER
    assert not ENGLISH.stems_in_fts
    text = "The SDF declared victory over the militants."
    assert ENGLISH.fts_text(text) == text
    assert terms_of(text) == terms_of(text, ENGLISH)


@pytest.mark.parametrize("code", sorted(SNOWBALL_NAMES))
def test_every_supported_language_has_a_stemmer_and_stopwords(code: str) -> None:
    language = language_of(code)
    assert language.code == code
    assert language.stopwords
    assert language.stem("x") == "x"


def test_codes_are_checked_with_a_message_listing_the_supported_ones() -> None:
    assert check_code(" DE ") == "de"
    with pytest.raises(LanguageError, match=r"'xx' is not supported.*de \(german\)"):
        check_code("xx")
    with pytest.raises(ValidationError, match="fr \\(french\\)"):
        EngineSettings(language="klingon")
    assert EngineSettings(language="FR").language == "fr"


@pytest.mark.parametrize(
    ("forms", "language"),
    [
        (("Glocke", "Glocken", "glocken"), "de"),
        (("Kirchturm", "Kirchturms", "Kirchtürme"), "de"),
        (("geweiht", "geweihte"), "de"),
        (("pont", "ponts"), "fr"),
    ],
)
def test_inflected_forms_stem_alike(forms: tuple[str, ...], language: str) -> None:
    rules = language_of(language)
    assert len({rules.stem(f.lower()) for f in forms}) == 1


def test_german_stopwords_leave_content_words() -> None:
    german = language_of("de")
    terms = terms_of("Wann wurden die neuen Glocken von St. Marien geweiht?", german)
    assert {"glock", german.stem("geweiht"), german.stem("marien")} <= terms
    assert not {"die", "von", "wann"} & terms
    # English rules would keep the German function words and stem nothing German
    assert "die" in terms_of("die Glocken", ENGLISH)


def test_other_languages_index_their_stems_in_full_text() -> None:
    german = language_of("de")
    assert german.stems_in_fts
    assert german.fts_text("Die größten Glocken läuteten.") == " ".join(
        german.stem(w) for w in ("die", "größten", "glocken", "läuteten")
    )
    assert german.fts_terms(["Glocke"]) == german.fts_terms(["glocken"])


def test_sentences_follow_the_language_rules() -> None:
    text = "Am 3. Mai 1923 wurden die Glocken geweiht. Sie wiegen z. B. 1.450 Kilogramm."
    doc = Document(id="d.txt", text=text)
    german, _ = segment(doc, passage_sentences=6, language="de")
    english, _ = segment(doc, passage_sentences=6)
    assert [s.text for s in german] == [
        "Am 3. Mai 1923 wurden die Glocken geweiht.",
        "Sie wiegen z. B. 1.450 Kilogramm.",
    ]
    assert len(english) > len(german)  # English rules end a sentence at "3."
    assert all(text[s.start : s.end] == s.text for s in german)


def test_acronyms_are_kept_in_any_language() -> None:
    terms = sentence_terms("Die Deutsche Bahn (DB) fährt nach Mühlheim.", language_of("de"))
    assert "DB" in terms


def test_english_share_tells_english_from_german_and_french() -> None:
    seeds, words = english_share(_seeds_text())
    assert words > 1_000 and seeds >= ENGLISH_SHARE
    for text in (GERMAN_TEXT, FRENCH_TEXT):
        share, words = english_share([text])
        assert words >= 80 and share < ENGLISH_SHARE


def test_the_english_default_model_with_another_language_is_told() -> None:
    german = language_of("de")
    warning = language_warning(DEFAULT_MODEL, german, [GERMAN_TEXT])
    assert warning is not None
    for said in ("German", DEFAULT_MODEL, "English only", MULTILINGUAL_MODEL, "--rebuild"):
        assert said in warning
    # a multilingual model with the right setting: nothing to say
    assert language_warning(MULTILINGUAL_MODEL, german, [GERMAN_TEXT]) is None


def test_a_corpus_that_is_not_english_indexed_as_english_is_told() -> None:
    warning = language_warning(DEFAULT_MODEL, ENGLISH, [GERMAN_TEXT])
    assert warning is not None
    assert "does not look English" in warning and "VERBATIM_LANGUAGE" in warning
    assert MULTILINGUAL_MODEL in warning
    other_model = language_warning(MULTILINGUAL_MODEL, ENGLISH, [GERMAN_TEXT])
    assert other_model is not None and MULTILINGUAL_MODEL not in other_model


def test_an_english_corpus_indexed_as_another_language_is_told() -> None:
    warning = language_warning(MULTILINGUAL_MODEL, language_of("de"), _seeds_text())
    assert warning is not None and "looks English" in warning and "--language en" in warning


def test_the_seeds_in_english_say_nothing() -> None:
    assert language_warning(DEFAULT_MODEL, ENGLISH, _seeds_text()) is None


def test_a_sample_too_small_to_judge_says_nothing_of_the_text() -> None:
    assert language_warning(DEFAULT_MODEL, ENGLISH, ["Guten Tag."]) is None


@pytest.mark.parametrize(
    ("model", "code", "texts", "problem", "said"),
    [
        (DEFAULT_MODEL, "en", [GERMAN_TEXT], Problem.NOT_ENGLISH, ("does not look English",)),
        (
            MULTILINGUAL_MODEL,
            "en",
            [FRENCH_TEXT] * 2,
            Problem.NOT_ENGLISH,
            ("does not look English",),
        ),
        (MULTILINGUAL_MODEL, "de", _seeds_text(), Problem.LOOKS_ENGLISH, ("looks English",)),
        (DEFAULT_MODEL, "de", [GERMAN_TEXT], Problem.ENGLISH_ONLY_MODEL, ("English only",)),
        (DEFAULT_MODEL, "de", ["Guten Tag."], Problem.ENGLISH_ONLY_MODEL, ("English only",)),
        (DEFAULT_MODEL, "en", _seeds_text(), None, ()),
        (DEFAULT_MODEL, "en", ["Guten Tag."], None, ()),
        (MULTILINGUAL_MODEL, "de", [GERMAN_TEXT], None, ()),
    ],
    ids=[
        "german-as-english",
        "french-as-english-multilingual",
        "english-as-german",
        "german-english-model",
        "too-short-english-model",
        "english",
        "too-short",
        "german-multilingual",
    ],
)
def test_an_article_gets_one_short_line_for_what_the_corpus_gets_a_paragraph(
    model: str, code: str, texts: list[str], problem: Problem | None, said: tuple[str, ...]
) -> None:
    """The article's line and the corpus paragraph come from the same verdict; the line is one
    line, names the index's language (and the model when it is to blame), and no fix."""
    language = language_of(code)
    found = misfit(model, language, texts)
    assert (found.problem if found else None) is problem
    line = article_warning(model, language, texts)
    paragraph = language_warning(model, language, texts)
    assert (line is None) is (paragraph is None) is (problem is None)
    if line is None:
        return
    assert line.startswith("Warning: ") and "\n" not in line
    assert len(line) < len(paragraph or "") and "--rebuild" not in line
    for words in said:
        assert words in line
    model_to_blame = problem is Problem.ENGLISH_ONLY_MODEL or (
        problem is Problem.NOT_ENGLISH and model == DEFAULT_MODEL
    )
    assert (model in line) is model_to_blame
