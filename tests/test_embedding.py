import numpy as np
import pytest

from bayqa.embedding import Embedder, ModelError


def test_default_model_is_offline_minilm(embedder: Embedder) -> None:
    assert embedder.dimension == 384
    vectors = embedder.encode(["Hong Kong arbitration", "dispute settlement centre", "a recipe for dumplings"])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    related, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert related > unrelated + 0.2


def test_unknown_model_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(ModelError, match="cannot load"):
        Embedder(str(tmp_path / "no-such-model"))
