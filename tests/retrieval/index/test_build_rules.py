"""A change to the reading or splitting rules reaches an existing index (``READERS_VERSION``).

Files whose size and mtime are unchanged are not read, so a new cleaning or sentence rule
would otherwise never reach them. A real index of a small corpus is built; the version is
bumped (monkeypatched) alone, with a reader that reads one file otherwise, or with a splitter
that cuts one document otherwise: every file is read, and exactly the documents that came out
otherwise are embedded again.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from embeddings import Encoder
from retrieval.config import EngineSettings
from retrieval.index import build_changes, build_embed, build_write, store
from retrieval.index import manifest as mf
from retrieval.index.build import build_index
from retrieval.index.build_report import BuildReport
from retrieval.read.readers import READERS_VERSION
from retrieval.split import segment as segmenter
from retrieval.split import terms
from retrieval.types import Document
from tests.support.milvus import MilvusServer

#: Every sentence here is shorter than ``SHORT_SENTENCE_CHARS`` but the long one of long.md.
ARTICLES = {
    "cats.md": "# Cats\n\nCats sleep most of the day. They hunt at dusk.\n",
    "bread.md": "# Bread\n\nBread needs flour, water and yeast. It rises in a warm room.\n",
    "long.md": (
        "# Rivers\n\nThe river leaves the mountains as a torrent, slows across the plain, "
        "winds past the old mills and the new bridges, feeds the canals that water the "
        "orchards, and reaches the sea through a delta of reeds, sandbanks and channels "
        "that shift with every flood. Boats carry grain downstream.\n"
    ),
}
SHORT_SENTENCE_CHARS = 120


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, text in ARTICLES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def encoded(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every text given to the encoder (sentences and passages)."""
    texts: list[str] = []
    real_encode = build_embed._encode

    def recording(encoder: Encoder, batch: list[str], **kwargs: object) -> np.ndarray:
        texts.extend(batch)
        return real_encode(encoder, batch, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(build_embed, "_encode", recording)
    return texts


def _of(text: str, title: str, article: str) -> bool:
    """Whether an encoded ``text`` is a sentence of ``article`` or a passage under ``title``."""
    return text in article or (text.startswith(title + "\n") and text[len(title) + 1 :] in article)


def _stored(index: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    path = mf.generation_dir(index, mf.read(index)) / store.STORE_FILE
    with contextlib.closing(store.connect(path)) as conn:
        return list(conn.execute(sql, args))


def _built(
    corpus: Path, index: Path, settings: EngineSettings, encoder: Encoder, reads: list[str]
) -> Callable[[], BuildReport]:
    """Build ``corpus`` once; return a function that builds it again (clearing ``reads``)."""
    build_index(corpus, index, settings, encoder=encoder)
    assert mf.read(index).readers_version == READERS_VERSION

    def again() -> BuildReport:
        reads.clear()
        return build_index(corpus, index, settings, encoder=encoder)

    return again


def test_a_new_version_rereads_every_file_and_embeds_nothing_unchanged(
    corpus: Path,
    tmp_path: Path,
    engine_settings: EngineSettings,
    encoder: Encoder,
    reads: list[str],
    encoded: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index = tmp_path / "index"
    again = _built(corpus, index, engine_settings, encoder, reads)
    assert not again().wrote and reads == []
    encoded.clear()
    said: list[str] = []
    monkeypatch.setattr(build_write, "READERS_VERSION", READERS_VERSION + 1)
    reads.clear()
    report = build_index(corpus, index, engine_settings, encoder=encoder, log=said.append)
    assert sorted(reads) == sorted(ARTICLES) and encoded == []
    assert (report.added, report.updated, report.removed, report.unchanged) == ((), (), (), 3)
    assert build_changes.REREAD_MESSAGE in said
    assert mf.read(index).readers_version == READERS_VERSION + 1
    assert not again().wrote and reads == [] and encoded == []


def test_a_reader_change_reindexes_exactly_the_document_it_alters(
    corpus: Path,
    tmp_path: Path,
    engine_settings: EngineSettings,
    encoder: Encoder,
    reads: list[str],
    encoded: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Unbumped, the new rule reaches nothing (no file is read); bumped, it reaches cats.md."""
    index = tmp_path / "index"
    again = _built(corpus, index, engine_settings, encoder, reads)
    counting = build_changes.read_file

    def new_rule(file: Path, rel: str, skipped: list) -> list[Document]:
        return [
            doc.model_copy(update={"text": doc.text.replace("dusk", "dawn")})
            for doc in counting(file, rel, skipped)
        ]

    monkeypatch.setattr(build_changes, "read_file", new_rule)
    encoded.clear()
    assert not again().wrote and reads == [] and encoded == []
    monkeypatch.setattr(build_write, "READERS_VERSION", READERS_VERSION + 1)
    report = again()
    assert sorted(reads) == sorted(ARTICLES)
    assert report.updated == ("cats.md",) and report.unchanged == 2
    dawn = ARTICLES["cats.md"].replace("dusk", "dawn")
    assert encoded and all(_of(text, "Cats", dawn) for text in encoded)
    assert any("dawn" in text for text in encoded)
    texts = {str(i): str(t) for i, t in _stored(index, "SELECT id, text FROM documents")}
    assert "They hunt at dawn." in texts["cats.md"]
    assert texts["long.md"] == ARTICLES["long.md"]


def test_a_splitter_change_reindexes_exactly_the_documents_it_cuts_otherwise(
    corpus: Path,
    tmp_path: Path,
    engine_settings: EngineSettings,
    encoder: Encoder,
    reads: list[str],
    encoded: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The content hash does not cover sentences: the build compares the split itself."""
    index = tmp_path / "index"
    again = _built(corpus, index, engine_settings, encoder, reads)
    long_sentences = (
        "SELECT s.start, s.end FROM sentences s JOIN documents d ON s.doc = d.idx "
        "WHERE d.id = 'long.md' ORDER BY s.pos"
    )
    before = _stored(index, long_sentences)
    monkeypatch.setattr(segmenter, "MAX_SENTENCE_CHARS", SHORT_SENTENCE_CHARS)
    monkeypatch.setattr(build_write, "READERS_VERSION", READERS_VERSION + 1)
    encoded.clear()
    report = again()
    assert report.updated == ("long.md",) and report.unchanged == 2 and not report.added
    assert encoded and all(_of(text, "Rivers", ARTICLES["long.md"]) for text in encoded)
    (doc,) = build_changes.read_file(corpus / "long.md", "long.md", [])
    sentences, _passages = segmenter.segment(
        doc, passage_sentences=engine_settings.passage_sentences
    )
    stored = _stored(index, long_sentences)
    assert stored == [(s.start, s.end) for s in sentences] and stored != before
    assert all(s.end - s.start <= SHORT_SENTENCE_CHARS for s in sentences)
    assert not again().wrote and reads == []


def test_the_underscore_rule_reaches_exactly_the_documents_that_write_one(
    corpus: Path,
    tmp_path: Path,
    engine_settings: EngineSettings,
    encoder: Encoder,
    reads: list[str],
    encoded: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An index built when "max_tokens" was one term is brought up to today's rule (three
    words, as FTS5 and questions read it) by the next build, re-embedding only that article."""
    article = "# Settings\n\nThe max_tokens setting cuts the reply_length.\n"
    (corpus / "config.md").write_text(article, encoding="utf-8")
    index = tmp_path / "index"
    with monkeypatch.context() as old:
        old.setattr(terms, "WORD", re.compile(r"\w+"))
        old.setattr(build_write, "READERS_VERSION", READERS_VERSION - 1)
        build_index(corpus, index, engine_settings, encoder=encoder)
    query = "SELECT terms FROM sentences WHERE text LIKE 'The max%'"
    assert "max_token" in str(_stored(index, query)[0][0]).split()
    encoded.clear()
    reads.clear()
    report = build_index(corpus, index, engine_settings, encoder=encoder)
    assert sorted(reads) == sorted([*ARTICLES, "config.md"])
    assert report.updated == ("config.md",) and report.unchanged == len(ARTICLES)
    assert encoded and all(_of(text, "Settings", article) for text in encoded)
    stored = str(_stored(index, query)[0][0]).split()
    assert {"max", "token", "set", "cut", "repli", "length"} <= set(stored)
    assert "max_token" not in stored
    assert mf.read(index).readers_version == READERS_VERSION
    reads.clear()
    assert not build_index(corpus, index, engine_settings, encoder=encoder).wrote and reads == []


def test_an_index_that_never_recorded_the_version_rereads_once(
    corpus: Path,
    tmp_path: Path,
    engine_settings: EngineSettings,
    encoder: Encoder,
    reads: list[str],
    encoded: list[str],
) -> None:
    """A manifest written before the version was recorded loads (unknown), is read again
    once, embedding nothing, and then records the version."""
    index = tmp_path / "index"
    again = _built(corpus, index, engine_settings, encoder, reads)
    path = index / mf.MANIFEST_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    del data["readers_version"]
    path.write_text(json.dumps(data), encoding="utf-8")
    assert mf.read(index).readers_version is None
    encoded.clear()
    report = again()
    assert sorted(reads) == sorted(ARTICLES) and encoded == [] and report.unchanged == 3
    assert mf.read(index).readers_version == READERS_VERSION
    assert not again().wrote and reads == []


def test_the_milvus_mirror_publishes_the_version_through_the_shared_manifest(
    corpus: Path,
    tmp_path: Path,
    engine_settings: EngineSettings,
    encoder: Encoder,
    reads: list[str],
    milvus_server: MilvusServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``milvus_sync`` copies the manifest into its ``meta`` row: the version follows it, and a
    re-read that changes nothing adds and removes nothing there."""
    from retrieval.index.milvus_schema import connect
    from retrieval.index.milvus_sync import read_meta

    settings = engine_settings.model_copy(
        update={"store": "milvus", "milvus_uri": milvus_server.uri, "milvus_prefix": "rules_"}
    )
    index = tmp_path / "index"
    again = _built(corpus, index, settings, encoder, reads)
    monkeypatch.setattr(build_write, "READERS_VERSION", READERS_VERSION + 1)
    said: list[str] = []
    reads.clear()
    build_index(corpus, index, settings, encoder=encoder, log=said.append)
    assert sorted(reads) == sorted(ARTICLES)
    assert "Milvus: adding 0 documents, removing 0" in said
    client = connect(milvus_server.uri)
    try:
        meta = read_meta(client, settings.milvus_prefix)
    finally:
        client.close()
    assert meta is not None and meta["manifest"]["readers_version"] == READERS_VERSION + 1
    assert meta["stats"]["documents"] == len(ARTICLES)
    assert not again().wrote and reads == []
