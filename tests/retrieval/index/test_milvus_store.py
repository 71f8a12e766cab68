"""The Milvus store against a real Milvus server (``milvus-lite server``, gRPC on loopback).

The seeds are indexed with ``store="milvus"``: answers read through Milvus must match the
embedded store's, an update must be mirrored, and an unreachable server must say so.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from embeddings import Encoder
from retrieval.answer.answering import answer
from retrieval.config import EngineSettings
from retrieval.engine import Engine
from retrieval.errors import StoreUnavailableError
from retrieval.index import milvus_view
from retrieval.index.build import build_index
from retrieval.index.stores import open_index
from tests.support.german import GERMAN_ARTICLES
from tests.support.milvus import MilvusServer, free_port, server_binary

pytest.importorskip("pymilvus", reason="the Milvus store needs pymilvus (the cluster extra)")

REPO = Path(__file__).resolve().parents[3]
SEEDS = REPO / "seeds"
QUESTIONS = REPO / "tests" / "data" / "seeds_questions.jsonl"
#: Share of questions whose first quote must be the embedded store's.
SAME_SHARE = 0.98


@pytest.fixture(scope="session")
def milvus_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Milvus Lite server on a free loopback port, stopped at the end."""
    binary = server_binary()
    if not binary:
        pytest.skip("milvus-lite is not installed (pip install 'verbatim-qa[cluster]')")
    data = tmp_path_factory.mktemp("milvus-data")
    server = MilvusServer(binary, data, data.parent / "milvus.log")
    try:
        server.start()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield server.uri
    finally:
        server.stop()


def _milvus(settings: EngineSettings, uri: str, prefix: str) -> EngineSettings:
    return settings.model_copy(
        update={"store": "milvus", "milvus_uri": uri, "milvus_prefix": prefix}
    )


@pytest.fixture(scope="session")
def milvus_seeds(
    tmp_path_factory: pytest.TempPathFactory,
    engine_settings: EngineSettings,
    encoder: Encoder,
    milvus_uri: str,
) -> tuple[Path, EngineSettings]:
    """The seeds indexed with the Milvus store (the embedded index in the folder too)."""
    index_dir = tmp_path_factory.mktemp("milvus-seeds")
    settings = _milvus(engine_settings, milvus_uri, "seeds_")
    build_index(SEEDS, index_dir, settings, encoder=encoder)
    return index_dir, settings


def _first(engine: Engine, question: str) -> tuple[str, int, int] | None:
    answer = engine.answer(question)
    if not answer.quotes:
        return None
    quote = answer.quotes[0]
    return (quote.source.id, quote.start, quote.end)


def test_answers_match_the_embedded_store(
    milvus_seeds: tuple[Path, EngineSettings], engine_settings: EngineSettings, encoder: Encoder
) -> None:
    index_dir, settings = milvus_seeds
    questions = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line]
    embedded = Engine.open(index_dir, engine_settings, encoder=encoder)
    milvus = Engine.open(index_dir, settings, encoder=encoder)
    try:
        differ = []
        hits = {"embedded": 0, "milvus": 0}
        for q in questions:
            ours, theirs = _first(milvus, q["question"]), _first(embedded, q["question"])
            if ours != theirs:
                differ.append((q["id"], theirs, ours))
            for name, first in (("embedded", theirs), ("milvus", ours)):
                hits[name] += first is not None and first[0] in q["sources"]
        for row in differ:
            print("differs:", row)
        print(f"same first quote {1 - len(differ) / len(questions):.3f}; hit@1 source {hits}")
        assert len(differ) <= (1 - SAME_SHARE) * len(questions), differ
    finally:
        embedded.close()
        milvus.close()


def test_update_is_mirrored(
    tmp_path: Path, engine_settings: EngineSettings, encoder: Encoder, milvus_uri: str
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    index_dir = tmp_path / "index"
    settings = _milvus(engine_settings, milvus_uri, "update_")
    build_index(corpus, index_dir, settings, encoder=encoder)
    files = sorted(p for p in corpus.iterdir() if p.is_file())
    changed, removed = files[0], files[1]
    added = "The lighthouse keeper of Verbatim Bay counted exactly 4,711 gulls in March."
    changed.write_text(changed.read_text() + "\n\n" + added + "\n")
    removed.unlink()
    build_index(corpus, index_dir, settings, encoder=encoder)
    embedded = open_index(index_dir, engine_settings, encoder=encoder)
    milvus = open_index(index_dir, settings, encoder=encoder)
    try:
        with embedded.reader() as e, milvus.reader() as m:
            theirs = [(d.idx, d.source.id, d.first_sentence) for d in e.all_documents()]
            ours = [(d.idx, d.source.id, d.first_sentence) for d in m.all_documents()]
            assert ours == theirs
            assert removed.name not in {doc_id for _, doc_id, _ in ours}
            for idx, _, _ in ours:
                assert m.text(idx) == e.text(idx)
            assert (m.stats.sentences, m.stats.passages, m.stats.documents) == (
                e.stats.sentences,
                e.stats.passages,
                e.stats.documents,
            )
            assert m.term_frequencies(["gull", "lighthous"]) == e.term_frequencies(
                ["gull", "lighthous"]
            )
            dead = [p for p in range(m.stats.sentence_rows) if e.sentence(p) is None]
            assert dead and all(m.sentence(p) is None for p in dead)
    finally:
        embedded.close()
        milvus.close()
    engine = Engine.open(index_dir, settings, encoder=encoder)
    try:
        answer = engine.answer("How many gulls did the lighthouse keeper count?")
        assert answer.quotes and "4,711 gulls" in answer.quotes[0].text
    finally:
        engine.close()


def test_a_german_index_is_mirrored_with_its_stems(
    tmp_path: Path, engine_settings: EngineSettings, encoder: Encoder, milvus_uri: str
) -> None:
    """Milvus posting lists hold the tokens of the index's language: German stems here."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in GERMAN_ARTICLES.items():
        (corpus / name).write_text(text, encoding="utf-8")
    index_dir = tmp_path / "index"
    german = engine_settings.model_copy(update={"language": "de"})
    build_index(corpus, index_dir, _milvus(german, milvus_uri, "german_"), encoder=encoder)
    # opened with English settings: both stores answer in the manifest's language
    embedded = open_index(index_dir, engine_settings, encoder=encoder)
    milvus = open_index(index_dir, _milvus(engine_settings, milvus_uri, "german_"), encoder=encoder)
    try:
        assert embedded.language.code == milvus.language.code == "de"
        with embedded.reader() as e, milvus.reader() as m:
            for words in (["glocke"], ["glocken", "fähre"], ["kirchturms"]):
                found = e.postings("sentences", words)
                assert len(found) and m.postings("sentences", words).tolist() == found.tolist()
        question = "Wann wurde die neue Glocke geweiht?"
        ours = answer(question, milvus, top_k=3, min_relevance=float("-inf")).quotes
        theirs = answer(question, embedded, top_k=3, min_relevance=float("-inf")).quotes
        assert [(q.source.id, q.start) for q in ours] == [(q.source.id, q.start) for q in theirs]
    finally:
        embedded.close()
        milvus.close()


def test_an_unreachable_server_is_named(
    milvus_seeds: tuple[Path, EngineSettings], encoder: Encoder, tmp_path: Path
) -> None:
    index_dir, settings = milvus_seeds
    down = settings.model_copy(update={"milvus_uri": f"http://127.0.0.1:{free_port()}"})
    with pytest.raises(StoreUnavailableError, match="Cannot reach the Milvus server at http"):
        open_index(index_dir, down, encoder=encoder)
    with pytest.raises(StoreUnavailableError, match="VERBATIM_MILVUS_URI"):
        build_index(SEEDS, tmp_path / "index", down, encoder=encoder)


def test_cli_asks_through_milvus(milvus_seeds: tuple[Path, EngineSettings]) -> None:
    index_dir, settings = milvus_seeds
    env = os.environ | {
        "VERBATIM_STORE": "milvus",
        "VERBATIM_MILVUS_URI": settings.milvus_uri,
        "VERBATIM_MILVUS_PREFIX": settings.milvus_prefix,
    }
    question = "Who at Amnesty spoke about civilian deaths in Mosul?"
    # the index folder is moved away: answering must read Milvus alone
    moved = index_dir.parent / "moved-away"
    index_dir.rename(moved)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", "ask", "--index", str(index_dir), question],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        moved.rename(index_dir)
    assert done.returncode == 0, done.stderr
    assert "Maalouf" in done.stdout


def _term_reads(index_dir: Path, settings: EngineSettings, encoder: Encoder) -> tuple:
    words = ["Mosul", "Amnesty", "civilians", "the", "air strikes", "zzzunheard"]
    stems = ["mosul", "amnesti", "civilian", "strike", "zzzunheard"]
    index = open_index(index_dir, settings, encoder=encoder)
    try:
        with index.reader() as view:
            return (
                {k: view.postings(k, words).tolist() for k in ("sentences", "passages")},
                {k: view.lexical(k, words, 20) for k in ("sentences", "passages")},
                view.term_frequencies(stems),
                view.terms_with_prefix("civil", longest=8),
            )
    finally:
        index.close()


def test_reads_by_key_match_reads_by_filter_and_the_embedded_store(
    milvus_seeds: tuple[Path, EngineSettings],
    engine_settings: EngineSettings,
    encoder: Encoder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from retrieval.index import milvus_docs, milvus_schema

    index_dir, settings = milvus_seeds
    by_key = _term_reads(index_dir, settings, encoder)
    monkeypatch.setattr(milvus_docs, "PROBE_DOCUMENTS", 0)
    monkeypatch.setattr(milvus_schema, "PROBE_KEYS", 0)
    by_filter = _term_reads(index_dir, settings, encoder)
    assert by_key == by_filter
    embedded = _term_reads(index_dir, engine_settings, encoder)
    assert by_key[0] == embedded[0] and by_key[2] == embedded[2] and by_key[3] == embedded[3]
    assert by_key[0]["sentences"] and by_key[2]["mosul"][0] > 0


def test_a_question_asked_again_reads_only_meta(
    milvus_seeds: tuple[Path, EngineSettings], encoder: Encoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pymilvus import MilvusClient

    index_dir, settings = milvus_seeds
    calls: list[str] = []
    for name in ("query", "search", "query_iterator", "has_collection"):
        method = getattr(MilvusClient, name)

        def counted(*args: object, _m: object = method, _n: str = name, **kw: object) -> object:
            calls.append(f"{_n} {args[1]}")
            return _m(*args, **kw)  # type: ignore[operator]

        monkeypatch.setattr(MilvusClient, name, counted)
    engine = Engine.open(index_dir, settings, encoder=encoder)
    calls.clear()
    try:
        question = "Who at Amnesty spoke about civilian deaths in Mosul?"
        first = engine.answer(question)
        kinds = [call.rsplit("_", 1)[-1] for call in calls]  # "search sentences" etc.
        kinds = [f"{call.split()[0]} {kind}" for call, kind in zip(calls, kinds, strict=True)]
        calls.clear()
        again = engine.answer(question)
        assert again.quotes == first.quotes
        assert calls == [], calls  # the meta read just before is reused
        time.sleep(milvus_view.META_REUSE_SECONDS)  # once it has aged, it is read once again
        assert engine.answer(question).quotes == first.quotes
        assert calls == [f"query {settings.milvus_prefix}meta"], calls
        # the first answer: one search of each kind, every posting list in one read (the
        # read ahead of the encoding, not again by the term lookups or the lexical search)
        assert kinds.count("search sentences") == kinds.count("search passages") == 1, kinds
        assert kinds.count("query postings") == kinds.count("query meta") == 1, kinds
    finally:
        engine.close()


def test_read_ahead_reads_the_words_not_too_common_once(
    milvus_seeds: tuple[Path, EngineSettings], encoder: Encoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A question's words are read ahead by their stems' frequency (a word's own, "civilians",
    is in no table), and a posting list read ahead is not read again."""
    from pymilvus import MilvusClient

    from retrieval.index import milvus_terms

    index_dir, settings = milvus_seeds
    reads: list[str] = []
    query = MilvusClient.query

    def counted(client: Any, collection: str, *args: Any, **kwargs: Any) -> Any:
        if collection.endswith("postings"):
            reads.append(str(kwargs.get("filter", "")))
        return query(client, collection, *args, **kwargs)

    monkeypatch.setattr(MilvusClient, "query", counted)
    monkeypatch.setattr(milvus_terms, "PREFETCH_MAX_FREQUENCY", 5)
    milvus = open_index(index_dir, settings, encoder=encoder)
    try:
        with milvus.reader() as view:
            frequency = view.term_frequencies(["civilian", "maalouf"])
            assert frequency["civilian"][0] > 5 >= frequency["maalouf"][0] > 0
            view.read_ahead(["civilians", "maalouf"])
            ahead = view.postings("sentences", ["maalouf"])
            assert len(reads) == 1 and "maalouf" in reads[0] and "civilian" not in reads[0]
            assert len(ahead) == frequency["maalouf"][0]
            assert len(view.postings("sentences", ["civilians"])) > 5
            assert len(reads) == 2 and "civilian" in reads[1]
    finally:
        milvus.close()


def _term_statistics(view: Any, stems: list[str]) -> tuple:
    facts = view.term_facts(stems)
    return (
        view.term_frequencies(stems),
        {s: sorted(view.terms_with_prefix(s, longest=len(s) + 2)) for s in stems},
        {s: (f.frequencies, sorted(f.spelled_by), sorted(f.long_name)) for s, f in facts.items()},
    )


def test_term_statistics_follow_a_published_update(
    tmp_path: Path, engine_settings: EngineSettings, encoder: Encoder, milvus_uri: str
) -> None:
    """The term table an open index holds moves on with the next published version: new
    terms and acronyms appear, those of a removed document go, as in the embedded store."""
    from retrieval.split.terms import stem

    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    index_dir = tmp_path / "index"
    settings = _milvus(engine_settings, milvus_uri, "terms_")
    build_index(corpus, index_dir, settings, encoder=encoder)
    words = "SDF Syrian Democratic Forces VBLA Verbatim Bay Lighthouse gulls Mosul civilians"
    stems = [stem(w.lower()) for w in words.split()]
    milvus = open_index(index_dir, settings, encoder=encoder)
    try:
        with milvus.reader() as view:
            before = _term_statistics(view, stems)
        assert before[2]["sdf"][2], "the seeds define SDF: its long name is known"
        removed = next(p for p in corpus.iterdir() if "(SDF)" in p.read_text())
        removed.unlink()
        (corpus / "bay.txt").write_text(
            "The Verbatim Bay Lighthouse Authority (VBLA) counted exactly 4,711 gulls in March. "
            "The VBLA said the count was the highest in a decade.\n"
        )
        build_index(corpus, index_dir, settings, encoder=encoder)
        assert not milvus.replaced()  # the same generation, a newer version
        embedded = open_index(index_dir, engine_settings, encoder=encoder)
        try:
            with milvus.reader() as view, embedded.reader() as reference:
                after = _term_statistics(view, stems)
                assert after == _term_statistics(reference, stems)
        finally:
            embedded.close()
    finally:
        milvus.close()
    assert after != before
    assert not after[2]["sdf"][2] and after[2]["vbla"][2]
    assert after[0][stem("gulls")][0] > 0 and stem("gulls") not in before[0]


def _document_reads(view: Any, doc_id: str) -> tuple:
    """Everything a reader reads of document ``doc_id``: its row, text, sentence and passage
    rows, the postings and frequencies of its first sentence's words."""
    doc = view.document_by_id(doc_id)
    if doc is None:
        return (None,)
    first = view.sentence(doc.first_sentence)
    words = sorted(set(first.terms.split()))
    return (
        (doc.idx, doc.source, doc.first_sentence, doc.sentence_count, doc.passage_count),
        view.text(doc.idx),
        view.sentences(range(doc.first_sentence, doc.first_sentence + doc.sentence_count)),
        view.passages(range(doc.first_passage, doc.first_passage + doc.passage_count)),
        view.postings("sentences", words).tolist(),
        view.term_frequencies(words),
    )


def _count(client: Any, collection: str, rule: str) -> int:
    return int(client.query(collection, filter=rule, output_fields=["count(*)"])[0]["count(*)"])


def test_a_removed_documents_rows_outlast_the_readers_of_the_version_before(
    tmp_path: Path,
    engine_settings: EngineSettings,
    encoder: Encoder,
    milvus_uri: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A reader of version N reads a document that N+1 removes in full, after N+1 is
    published; its rows are deleted by a sync after the grace period, not before."""
    from pymilvus import MilvusClient

    from retrieval.index import milvus_sync
    from retrieval.index.milvus_reader import MilvusReader
    from retrieval.index.milvus_rows import document_key
    from retrieval.index.milvus_schema import quoted
    from retrieval.index.milvus_sync import read_meta

    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    index_dir = tmp_path / "index"
    settings = _milvus(engine_settings, milvus_uri, "grace_")
    build_index(corpus, index_dir, settings, encoder=encoder)
    removed = sorted(p for p in corpus.iterdir() if p.is_file())[0]
    milvus = open_index(index_dir, settings, encoder=encoder)
    try:
        with milvus.reader() as old:
            # the reference, read through the embedded store at version N
            embedded = open_index(index_dir, engine_settings, encoder=encoder)
            try:
                with embedded.reader() as e:
                    expected = _document_reads(e, removed.name)
                    doc = e.document_by_id(removed.name)
            finally:
                embedded.close()
            assert doc is not None and expected[1] and expected[4]
            removed.unlink()
            build_index(corpus, index_dir, settings, encoder=encoder)  # publishes N+1
            # the reader in the middle of its answer, and one with nothing kept (a fresh index)
            assert _document_reads(old, removed.name) == expected
            fresh = open_index(index_dir, settings, encoder=encoder)
            try:
                assert _document_reads(MilvusReader(fresh, old.meta), removed.name) == expected
                with fresh.reader() as current:
                    assert current.version == old.version + 1
                    assert current.document_by_id(removed.name) is None
                    assert current.sentence(doc.first_sentence) is None
            finally:
                fresh.close()
    finally:
        milvus.close()
    client = MilvusClient(uri=milvus_uri)
    names = milvus.names
    key = quoted(document_key(doc.idx, doc.first_sentence, doc.first_passage))
    sentences = f"pos >= {doc.first_sentence} and pos < {doc.first_sentence + doc.sentence_count}"
    left = {
        "sentences": (names["sentences"], sentences),
        "documents": (names["documents"], f"key == {key}"),
        "doc_text": (names["doc_text"], f"dockey == {key}"),
        "postings": (names["postings"], f"dockey == {key}"),
    }
    assert all(_count(client, *where) for where in left.values())
    build_index(corpus, index_dir, settings, encoder=encoder)  # within the grace period
    assert all(_count(client, *where) for where in left.values())
    monkeypatch.setattr(milvus_sync, "RETIRED_GRACE_SECONDS", 0.0)  # as if it had passed
    build_index(corpus, index_dir, settings, encoder=encoder)
    assert {kind: _count(client, *where) for kind, where in left.items()} == dict.fromkeys(left, 0)
    meta = read_meta(client, settings.milvus_prefix)
    assert meta is not None and meta["deferred"] == [] and meta["retired"]["documents"] == []
    terms = [
        r["term"] for r in milvus_sync.query_all(client, names["term_df"], "added > 0", ["term"])
    ]
    assert len(terms) == len(set(terms)), "superseded term frequencies are deleted"
    client.close()


def test_an_old_generations_collections_outlast_its_readers(
    tmp_path: Path,
    engine_settings: EngineSettings,
    encoder: Encoder,
    milvus_uri: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A reader of the generation a rebuild replaces reads a document in full after the new
    one is published; the old collections are dropped by a sync after the grace period."""
    from pymilvus import MilvusClient

    from retrieval.index import milvus_sync
    from retrieval.index.milvus_sync import read_meta

    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    index_dir = tmp_path / "index"
    settings = _milvus(engine_settings, milvus_uri, "regen_")
    build_index(corpus, index_dir, settings, encoder=encoder)
    doc_id = sorted(p for p in corpus.iterdir() if p.is_file())[0].name
    embedded = open_index(index_dir, engine_settings, encoder=encoder)
    try:
        with embedded.reader() as e:
            expected = _document_reads(e, doc_id)
    finally:
        embedded.close()
    assert expected[0] is not None and expected[1] and expected[4]
    milvus = open_index(index_dir, settings, encoder=encoder)
    try:
        with milvus.reader() as old:
            build_index(corpus, index_dir, settings, rebuild=True, encoder=encoder)
            assert milvus.replaced()  # a new generation is published
            assert _document_reads(old, doc_id) == expected
    finally:
        milvus.close()
    client = MilvusClient(uri=milvus_uri)
    prefix = settings.milvus_prefix
    first = list(milvus.names.values())
    meta = read_meta(client, prefix)
    assert meta is not None and [e["generation"] for e in meta["stale_generations"]] == [milvus.tag]
    build_index(corpus, index_dir, settings, encoder=encoder)  # within the grace period
    assert all(client.has_collection(n) for n in first)
    monkeypatch.setattr(milvus_sync, "RETIRED_GRACE_SECONDS", 0.0)  # as if it had passed
    build_index(corpus, index_dir, settings, encoder=encoder)
    assert not any(client.has_collection(n) for n in first)
    meta = read_meta(client, prefix)
    assert meta is not None and meta["stale_generations"] == []
    second = open_index(index_dir, settings, encoder=encoder)
    try:
        with second.reader() as current:
            doc = current.document_by_id(doc_id)
            assert doc is not None and current.text(doc.idx) == expected[1]
        # a rebuild past the grace period drops the generation it replaces in the same sync
        build_index(corpus, index_dir, settings, rebuild=True, encoder=encoder)
        assert second.replaced()
        assert not any(client.has_collection(n) for n in second.names.values())
    finally:
        second.close()
    meta = read_meta(client, prefix)
    assert meta is not None and meta["stale_generations"] == []
    assert all(client.has_collection(f"{prefix}{meta['generation']}_{k}") for k in second.names)
    client.close()
