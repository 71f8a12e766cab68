"""The ONNX file: where it is cached, how it is made, and who may make it."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import onnx
import pytest

from embeddings import DEFAULT_MODEL, Encoder, EncoderError, model_fingerprint
from embeddings.onnx_export import (
    cache_dir,
    onnx_path,
    post_activation_matmuls,
    prepare,
    prepare_questions,
    question_path,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"VERBATIM_CACHE_DIR": "/srv/cache", "XDG_CACHE_HOME": "/xdg"}, "/srv/cache"),
        ({"XDG_CACHE_HOME": "/xdg"}, "/xdg/verbatim"),
        ({}, "~/.cache/verbatim"),
    ],
)
def test_cache_dir_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    for name in ("VERBATIM_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert cache_dir() == Path(expected).expanduser()


def test_file_name_holds_fingerprint_and_variant() -> None:
    fingerprint = model_fingerprint(DEFAULT_MODEL)
    assert onnx_path(fingerprint, "onnx-int8").name.startswith(f"{fingerprint}-int8pc")
    assert onnx_path(fingerprint, "onnx").name.startswith(f"{fingerprint}-fp32")
    int8 = onnx_path(fingerprint, "onnx-int8")
    assert question_path(fingerprint).name.startswith(int8.stem)  # made from that file
    assert question_path(fingerprint) != int8


def test_cli_prints_the_prepared_file(encoder: Encoder) -> None:
    encoder.load()
    done = subprocess.run(
        [sys.executable, "-m", "embeddings.onnx_export"],
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    expected = onnx_path(model_fingerprint(DEFAULT_MODEL), "onnx-int8")
    assert done.stdout.strip() == str(expected)
    assert expected.is_file()
    assert question_path(model_fingerprint(DEFAULT_MODEL)).is_file()  # `make` prepares both


def test_int8_file_keeps_only_the_gelu_fed_projections_in_float(encoder: Encoder) -> None:
    encoder.load()
    graph = onnx.load(str(onnx_path(model_fingerprint(DEFAULT_MODEL), "onnx-int8"))).graph
    weights = {initializer.name for initializer in graph.initializer}
    float_weighted = [
        node.name for node in graph.node if node.op_type == "MatMul" and node.input[1] in weights
    ]
    assert sorted(float_weighted) == sorted(post_activation_matmuls(graph))
    assert len(float_weighted) == 6  # one per layer of MiniLM-L6
    assert sum(node.op_type == "MatMulInteger" for node in graph.node) == 30


def test_question_file_holds_the_float_projections_in_8_bit_blocks(encoder: Encoder) -> None:
    """The six float projections become MatMulNBits (8 bits, blocks of 32, int8 compute);
    everything else is the int8 file's."""
    fingerprint = model_fingerprint(DEFAULT_MODEL)
    int8 = onnx.load(str(prepare(DEFAULT_MODEL, "onnx-int8"))).graph
    graph = onnx.load(str(prepare_questions(DEFAULT_MODEL))).graph
    assert prepare_questions(DEFAULT_MODEL) == question_path(fingerprint)
    weights = {initializer.name for initializer in graph.initializer}
    nbits = [node for node in graph.node if node.op_type == "MatMulNBits"]
    assert len(nbits) == 6
    for node in nbits:
        attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        assert (attributes["bits"], attributes["block_size"]) == (8, 32)
        assert attributes["accuracy_level"] == 4
    assert not [n for n in graph.node if n.op_type == "MatMul" and n.input[1] in weights]
    assert sum(node.op_type == "MatMulInteger" for node in graph.node) == 30
    assert sum(node.op_type == "MatMulInteger" for node in int8.node) == 30


def test_question_file_is_made_without_torch_once(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    encoder: Encoder,
) -> None:
    """From a cached int8 file alone: no exporter needed, made by one of two callers."""
    int8 = prepare(DEFAULT_MODEL, "onnx-int8")
    monkeypatch.setenv("VERBATIM_CACHE_DIR", str(tmp_path))
    (tmp_path / "onnx").mkdir()
    (tmp_path / "onnx" / int8.name).write_bytes(int8.read_bytes())
    monkeypatch.setitem(sys.modules, "torch", None)  # as if torch were not installed
    with ThreadPoolExecutor(max_workers=2) as pool:
        paths = list(pool.map(lambda _: prepare_questions(DEFAULT_MODEL), range(2)))
    assert paths[0] == paths[1] == question_path(model_fingerprint(DEFAULT_MODEL))
    assert capsys.readouterr().err.count("preparing the question encoder once") == 1
    made = sorted(p.name for p in (tmp_path / "onnx").iterdir() if p.suffix == ".onnx")
    assert made == sorted([int8.name, paths[0].name])


def test_a_broken_int8_file_gives_a_clear_question_model_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    int8 = onnx_path(model_fingerprint(DEFAULT_MODEL), "onnx-int8")
    monkeypatch.setenv("VERBATIM_CACHE_DIR", str(tmp_path))
    (tmp_path / "onnx").mkdir()
    (tmp_path / "onnx" / int8.name).write_bytes(b"not an onnx file")
    with pytest.raises(EncoderError, match="VERBATIM_ENCODER_QUESTIONS=same"):
        prepare_questions(DEFAULT_MODEL)
    assert not question_path(model_fingerprint(DEFAULT_MODEL)).exists()


def test_missing_exporter_names_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VERBATIM_CACHE_DIR", str(tmp_path))
    monkeypatch.setitem(sys.modules, "torch", None)  # as if torch were not installed
    with pytest.raises(EncoderError, match=r"python -m embeddings\.onnx_export"):
        prepare(DEFAULT_MODEL, "onnx-int8")
    assert not list((tmp_path / "onnx").glob("*.onnx"))


def test_unwritable_cache_says_what_to_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("VERBATIM_CACHE_DIR", str(blocker / "cache"))
    with pytest.raises(EncoderError, match="VERBATIM_CACHE_DIR"):
        prepare(DEFAULT_MODEL, "onnx-int8")


@pytest.mark.slow
def test_first_use_exports_once_even_when_two_ask(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    encoder: Encoder,
) -> None:
    """An empty cache: two threads load at once, one exports, both get the same file."""
    monkeypatch.setenv("VERBATIM_CACHE_DIR", str(tmp_path))
    with ThreadPoolExecutor(max_workers=2) as pool:
        paths = list(pool.map(lambda _: prepare(DEFAULT_MODEL, "onnx-int8"), range(2)))
    assert paths[0] == paths[1] and paths[0].is_file()
    assert capsys.readouterr().err.count("preparing the ONNX encoder once") == 1
    assert [p.name for p in (tmp_path / "onnx").iterdir() if p.suffix == ".onnx"] == [paths[0].name]
    fresh = Encoder(DEFAULT_MODEL).load()
    texts = ["Iraq declared victory in Mosul.", "A recipe for pancakes."]
    np.testing.assert_allclose(fresh.encode(texts), encoder.encode(texts), atol=1e-5)
