"""Schema versions: an index made before page starts were stored is updated in place.

The index "made by an earlier Verbatim" is a real index of the seeds with the store and the
manifest put back as schema version 2 wrote them: no ``pages`` column, ``schema_version`` 2.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from embeddings import Encoder
from retrieval.config import EngineSettings
from retrieval.engine import Engine
from retrieval.errors import IndexMismatchError
from retrieval.index import manifest as mf
from retrieval.index import store
from retrieval.index.build import build_index
from tests.support.pdf_article import HEADING, PARAGRAPHS
from tests.support.pdfs import article_pdf

REPO = Path(__file__).resolve().parents[3]


def _as_schema_2(index: Path) -> None:
    """Make ``index`` what a Verbatim of schema version 2 wrote."""
    path = index / mf.read(index).generation / store.STORE_FILE
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("ALTER TABLE documents DROP COLUMN pages")
        conn.commit()
    manifest = index / mf.MANIFEST_FILE
    data = json.loads(manifest.read_text())
    data["schema_version"] = 2
    manifest.write_text(json.dumps(data))


def _columns(index: Path) -> set[str]:
    path = index / mf.read(index).generation / store.STORE_FILE
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return {str(row[1]) for row in conn.execute("PRAGMA table_info(documents)")}


@pytest.fixture
def old_index(
    tmp_path: Path, engine_settings: EngineSettings, encoder: Encoder
) -> tuple[Path, Path]:
    """A corpus folder of the seeds and its index as schema version 2 left it."""
    corpus = tmp_path / "corpus"
    shutil.copytree(REPO / "seeds", corpus)
    index = tmp_path / "index"
    build_index(corpus, index, engine_settings, encoder=encoder)
    _as_schema_2(index)
    return corpus, index


def test_reading_an_old_index_names_the_update_command(
    old_index: tuple[Path, Path], engine_settings: EngineSettings, encoder: Encoder
) -> None:
    corpus, index = old_index
    with pytest.raises(IndexMismatchError) as caught:
        Engine.open(index, engine_settings, encoder=encoder)
    message = caught.value.message
    assert "earlier Verbatim (schema version 2" in message
    assert f"verbatim index {corpus.resolve()} --index {index}" in message
    assert "--rebuild" not in message


def test_indexing_updates_an_old_index_in_place_and_reads_new_pdfs(
    old_index: tuple[Path, Path], engine_settings: EngineSettings, encoder: Encoder
) -> None:
    corpus, index = old_index
    generation = mf.read(index, migratable=True).generation
    article_pdf(corpus / "vellmar.pdf", PARAGRAPHS, heading=HEADING)
    said: list[str] = []
    report = build_index(corpus, index, engine_settings, encoder=encoder, log=said.append)
    assert any("from schema version 2 to 3 in place" in line for line in said)
    assert report.full_rebuild_reason is None
    assert report.added == ("vellmar.pdf",) and report.updated == () and report.unchanged == 5
    manifest = mf.read(index)
    assert manifest.schema_version == mf.SCHEMA_VERSION and manifest.generation == generation
    assert "pages" in _columns(index)
    engine = Engine.open(index, engine_settings, encoder=encoder)
    answer = engine.answer("How many salmon were counted in 2018?")
    assert answer.quotes[0].source.id == "vellmar.pdf" and answer.quotes[0].pages == (2, 2)
    seed = engine.answer("Who is Lynn Maalouf?")
    assert seed.answered and seed.quotes[0].pages is None


def test_an_update_with_nothing_new_still_brings_the_schema_up_to_date(
    old_index: tuple[Path, Path], engine_settings: EngineSettings, encoder: Encoder
) -> None:
    corpus, index = old_index
    report = build_index(corpus, index, engine_settings, encoder=encoder)
    assert report.added == report.updated == report.removed == ()
    assert mf.read(index).schema_version == mf.SCHEMA_VERSION
    assert Engine.open(index, engine_settings, encoder=encoder).answer("Who is Lynn Maalouf?")


def test_a_schema_that_cannot_be_updated_is_rebuilt(
    old_index: tuple[Path, Path], engine_settings: EngineSettings, encoder: Encoder
) -> None:
    corpus, index = old_index
    manifest = index / mf.MANIFEST_FILE
    manifest.write_text(manifest.read_text().replace('"schema_version": 2', '"schema_version": 1'))
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        mf.read(index, migratable=True)
    report = build_index(corpus, index, engine_settings, encoder=encoder)
    assert report.full_rebuild_reason and "schema version" in report.full_rebuild_reason
    assert mf.read(index).schema_version == mf.SCHEMA_VERSION
