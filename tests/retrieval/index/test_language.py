"""An index in another language: built, recorded, searched and answered in it (real model).

The German articles of ``tests/support/german.py`` are indexed with ``language="de"``: the
manifest records it, the full-text tables hold German stems, a question's inflected words find
the sentence, and an index opened with English settings still answers in German stems.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import cli
from embeddings import DEFAULT_MODEL, Encoder
from retrieval.answer.answering import answer
from retrieval.config import EngineSettings
from retrieval.index import build_compact, store, store_write
from retrieval.index import manifest as mf
from retrieval.index.build import build_index
from retrieval.index.build_embed import prepare_document
from retrieval.index.loaded import LoadedIndex
from retrieval.read.readers import content_hash
from retrieval.search.coverage import query_terms
from retrieval.search.query import prepare
from retrieval.split.language import ENGLISH, Language, language_of
from retrieval.split.language_check import MULTILINGUAL_MODEL
from retrieval.split.terms import acronym_key
from retrieval.types import Document
from tests.support.german import GERMAN_ARTICLES
from tests.support.store_terms import StoreTerms

SEEDS = Path(__file__).resolve().parents[3] / "seeds"
GERMAN = language_of("de")
#: The sentence the questions below ask about, and one of its words in another form.
CONSECRATED = "Am 3. Mai 1923 wurden die drei neuen Glocken im Beisein von Bürgermeister"
QUESTION = "Wann wurde die neue Glocke geweiht?"


@pytest.fixture(scope="module")
def german_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("german-corpus")
    for name, text in GERMAN_ARTICLES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def german_index(
    tmp_path_factory: pytest.TempPathFactory, german_corpus: Path, encoder: Encoder
) -> tuple[Path, tuple[str, ...]]:
    """The German corpus indexed with ``language="de"``, and the build's warnings."""
    index_dir = tmp_path_factory.mktemp("german-index")
    settings = EngineSettings(progress=False, language="de")
    report = build_index(german_corpus, index_dir, settings, encoder=encoder)
    return index_dir, report.warnings


@contextlib.contextmanager
def _store(folder: Path, language: Language) -> Iterator[StoreTerms]:
    """The German articles in a bare store built with ``language``'s rules (no vectors)."""
    folder.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(store.connect(folder / "s.sqlite3", language=language)) as conn:
        items = [
            prepare_document(doc, content_hash(doc), None, 6, print, language)
            for doc in (Document(id=i, text=t) for i, t in GERMAN_ARTICLES.items())
        ]
        keys = {a: acronym_key(a, language) for item in items for a, _ in item.acronyms}
        store_write.insert_documents(conn, items, acronym_key=keys, language=language)
        yield StoreTerms(conn, language)


def _holding(view: StoreTerms, word: str) -> list[str]:
    positions = view.postings("sentences", [word]).tolist()
    marks = ",".join("?" * len(positions))
    rows = view.conn.execute(f"SELECT text FROM sentences WHERE pos IN ({marks})", positions)
    return [str(r[0]) for r in rows]


def test_full_text_finds_inflected_german_words_only_with_german_rules(tmp_path: Path) -> None:
    with _store(tmp_path / "de", GERMAN) as german:
        found = _holding(german, "Glocke")  # the sentence says "Glocken"
    assert any(s.startswith(CONSECRATED) for s in found)
    with _store(tmp_path / "en", ENGLISH) as english:
        assert not any(s.startswith(CONSECRATED) for s in _holding(english, "Glocke"))


def test_removing_a_german_document_empties_its_full_text(tmp_path: Path) -> None:
    with _store(tmp_path, GERMAN) as view:
        assert _holding(view, "Glocke")
        store_write.delete_documents(view.conn, ["muehlheim.txt"], language=GERMAN)
        assert _holding(view, "Glocke") == []
        assert _holding(view, "Fähre")  # the other article stays


def test_the_manifest_records_the_language(german_index: tuple[Path, tuple[str, ...]]) -> None:
    index_dir, _warnings = german_index
    assert mf.read(index_dir).language == "de"
    raw = json.loads((index_dir / mf.MANIFEST_FILE).read_text(encoding="utf-8"))
    del raw["language"]  # a manifest written before the setting existed
    assert mf.Manifest.model_validate(raw).language == "en"


def test_german_sentences_are_split_by_german_rules(
    german_index: tuple[Path, tuple[str, ...]],
    engine_settings: EngineSettings,
    encoder: Encoder,
) -> None:
    index = LoadedIndex.open(german_index[0], engine_settings, encoder=encoder)
    try:
        with index.reader() as reader:
            texts = [
                d.text for d in reader.sentences(range(reader.stats.sentence_rows)).values() if d
            ]
        assert any(t.startswith(CONSECRATED) and t.endswith("waren.") for t in texts)
        assert "Mühlheim am Bach, 12. März 2024." in texts
    finally:
        index.close()


def test_an_index_answers_in_its_own_language_whatever_the_settings(
    german_index: tuple[Path, tuple[str, ...]],
    engine_settings: EngineSettings,
    encoder: Encoder,
) -> None:
    english = engine_settings.model_copy(update={"language": "en"})
    index = LoadedIndex.open(german_index[0], english, encoder=encoder)
    try:
        assert index.language is GERMAN
        prepared = prepare(QUESTION, index.language)
        assert "wann" not in prepared.terms and "die" not in prepared.terms
        with index.reader() as reader:
            terms = query_terms(reader, prepared.terms)
            assert GERMAN.stem("glocken") in terms.stems
            assert terms.sentence_frequency("glocke") >= 2  # "Glocken", "Glocke" are one stem
        result = answer(QUESTION, index, top_k=3, min_relevance=float("-inf"))
        assert result.quotes and result.quotes[0].text.startswith(CONSECRATED)
    finally:
        index.close()


def test_reindexing_in_another_language_rebuilds_and_says_why(
    tmp_path: Path, german_corpus: Path, encoder: Encoder
) -> None:
    index_dir = tmp_path / "index"
    german = EngineSettings(progress=False, language="de")
    build_index(german_corpus, index_dir, german, encoder=encoder)
    again = build_index(german_corpus, index_dir, german, encoder=encoder)
    assert not again.wrote and len(again.warnings) == 1  # the model is told each time
    assert DEFAULT_MODEL in again.warnings[0]
    # no language configured (a bot's /reindex without VERBATIM_LANGUAGE): the index keeps its
    # own, whether updated or rebuilt from scratch
    unset = EngineSettings(progress=False)
    assert unset.language is None
    kept = build_index(german_corpus, index_dir, unset, encoder=encoder)
    assert kept.full_rebuild_reason is None and mf.read(index_dir).language == "de"
    build_index(german_corpus, index_dir, unset, encoder=encoder, rebuild=True)
    assert mf.read(index_dir).language == "de"
    messages: list[str] = []
    report = build_index(
        german_corpus,
        index_dir,
        EngineSettings(progress=False, language="en"),
        encoder=encoder,
        log=messages.append,
    )
    reason = report.full_rebuild_reason or ""
    assert "built for the language 'de'" in reason and "configured now is 'en'" in reason
    assert "--rebuild" in reason
    assert any(m.startswith("rebuilding from scratch") for m in messages)
    assert mf.read(index_dir).language == "en"


def test_the_english_model_with_a_german_corpus_warns(
    german_index: tuple[Path, tuple[str, ...]],
) -> None:
    _index_dir, warnings = german_index
    (warning,) = warnings
    assert "German" in warning and DEFAULT_MODEL in warning and MULTILINGUAL_MODEL in warning


def test_verbatim_index_prints_the_warning(
    tmp_path: Path, german_corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["index", str(german_corpus), "--index", str(tmp_path / "i"), "-q"])
    assert code == cli.EXIT_OK
    err = capsys.readouterr().err
    assert "does not look English" in err and "VERBATIM_LANGUAGE" in err
    assert MULTILINGUAL_MODEL in err


def test_an_unsupported_language_flag_is_one_line(
    tmp_path: Path, german_corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["index", str(german_corpus), "--index", str(tmp_path / "i"), "--language", "xx"]
    assert cli.main(argv) == cli.EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--language" in err and "de (german)" in err


def test_the_english_seeds_build_without_a_warning(tmp_path: Path, encoder: Encoder) -> None:
    report = build_index(SEEDS, tmp_path / "i", EngineSettings(progress=False), encoder=encoder)
    assert report.sentences > 50 and report.warnings == ()


def test_updates_and_compaction_keep_the_index_language(
    tmp_path: Path, german_corpus: Path, encoder: Encoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Removing most rows copies the store into a new generation: still German full text."""
    monkeypatch.setattr(build_compact, "COMPACT_MIN_ROWS", 1)
    corpus = tmp_path / "corpus"
    shutil.copytree(german_corpus, corpus)
    index_dir = tmp_path / "index"
    settings = EngineSettings(progress=False, language="de")
    build_index(corpus, index_dir, settings, encoder=encoder)
    first = mf.read(index_dir).generation
    moved = tmp_path / "muehlheim.txt"
    (corpus / "muehlheim.txt").rename(moved)
    report = build_index(corpus, index_dir, settings, encoder=encoder)
    assert any("compacted" in note for note in report.notes)
    manifest = mf.read(index_dir)
    assert manifest.generation != first and manifest.language == "de"
    compacted = mf.generation_dir(index_dir, manifest) / store.STORE_FILE
    with contextlib.closing(store.connect(compacted, readonly=True)) as conn:
        (sql,) = conn.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'sentences_fts'"
        ).fetchone()
    assert GERMAN.fts_tokenizer in sql and "porter" not in sql
    moved.rename(corpus / "muehlheim.txt")  # and back, incrementally
    build_index(corpus, index_dir, settings, encoder=encoder)
    index = LoadedIndex.open(index_dir, EngineSettings(progress=False), encoder=encoder)
    try:
        with index.reader() as reader:
            # the texts say "Glocken", "Fähre", "Anwohnern"
            for word in ("Glocke", "Fähren", "Anwohner"):
                found = reader.sentences(reader.postings("sentences", [word]).tolist())
                assert any(row is not None for row in found.values()), word
    finally:
        index.close()
