"""Make the ONNX encoder file from a model's weights, once, and cache it by fingerprint.

Run: python -m embeddings.onnx_export [--model NAME] [--backend onnx-int8|onnx]

The transformer is exported with torch (the TorchScript exporter, ``dynamo=False``, falling
back to the torch.export-based one where that is gone) and, for ``onnx-int8``, quantised with
onnxruntime's dynamic quantisation: int8 weights with one scale per output channel. The
feed-forward projections that read the GELU output stay in float: their inputs have outliers
that one per-tensor activation scale flattens, which moved nearest neighbours (cosine to the
float model fell to 0.974 on SQuAD sentences; with them in float the minimum is 0.983).

Questions have their own copy of the int8 file (:func:`prepare_questions`), made from it
without torch: those six projections hold 8-bit weights in blocks of 32 (``MatMulNBits``), which
keeps a question from reading 14 MB of float weights (measured on the SQuAD corpus, AMD EPYC
with AVX-512 VNNI: warm answer p50 7.6 -> 7.1 ms). Documents keep the int8 file: there the
same change made indexing 19% slower, since big batches are bound by arithmetic, not memory.

This is the only module that imports torch on the ONNX path, and only while exporting.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import inspect
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from embeddings.errors import EncoderError
from embeddings.model_files import (
    DEFAULT_MODEL,
    model_folder,
    read_model_config,
    weights_fingerprint,
)

#: Where prepared files live unless VERBATIM_CACHE_DIR says otherwise.
CACHE_ENV = "VERBATIM_CACHE_DIR"
#: File suffix per ONNX backend; bump RECIPE when the export or quantisation changes output.
ONNX_SUFFIXES = {"onnx-int8": "int8pc7", "onnx": "fp32"}
RECIPE = 1
#: The question file's suffix after the int8 one's; bump the number when its recipe changes.
QUESTION_SUFFIX = "q8b32-1"
#: Its 8-bit blocks: 32 weights share a scale (symmetric); activations in int8 (level 4).
QUESTION_BITS, QUESTION_BLOCK, QUESTION_ACCURACY = 8, 32, 4
OPSET = 17
#: torch.export's exporter writes opset 18 or later.
DYNAMO_MIN_OPSET = 18
#: Ops whose output feeds the projections kept in float (GELU, exact or approximated).
_ACTIVATIONS = {"Erf", "Gelu", "FastGelu", "BiasGelu", "Tanh"}
#: Elementwise ops walked through from a MatMul's input back to the activation.
_ELEMENTWISE = {"Mul", "Add", "Div", "Sub", "Pow", "Cast"}
_ACTIVATION_DEPTH = 4
_EXAMPLE_TEXTS = ("a short one", "a longer example sentence, so that the first one is padded")


def cache_dir() -> Path:
    """``$VERBATIM_CACHE_DIR``, else ``$XDG_CACHE_HOME/verbatim``, else ``~/.cache/verbatim``."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "verbatim"


def onnx_path(fingerprint: str, backend: str) -> Path:
    """The cache file for weights ``fingerprint`` under ``backend`` (it may not exist yet)."""
    return cache_dir() / "onnx" / f"{fingerprint}-{ONNX_SUFFIXES[backend]}-r{RECIPE}.onnx"


def question_path(fingerprint: str) -> Path:
    """The cache file of the question model derived from the int8 one (may not exist yet)."""
    base = onnx_path(fingerprint, "onnx-int8")
    return base.with_name(f"{base.stem}-{QUESTION_SUFFIX}.onnx")


def prepare(model: str = DEFAULT_MODEL, backend: str = "onnx-int8") -> Path:
    """Return the ONNX file for ``model`` under ``backend``, exporting it first if missing.

    Safe across processes: a file lock lets one export while the others wait, and the file
    appears atomically, whole or not at all.
    """
    if backend not in ONNX_SUFFIXES:
        msg = f"Unknown ONNX backend {backend!r}: choose one of {', '.join(ONNX_SUFFIXES)}."
        raise EncoderError(msg)
    folder = model_folder(model)
    read_model_config(folder)  # refuse what the ONNX path cannot run before exporting it
    target = onnx_path(weights_fingerprint(str(folder)), backend)
    return _made_once(target, lambda: _export(model, folder, backend, target))


def prepare_questions(model: str = DEFAULT_MODEL) -> Path:
    """Return the int8 question file for ``model``, deriving it from the int8 file if missing.

    Needs onnx and onnxruntime only (the int8 file itself may need torch the first time).
    Safe across processes, as :func:`prepare` is.
    """
    int8 = prepare(model, "onnx-int8")
    target = question_path(weights_fingerprint(str(model_folder(model))))

    def derive() -> None:
        print(f"preparing the question encoder once for {model} in {target}", file=sys.stderr)
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as tmp:
            made = Path(tmp) / "questions.onnx"
            try:
                quantize_questions(int8, made)
            except Exception as exc:  # onnx and the quantiser raise many kinds
                msg = (
                    f"Cannot make the question encoder for {model} ({type(exc).__name__}: "
                    f"{exc}). Encode questions with the documents' model instead: "
                    "VERBATIM_ENCODER_QUESTIONS=same."
                )
                raise EncoderError(msg) from exc
            os.replace(made, target)

    return _made_once(target, derive)


def _made_once(target: Path, make: Callable[[], None]) -> Path:
    """``target``, made by ``make`` unless it exists; one process makes it, others wait."""
    if target.is_file():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with _locked(target.with_suffix(".lock")):
            if not target.is_file():  # else another process made it while we waited
                make()
    except OSError as exc:
        msg = (
            f"Cannot write the ONNX encoder file {target} ({exc}). Set {CACHE_ENV} to a "
            "writable folder."
        )
        raise EncoderError(msg) from exc
    return target


def _export(model: str, folder: Path, backend: str, target: Path) -> None:
    """Export (and quantise) into a temporary file beside ``target``, then rename it."""
    _require_exporter(model, backend)
    print(
        f"preparing the ONNX encoder once for {model} ({backend}); it is cached in {target}",
        file=sys.stderr,
    )
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as tmp:
        made = Path(tmp) / "model.onnx"
        try:
            export_fp32(folder, made)
            if backend == "onnx-int8":
                made, fp32 = Path(tmp) / "model-int8.onnx", made
                quantize_int8(fp32, made)
        except Exception as exc:  # the exporters raise many kinds; all mean "cannot export"
            msg = (
                f"Cannot make the ONNX encoder for {model} ({type(exc).__name__}: {exc}). "
                "Use the sentence-transformers path instead: VERBATIM_ENCODER=torch."
            )
            raise EncoderError(msg) from exc
        os.replace(made, target)


def export_fp32(folder: Path, out: Path) -> None:
    """Export the transformer of the sentence-transformers model in ``folder`` to ``out``.

    Inputs ``input_ids``, ``attention_mask`` (and ``token_type_ids`` where the model takes
    them) with dynamic batch and sequence axes; output ``last_hidden_state``.
    """
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    config = read_model_config(folder)
    hf_logging.disable_progress_bar()
    # Eager attention traces to plain MatMul/Softmax with an additive mask: no branches on
    # the mask's values, and a little faster under onnxruntime than the SDPA decomposition.
    model = AutoModel.from_pretrained(str(config.transformer_dir), attn_implementation="eager")
    model.eval()
    names = ["input_ids", "attention_mask"]
    if "token_type_ids" in inspect.signature(model.forward).parameters:
        names.append("token_type_ids")
    tokenizer = Tokenizer.from_file(str(config.tokenizer_file))
    tokenizer.enable_padding()  # the example needs padding so the mask path is traced
    encodings = tokenizer.encode_batch(list(_EXAMPLE_TEXTS))
    example = {
        "input_ids": torch.tensor([e.ids for e in encodings]),
        "attention_mask": torch.tensor([e.attention_mask for e in encodings]),
        "token_type_ids": torch.tensor([e.type_ids for e in encodings]),
    }
    wrapper = _last_hidden_state(model, names).eval()
    args = tuple(example[name] for name in names)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporters' deprecation and tracer notices
        try:
            _export_torchscript(wrapper, args, names, out)
        except Exception:  # the TorchScript exporter is deprecated: use torch.export's
            _export_dynamo(wrapper, args, names, out)


def _export_torchscript(wrapper: Any, args: tuple[Any, ...], names: list[str], out: Path) -> None:
    import torch

    torch.onnx.export(
        wrapper,
        args,
        str(out),
        dynamo=False,
        input_names=names,
        output_names=["last_hidden_state"],
        dynamic_axes={name: {0: "batch", 1: "sequence"} for name in [*names, "last_hidden_state"]},
        opset_version=OPSET,
    )


def _export_dynamo(wrapper: Any, args: tuple[Any, ...], names: list[str], out: Path) -> None:
    import torch

    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence")
    program = torch.onnx.export(
        wrapper,
        args,
        dynamo=True,
        input_names=names,
        output_names=["last_hidden_state"],
        # one entry: forward's *inputs, itself a tuple of per-tensor specs
        dynamic_shapes=(tuple({0: batch, 1: sequence} for _ in names),),
        opset_version=max(OPSET, DYNAMO_MIN_OPSET),
        external_data=False,
        verbose=False,
    )
    if program is None:
        raise EncoderError("The torch.export-based ONNX exporter returned nothing.")
    program.save(str(out), external_data=False)


def _last_hidden_state(model: Any, names: list[str]) -> Any:
    """Wrap a Hugging Face model so the exporter sees positional tensors in and one out."""
    import torch

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.model(**dict(zip(names, inputs, strict=True))).last_hidden_state

    return LastHiddenState()


def quantize_int8(fp32: Path, out: Path) -> None:
    """Dynamic int8 quantisation, per-channel 7-bit weights, GELU-fed projections in float.

    Weights use 7 of their 8 bits (``reduce_range``): on CPUs without VNNI (AVX2 only) the
    int8 kernels add pairs of products in 16 bits, which saturates with full-range weights.
    Measured on an AVX2-only AMD EPYC against float32 sentence-transformers over 2,000 SQuAD
    sentences: full range, cosine min 0.977; 7-bit, min 0.985 (mean 0.9955 both).
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(fp32), load_external_data=False).graph
    keep_float = post_activation_matmuls(graph)
    with _quiet_root_logger():
        quantize_dynamic(
            str(fp32),
            str(out),
            per_channel=True,
            reduce_range=True,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=keep_float,
        )


def quantize_questions(int8: Path, out: Path) -> None:
    """The int8 file with its float projections (:func:`post_activation_matmuls`) in 8 bits,
    per block of 32 weights, multiplied in int8 (``MatMulNBits``, accuracy level 4).

    Measured on AVX-512 VNNI against the int8 file (``benchmarks.encoder``): a question 1.14
    against 1.61 ms p50; over the 11,864 SQuAD 2.0 dev questions, cosine to it min 0.991.
    """
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import (
        DefaultWeightOnlyQuantConfig,
        MatMulNBitsQuantizer,
    )

    model = onnx.load(str(int8))
    projections = post_activation_matmuls(model.graph)
    if not projections:
        raise EncoderError(f"{int8.name} has no float projections to quantise.")
    config = DefaultWeightOnlyQuantConfig(
        block_size=QUESTION_BLOCK,
        is_symmetric=True,
        accuracy_level=QUESTION_ACCURACY,
        bits=QUESTION_BITS,
    )
    with _quiet_root_logger():
        quantizer = MatMulNBitsQuantizer(
            model,
            bits=QUESTION_BITS,
            block_size=QUESTION_BLOCK,
            is_symmetric=True,
            accuracy_level=QUESTION_ACCURACY,
            nodes_to_include=projections,
            algo_config=config,
        )
        quantizer.process()
    quantizer.model.save_model_to_file(str(out), use_external_data_format=False)


def post_activation_matmuls(graph: Any) -> list[str]:
    """Names of the MatMul nodes whose input comes (through elementwise ops) from a GELU."""
    producer = {output: node for node in graph.node for output in node.output}

    def after_activation(tensor: str, depth: int) -> bool:
        node = producer.get(tensor)
        if node is None or depth > _ACTIVATION_DEPTH:
            return False
        if node.op_type in _ACTIVATIONS:
            return True
        if node.op_type not in _ELEMENTWISE:
            return False
        return any(after_activation(name, depth + 1) for name in node.input)

    return [
        node.name
        for node in graph.node
        if node.op_type == "MatMul" and node.input and after_activation(node.input[0], 0)
    ]


def _require_exporter(model: str, backend: str) -> None:
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        msg = (
            f"The ONNX encoder for {model} is not prepared yet and preparing it needs torch "
            "and transformers, which are not installed. Install them and run once: "
            f"python -m embeddings.onnx_export --model {model} --backend {backend}"
        )
        raise EncoderError(msg) from exc


@contextlib.contextmanager
def _locked(lock_file: Path) -> Iterator[None]:
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """Silence onnxruntime's advice on the root logger, and undo its ``basicConfig``."""
    root = logging.getLogger()
    handlers, disabled = list(root.handlers), logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(disabled)
        root.handlers[:] = handlers


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Prepare the cached ONNX encoder file.")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="a name or a path")
    parser.add_argument("--backend", default="onnx-int8", choices=sorted(ONNX_SUFFIXES))
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        print(prepare(args.model, args.backend))
        if args.backend == "onnx-int8":
            prepare_questions(args.model)
    except EncoderError as exc:
        parser.exit(1, f"{exc}\n")


if __name__ == "__main__":
    main()
