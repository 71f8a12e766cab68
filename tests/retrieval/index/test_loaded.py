"""Loading refuses missing, foreign, corrupt and mismatched indexes with the rebuild command."""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from embeddings import Encoder
from retrieval.config import EngineSettings
from retrieval.engine import Engine
from retrieval.errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from retrieval.index import manifest as mf
from retrieval.index.vectors import PASSAGES_FILE, SENTENCES_FILE


@pytest.fixture
def index_copy(seeds_index: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "index"
    shutil.copytree(seeds_index, copy)
    return copy


def _generation(index: Path) -> Path:
    return index / mf.read(index).generation


def _edit_manifest(index: Path, **changes: object) -> None:
    path = index / mf.MANIFEST_FILE
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def _drop_table(index: Path, table: str) -> None:
    with contextlib.closing(sqlite3.connect(_generation(index) / "store.sqlite3")) as conn:
        conn.execute(f"DROP TABLE {table}")
        conn.commit()


DAMAGE: dict[str, Callable[[Path], None]] = {
    "manifest not JSON": lambda i: (i / mf.MANIFEST_FILE).write_text("{not json"),
    "manifest wrong shape": lambda i: _edit_manifest(i, model="many"),
    "vectors truncated": lambda i: (_generation(i) / SENTENCES_FILE).write_bytes(b"\x00" * 10),
    "vectors missing": lambda i: (_generation(i) / PASSAGES_FILE).unlink(),
    "sqlite garbage": lambda i: (_generation(i) / "store.sqlite3").write_bytes(b"garbage" * 100),
    "generation missing": lambda i: shutil.rmtree(_generation(i)),
    "generation outside the index": lambda i: _edit_manifest(i, generation="../other-index"),
    "generation absolute": lambda i: _edit_manifest(i, generation="/etc"),
    "generation name huge": lambda i: _edit_manifest(i, generation="g" * 5000),
    "table dropped": lambda i: _drop_table(i, "sentences"),
    "full-text table dropped": lambda i: _drop_table(i, "passages_fts"),
}


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_corrupt_index_says_how_to_rebuild(
    damage: str, index_copy: Path, engine_settings: EngineSettings, encoder: Encoder
) -> None:
    DAMAGE[damage](index_copy)
    with pytest.raises(IndexCorruptError) as info:
        Engine.open(index_copy, engine_settings, encoder=encoder)
    assert "verbatim index" in info.value.message and "--rebuild" in info.value.message


def test_missing_index_says_how_to_build(tmp_path: Path, engine_settings: EngineSettings) -> None:
    with pytest.raises(IndexMissingError, match="verbatim index"):
        Engine.open(tmp_path / "nowhere", engine_settings)


def test_foreign_directory_is_refused(tmp_path: Path, engine_settings: EngineSettings) -> None:
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "index.faiss").write_bytes(b"someone else's")
    with pytest.raises(IndexMismatchError, match=r"not a Verbatim index.*verbatim index"):
        Engine.open(foreign, engine_settings)


def test_other_schema_version_is_refused(index_copy: Path, engine_settings: EngineSettings) -> None:
    _edit_manifest(index_copy, schema_version=mf.SCHEMA_VERSION + 1)
    with pytest.raises(IndexMismatchError, match=r"schema version.*verbatim index"):
        Engine.open(index_copy, engine_settings)


def test_other_model_is_refused(index_copy: Path, engine_settings: EngineSettings) -> None:
    _edit_manifest(
        index_copy,
        model={
            "name": "some-other-model",
            "dimension": 768,
            "fingerprint": "0" * 16,
            "variant": "onnx-int8-perchannel-7bit",
        },
    )
    with pytest.raises(IndexMismatchError, match=r"some-other-model.*verbatim index"):
        Engine.open(index_copy, engine_settings)


def test_other_chunking_is_refused(index_copy: Path, engine_settings: EngineSettings) -> None:
    other = engine_settings.model_copy(update={"passage_sentences": 2})
    with pytest.raises(IndexMismatchError, match="chunking"):
        Engine.open(index_copy, other)


def test_rebuild_repairs_a_corrupt_index(
    index_copy: Path, engine_settings: EngineSettings, encoder: Encoder
) -> None:
    from retrieval.index.build import build_index

    (index_copy / mf.MANIFEST_FILE).write_text("{not json")
    report = build_index(
        Path(__file__).resolve().parents[3] / "seeds", index_copy, engine_settings, encoder=encoder
    )
    assert report.wrote and report.full_rebuild_reason
    assert Engine.open(index_copy, engine_settings, encoder=encoder).info().documents == 5


def test_other_encoder_variant_is_refused(
    index_copy: Path, engine_settings: EngineSettings
) -> None:
    data = json.loads((index_copy / mf.MANIFEST_FILE).read_text())
    _edit_manifest(index_copy, model={**data["model"], "variant": "torch-fp32"})
    with pytest.raises(IndexMismatchError, match=r"torch-fp32 encoder.*verbatim index"):
        Engine.open(index_copy, engine_settings)


def test_store_damaged_after_opening_gives_the_rebuild_command(
    index_copy: Path, engine_settings: EngineSettings, encoder: Encoder
) -> None:
    engine = Engine.open(index_copy, engine_settings, encoder=encoder)
    assert engine.answer("Who is Lynn Maalouf?").answered
    _drop_table(index_copy, "sentences_fts")
    with pytest.raises(IndexCorruptError, match="--rebuild"):
        engine.answer("Who is Lynn Maalouf?")
