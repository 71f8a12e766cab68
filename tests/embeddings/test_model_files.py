"""Reading a sentence-transformers folder: pooling, normalisation, limits, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from embeddings import DEFAULT_MODEL, Encoder, EncoderError
from embeddings.model_files import model_folder, read_model_config

POOLING_KEYS = ("cls_token", "mean_tokens", "max_tokens", "mean_sqrt_len_tokens")


def pooling_config(*modes: str) -> dict[str, object]:
    config: dict[str, object] = {"word_embedding_dimension": 8}
    config.update({f"pooling_mode_{key}": key in modes for key in POOLING_KEYS})
    return config


def write_folder(root: Path, *, modules: list[dict[str, str]] | None, pooling: dict | None) -> Path:
    """A folder with only the JSON files read_model_config looks at (and a tokenizer.json)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "tokenizer.json").write_text("{}")
    (root / "config.json").write_text(json.dumps({"hidden_size": 8}))
    (root / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 128}))
    if modules is not None:
        (root / "modules.json").write_text(json.dumps(modules))
    if pooling is not None:
        (root / "1_Pooling").mkdir()
        (root / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    return root


ST_MODULES = [
    {"path": "", "type": "sentence_transformers.models.Transformer"},
    {"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
]
NORMALIZE = {"path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}
DENSE = {"path": "2_Dense", "type": "sentence_transformers.models.Dense"}


def test_the_bundled_model_is_mean_pooled_and_normalised() -> None:
    config = read_model_config(model_folder(DEFAULT_MODEL))
    assert (config.pooling, config.normalize) == ("mean", True)
    assert (config.max_seq_length, config.dimension) == (256, 384)
    assert config.pad_token == "[PAD]"


@pytest.mark.parametrize(
    ("modules", "pooling", "expected"),
    [
        (ST_MODULES, pooling_config("mean_tokens"), "mean"),
        (ST_MODULES, pooling_config("cls_token"), "cls"),
        (ST_MODULES, pooling_config("max_tokens"), "max"),
        ([*ST_MODULES, NORMALIZE], pooling_config("cls_token"), "cls"),
        (None, None, "mean"),  # a plain Hugging Face folder
    ],
)
def test_pooling_modes_are_read(
    tmp_path: Path, modules: list[dict[str, str]] | None, pooling: dict | None, expected: str
) -> None:
    config = read_model_config(write_folder(tmp_path / "m", modules=modules, pooling=pooling))
    assert config.pooling == expected
    assert config.normalize == (modules is not None and NORMALIZE in modules)
    assert config.max_seq_length == 128


@pytest.mark.parametrize(
    ("modules", "pooling"),
    [
        (ST_MODULES, pooling_config("mean_sqrt_len_tokens")),
        (ST_MODULES, pooling_config("mean_tokens", "max_tokens")),
        (ST_MODULES, pooling_config()),
        ([*ST_MODULES, DENSE], pooling_config("mean_tokens")),
    ],
)
def test_what_onnx_cannot_reproduce_points_to_torch(
    tmp_path: Path, modules: list[dict[str, str]], pooling: dict
) -> None:
    folder = write_folder(tmp_path / "m", modules=modules, pooling=pooling)
    with pytest.raises(EncoderError, match="VERBATIM_ENCODER=torch"):
        read_model_config(folder)


def linked_copy(tmp_path: Path, *, pooling: str | None = None, skip: str = "") -> Path:
    """The bundled model folder as symbolic links, optionally re-pooled or missing a file."""
    source = model_folder(DEFAULT_MODEL)
    target = tmp_path / "model"
    for file in source.rglob("*"):
        if file.is_file() and file.name != skip:
            link = target / file.relative_to(source)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(file)
    if pooling is not None:
        config_file = target / "1_Pooling" / "config.json"
        config = json.loads(config_file.read_text())
        config_file.unlink()
        config.update({key: False for key in config if key.startswith("pooling_mode_")})
        config[pooling] = True
        config_file.write_text(json.dumps(config))
    return target


@pytest.mark.parametrize("pooling", ["pooling_mode_cls_token", "pooling_mode_max_tokens"])
def test_other_poolings_match_sentence_transformers(tmp_path: Path, pooling: str) -> None:
    """Same weights (so the cached ONNX file), other pooling: ONNX fp32 against torch."""
    folder = str(linked_copy(tmp_path, pooling=pooling))
    texts = ["Iraq declared victory in Mosul.", "Hi", "A recipe for pancakes with syrup."]
    onnx = Encoder(folder, backend="onnx").encode(texts)
    reference = Encoder(folder, backend="torch").encode(texts)
    assert np.einsum("ij,ij->i", onnx, reference).min() >= 0.99999


def test_a_folder_without_tokenizer_json_points_to_torch(tmp_path: Path) -> None:
    folder = str(linked_copy(tmp_path, skip="tokenizer.json"))
    with pytest.raises(EncoderError, match="VERBATIM_ENCODER=torch"):
        Encoder(folder).load()
