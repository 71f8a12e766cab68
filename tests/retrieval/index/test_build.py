"""Index builds: incremental by content hash, atomic under crashes, one build at a time."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from embeddings import Encoder
from retrieval.config import EngineSettings
from retrieval.engine import Engine
from retrieval.errors import CorpusError, VerbatimError
from retrieval.index import build_compact, build_embed, store, vectors
from retrieval.index import manifest as mf
from retrieval.index.build import LOCK_FILE, _build_lock, build_index
from retrieval.index.vectors import SENTENCES_FILE
from retrieval.read.readers import source_sidecar
from retrieval.split.segment import MAX_RUN_ON_CHARS, MAX_SENTENCE_CHARS
from tests.support.milvus import MilvusServer
from tests.support.row_files import assert_files_match_store

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(REPO / "seeds", folder)
    return folder


def _build(corpus: Path, index: Path, settings: EngineSettings, encoder: Encoder):
    return build_index(corpus, index, settings, encoder=encoder)


def test_second_build_of_unchanged_corpus_writes_nothing(
    corpus: Path, tmp_path: Path, engine_settings: EngineSettings, encoder: Encoder
) -> None:
    index = tmp_path / "index"
    first = _build(corpus, index, engine_settings, encoder)
    assert first.wrote and len(first.added) == 5
    generation = mf.read(index).generation
    again = _build(corpus, index, engine_settings, encoder)
    assert not again.wrote
    assert (again.added, again.updated, again.removed, again.unchanged) == ((), (), (), 5)
    assert mf.read(index).generation == generation


def test_changed_added_and_deleted_documents(
    corpus: Path, tmp_path: Path, engine_settings: EngineSettings, encoder: Encoder
) -> None:
    index = tmp_path / "index"
    _build(corpus, index, engine_settings, encoder)
    changed = sorted(corpus.glob("*.txt"))[1]
    changed.write_text(changed.read_text() + "\nThe river Tigris flows through the city.\n")
    (sorted(corpus.glob("*.txt"))[0]).unlink()
    (corpus / "new.md").write_text("# Pancakes\n\nMix flour, eggs and milk to make pancakes.\n")
    report = _build(corpus, index, engine_settings, encoder)
    assert report.updated == (changed.name,)
    assert report.added == ("new.md",)
    assert len(report.removed) == 1 and report.removed[0].startswith("000_")
    assert report.unchanged == 3
    engine = Engine.open(index, engine_settings, encoder=encoder)
    ids = [item.source.id for item in engine.sources()]
    assert "new.md" in ids and not any(i.startswith("000_") for i in ids)
    answer = engine.answer("How do you make pancakes?")
    assert answer.answered and answer.quotes[0].source.id == "new.md"
    assert (
        "flows through the city"
        in engine.answer("Which river flows through the city?").quotes[0].text
    )


def test_nothing_indexable_is_a_clear_error(
    tmp_path: Path, engine_settings: EngineSettings
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "blank.txt").write_text("   \n")
    with pytest.raises(CorpusError):
        build_index(empty, tmp_path / "index", engine_settings)


def test_a_second_build_at_once_is_refused(tmp_path: Path) -> None:
    index = tmp_path / "index"
    index.mkdir()
    with (
        _build_lock(index),
        pytest.raises(VerbatimError, match="Another `verbatim index`"),
        _build_lock(index),
    ):
        pass
    assert (index / LOCK_FILE).exists()


def _big_corpus(folder: Path, docs: int = 120) -> None:
    folder.mkdir()
    for i in range(docs):
        sentences = " ".join(
            f"Report {i} sentence {j} says the convoy {j} reached checkpoint {i * 7 + j}."
            for j in range(8)
        )
        (folder / f"doc{i:04d}.txt").write_text(f"Report number {i}\n\n{sentences}\n")


def _vector_bytes(index: Path) -> int:
    return (index / mf.read(index).generation / SENTENCES_FILE).stat().st_size


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT])
def test_killed_update_leaves_the_last_commit_usable(
    how: signal.Signals,
    tmp_path: Path,
    corpus: Path,
    engine_settings: EngineSettings,
    encoder: Encoder,
) -> None:
    index = tmp_path / "index"
    _build(corpus, index, engine_settings, encoder)
    before, size = mf.read(index), _vector_bytes(index)
    _big_corpus(corpus / "bulk")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "VERBATIM_INDEX_DIR": str(index)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "index", str(corpus), "--quiet"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while _vector_bytes(index) == size:  # vectors appended, their transaction not committed
        assert proc.poll() is None, "the build ended before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    proc.send_signal(how)
    proc.wait(timeout=60)
    assert proc.returncode != 0
    assert mf.read(index) == before
    engine = Engine.open(index, engine_settings, encoder=encoder)
    assert engine.info().documents == 5
    assert engine.answer("Who is Lynn Maalouf?").answered
    report = build_index(corpus, index, engine_settings, encoder=encoder)
    assert report.wrote and report.documents == 125
    assert engine.info().documents == 125  # the open engine follows the update
    assert engine.answer("Which checkpoint did report 7 sentence 3 reach?").answered
    assert_files_match_store(index)  # the killed writer's rows were cut off


def test_update_is_in_place_and_reads_only_changed_files(
    corpus: Path,
    tmp_path: Path,
    engine_settings: EngineSettings,
    encoder: Encoder,
    reads: list[str],
) -> None:
    index = tmp_path / "index"
    _build(corpus, index, engine_settings, encoder)
    generation = mf.read(index).generation
    reads.clear()  # what this test counts starts here
    assert not _build(corpus, index, engine_settings, encoder).wrote
    assert reads == []
    (corpus / "new.md").write_text("# Pancakes\n\nMix flour, eggs and milk to make pancakes.\n")
    report = _build(corpus, index, engine_settings, encoder)
    assert reads == ["new.md"] and report.added == ("new.md",) and report.unchanged == 5
    assert mf.read(index).generation == generation
    touched = sorted(corpus.glob("*.txt"))[0]
    os.utime(touched, ns=(time.time_ns(), time.time_ns()))
    report = _build(corpus, index, engine_settings, encoder)
    assert report.updated == () and report.added == () and report.unchanged == 6


#: Asked of the first seed article (its Mosul report); the answer quotes it.
MOSUL_QUESTION = "Who said victory in Mosul was a critical milestone?"


def test_a_source_sidecar_changed_alone_updates_the_citation(
    corpus: Path,
    tmp_path: Path,
    engine_settings: EngineSettings,
    encoder: Encoder,
    reads: list[str],
) -> None:
    """Adding, changing and deleting only an article's ``.NAME.source.json`` re-reads that
    article alone, and an engine left open cites the new url at once; then nothing is read."""
    index = tmp_path / "index"
    _build(corpus, index, engine_settings, encoder)
    article = sorted(corpus.glob("*.txt"))[0]
    sidecar = source_sidecar(article)
    engine = Engine.open(index, engine_settings, encoder=encoder)
    for url in ("https://example.org/mosul", "https://news.example.com/2017/mosul-victory", None):
        if url is None:
            sidecar.unlink()
        else:
            sidecar.write_text(json.dumps({"url": url}), encoding="utf-8")
        reads.clear()
        report = _build(corpus, index, engine_settings, encoder)
        assert reads == [article.name]
        assert report.updated == (article.name,) and report.unchanged == 4
        urls = {item.source.id: item.source.url for item in engine.sources()}
        assert urls[article.name] == url
        assert all(urls[other.name] is None for other in corpus.glob("*.txt") if other != article)
        quote = engine.answer(MOSUL_QUESTION).quotes[0]
        assert quote.source.id == article.name and quote.source.url == url
    reads.clear()
    assert not _build(corpus, index, engine_settings, encoder).wrote and reads == []


def test_a_source_sidecar_changed_alone_reaches_the_milvus_mirror(
    corpus: Path,
    tmp_path: Path,
    engine_settings: EngineSettings,
    encoder: Encoder,
    milvus_server: MilvusServer,
) -> None:
    """The article is indexed again (new positions), so the mirror, keyed by positions, writes
    it anew and retires the old rows: answers read from Milvus cite the new url."""
    settings = engine_settings.model_copy(
        update={"store": "milvus", "milvus_uri": milvus_server.uri, "milvus_prefix": "side_"}
    )
    index = tmp_path / "index"
    _build(corpus, index, settings, encoder)
    article = sorted(corpus.glob("*.txt"))[0]
    url = "https://example.org/mosul"
    source_sidecar(article).write_text(json.dumps({"url": url}), encoding="utf-8")
    assert _build(corpus, index, settings, encoder).updated == (article.name,)
    engine = Engine.open(index, settings, encoder=encoder)
    try:
        urls = {item.source.id: item.source.url for item in engine.sources()}
        assert urls[article.name] == url and len(urls) == 5
        assert engine.answer(MOSUL_QUESTION).quotes[0].source.url == url
    finally:
        engine.close()


def test_a_corpus_of_one_file_watches_its_sidecar_too(
    corpus: Path, tmp_path: Path, engine_settings: EngineSettings, encoder: Encoder
) -> None:
    article = sorted(corpus.glob("*.txt"))[0]
    index = tmp_path / "index"
    _build(article, index, engine_settings, encoder)
    source_sidecar(article).write_text(json.dumps({"url": "https://example.org/one"}))
    report = _build(article, index, engine_settings, encoder)
    assert report.updated == (article.name,)
    engine = Engine.open(index, engine_settings, encoder=encoder)
    assert [item.source.url for item in engine.sources()] == ["https://example.org/one"]
    assert not _build(article, index, engine_settings, encoder).wrote


def test_an_index_that_never_recorded_a_sidecar_rereads_its_article_once(
    corpus: Path,
    tmp_path: Path,
    engine_settings: EngineSettings,
    encoder: Encoder,
    monkeypatch: pytest.MonkeyPatch,
    reads: list[str],
) -> None:
    """A store written before sidecars were watched lacks their rows: the next build reads
    those articles again, finds them unchanged and embeds nothing."""
    index = tmp_path / "index"
    article = sorted(corpus.glob("*.txt"))[0]
    source_sidecar(article).write_text(json.dumps({"url": "https://example.org/a"}))
    _build(corpus, index, engine_settings, encoder)
    generation = mf.generation_dir(index, mf.read(index))
    with contextlib.closing(store.connect(generation / store.STORE_FILE)) as conn:
        deleted = conn.execute("DELETE FROM files WHERE path LIKE '.%'").rowcount
    assert deleted == 1
    monkeypatch.setattr(build_embed, "_encode", _never_called)
    reads.clear()  # what this test counts starts here
    report = _build(corpus, index, engine_settings, encoder)
    assert reads == [article.name] and report.unchanged == 5 and not report.updated
    reads.clear()
    assert not _build(corpus, index, engine_settings, encoder).wrote and reads == []


def _never_called(*args: object, **kwargs: object) -> None:
    raise AssertionError("nothing is to be embedded")


def test_open_engine_follows_updates_and_rebuilds(
    corpus: Path, tmp_path: Path, engine_settings: EngineSettings, encoder: Encoder
) -> None:
    index = tmp_path / "index"
    _build(corpus, index, engine_settings, encoder)
    engine = Engine.open(index, engine_settings, encoder=encoder)
    assert not engine.answer("How do you make pancakes?").answered
    (corpus / "new.md").write_text("# Pancakes\n\nMix flour, eggs and milk to make pancakes.\n")
    _build(corpus, index, engine_settings, encoder)
    found = engine.answer("How do you make pancakes?")
    assert found.answered and found.quotes[0].source.id == "new.md"
    for _ in range(3):  # each rebuild is a new generation; old ones are deleted
        build_index(corpus, index, engine_settings, encoder=encoder, rebuild=True)
        assert engine.answer("How do you make pancakes?").answered
    (corpus / "new.md").unlink()
    _build(corpus, index, engine_settings, encoder)
    gone = engine.answer("How do you make pancakes?")
    assert all(q.source.id != "new.md" for q in gone.quotes)


def test_ivf_index_matches_exact_search(
    corpus: Path, tmp_path: Path, engine_settings: EngineSettings, encoder: Encoder
) -> None:
    exact_dir, ivf_dir = tmp_path / "exact", tmp_path / "ivf"
    _build(corpus, exact_dir, engine_settings, encoder)
    ivf_settings = engine_settings.model_copy(update={"index_type": "ivf"})
    report = build_index(corpus, ivf_dir, ivf_settings, encoder=encoder)
    assert any("IVF" in note for note in report.notes)
    exact = Engine.open(exact_dir, engine_settings, encoder=encoder)
    ivf = Engine.open(ivf_dir, ivf_settings, encoder=encoder)
    assert ivf.info().index_type == "ivf" and exact.info().index_type == "flat"
    for question in ("Who is Lynn Maalouf?", "How many civilians were killed in Mosul?"):
        a, b = exact.answer(question), ivf.answer(question)
        assert [q.text for q in a.quotes][:1] == [q.text for q in b.quotes][:1]
    (corpus / "new.md").write_text("# Pancakes\n\nMix flour, eggs and milk to make pancakes.\n")
    build_index(corpus, ivf_dir, ivf_settings, encoder=encoder)  # a delta beside the IVF rows
    assert ivf.answer("How do you make pancakes?").quotes[0].source.id == "new.md"


def test_rows_read_one_by_one_are_read_once_an_answer(
    corpus: Path,
    tmp_path: Path,
    engine_settings: EngineSettings,
    encoder: Encoder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A large index reads vectors with pread, row by row: the dense search re-scoring its
    approximate hits and the features of the candidates want many of the same rows, and each
    is read once per answer; the answers are those of the memory-mapped rows."""
    ivf_settings = engine_settings.model_copy(update={"index_type": "ivf"})
    build_index(corpus, tmp_path / "ivf", ivf_settings, encoder=encoder)
    questions = ("Who is Lynn Maalouf?", "How many civilians were killed in Mosul?")
    mapped = Engine.open(tmp_path / "ivf", ivf_settings, encoder=encoder)
    expected = [mapped.answer(q) for q in questions]
    monkeypatch.setattr(vectors, "PREAD_MIN_ROWS", 0)  # every index reads rows one by one now
    read: list[int] = []
    real_read_rows = vectors.read_rows

    def counting(fd: int, positions: np.ndarray, dimension: int) -> np.ndarray:
        read.extend((fd, int(p)) for p in positions)
        return real_read_rows(fd, positions, dimension)

    monkeypatch.setattr(vectors, "read_rows", counting)
    engine = Engine.open(tmp_path / "ivf", ivf_settings, encoder=encoder)
    for question, answer in zip(questions, expected, strict=True):
        read.clear()
        assert engine.answer(question) == answer
        assert read and len(read) == len(set(read))


def test_removing_most_rows_compacts_into_a_new_generation(
    corpus: Path,
    tmp_path: Path,
    engine_settings: EngineSettings,
    encoder: Encoder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(build_compact, "COMPACT_MIN_ROWS", 10)
    index = tmp_path / "index"
    _big_corpus(corpus / "bulk", docs=30)
    _build(corpus, index, engine_settings, encoder)
    engine = Engine.open(index, engine_settings, encoder=encoder)
    before = engine.answer("Who is Lynn Maalouf?")
    generation = mf.read(index).generation
    shutil.rmtree(corpus / "bulk")
    report = _build(corpus, index, engine_settings, encoder)
    assert len(report.removed) == 30 and any("compacted" in n for n in report.notes)
    assert mf.read(index).generation != generation
    after = engine.answer("Who is Lynn Maalouf?")
    assert [q.text for q in after.quotes] == [q.text for q in before.quotes]
    info = engine.info()
    assert (info.documents, info.sentences) == (5, report.sentences)
    for quote in after.quotes:
        doc = (corpus / quote.source.id).read_text(encoding="utf-8")
        assert quote.text in doc
    assert not _build(corpus, index, engine_settings, encoder).wrote


def test_run_on_line_is_indexed_in_part_and_said(
    tmp_path: Path, engine_settings: EngineSettings, encoder: Encoder
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "article.md").write_text("# Pancakes\n\nMix flour, eggs and milk to make pancakes.\n")
    (corpus / "dump.txt").write_text("lorem ipsum dolor sit amet consectetur " * 5_000)
    said: list[str] = []
    report = build_index(
        corpus, tmp_path / "index", engine_settings, encoder=encoder, log=said.append
    )
    # Before: 195 "sentences" of 1,000 characters were embedded from the one line.
    assert report.sentences <= 1 + MAX_RUN_ON_CHARS // (MAX_SENTENCE_CHARS // 2)
    assert any("dump.txt" in m and "not indexed" in m for m in said), said
    engine = Engine.open(tmp_path / "index", engine_settings, encoder=encoder)
    assert engine.answer("How do you make pancakes?").quotes[0].source.id == "article.md"


def test_large_chunks_go_to_the_encoder_in_slices(
    tmp_path: Path,
    corpus: Path,
    seeds_index: Path,
    engine_settings: EngineSettings,
    encoder: Encoder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The tokenizer holds every text of a call at once: a 49 MB document went to it whole.
    slice_chars = 3_000
    monkeypatch.setattr(build_embed, "ENCODE_SLICE_CHARS", slice_chars)
    calls: list[list[int]] = []
    real_encode = encoder.encode

    def recording(texts: list[str], **kwargs: object) -> np.ndarray:
        calls.append([len(t) for t in texts])
        return real_encode(texts, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(encoder, "encode", recording)
    index = tmp_path / "index"
    build_index(corpus, index, engine_settings, encoder=encoder)
    assert len(calls) > 4
    assert max(sum(lengths[:-1]) for lengths in calls) < slice_chars
    sliced = np.fromfile(index / mf.read(index).generation / SENTENCES_FILE, dtype=np.float32)
    whole = np.fromfile(
        seeds_index / mf.read(seeds_index).generation / SENTENCES_FILE, dtype=np.float32
    )
    dim = encoder.identity.dimension
    cosines = (sliced.reshape(-1, dim) * whole.reshape(-1, dim)).sum(axis=1)
    assert cosines.min() > 0.99


def test_bad_jsonl_records_are_skipped_and_the_rest_indexed(
    tmp_path: Path, engine_settings: EngineSettings, encoder: Encoder
) -> None:
    # Before: a lone surrogate in "date" failed the store insert after embedding
    # (UnicodeEncodeError) and a record nested 100,000 deep stopped reading (RecursionError).
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    lines = [
        '{"id": "pancakes", "text": "Mix flour, eggs and milk to make pancakes."}',
        '{"id": "dated", "text": "The dam opened on Thursday.", "date": "\\ud800"}',
        '{"id": "deep", "text": "Body.", "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
    ]
    (corpus / "articles.jsonl").write_text("\n".join(lines) + "\n")
    said: list[str] = []
    report = build_index(
        corpus, tmp_path / "index", engine_settings, encoder=encoder, log=said.append
    )
    assert report.documents == 1
    assert {s.path for s in report.skipped} == {"articles.jsonl:2", "articles.jsonl:3"}
    assert any(m.startswith("skipped articles.jsonl:2: ") and '"date"' in m for m in said)


def test_builds_never_delete_folders_they_did_not_make(
    tmp_path: Path, engine_settings: EngineSettings, encoder: Encoder
) -> None:
    # Old generations were found as any g* folder: `--index ~/somefolder` deleted `gallery/`.
    index = tmp_path / "index"
    keep = [index / "gallery", index / "g1", index / "gallery.tmp", index / "g20240101T000000-abc"]
    for folder in keep:
        folder.mkdir(parents=True)
        (folder / "mine.txt").write_text("not the index's", encoding="utf-8")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Penguins live in the south. They swim well.", encoding="utf-8")
    for _ in range(3):
        build_index(corpus, index, engine_settings, encoder=encoder, rebuild=True)
    for folder in keep:
        assert (folder / "mine.txt").read_text(encoding="utf-8") == "not the index's"
    made = [p for p in index.iterdir() if p.is_dir() and p not in keep]
    assert len(made) == 2  # the current generation and one previous
