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


def test_one_pass_gives_the_text_vectors_and_pooled_span_vectors(embedder: Embedder) -> None:
    texts = ["Bridges > Opening\nThe bridge opened in October 2018. Tolls are paid in Hong Kong dollars.", "No spans here."]
    first, second = (17, 51), (52, 94)
    spans = [[((0, 17), first), ((0, 17), second)], []]
    vectors, pooled = embedder.encode_with_spans(texts, spans)
    assert np.min(np.sum(vectors * embedder.encode(texts), axis=1)) >= 0.999  # the same passage vectors as encode
    assert [p.shape for p in pooled] == [(2, 384), (0, 384)]
    assert np.allclose(np.linalg.norm(pooled[0], axis=1), 1.0, atol=1e-5)
    alone = embedder.encode([texts[0][slice(*first)], texts[0][slice(*second)]])
    similarity = pooled[0] @ alone.T
    assert similarity[0, 0] > similarity[0, 1] and similarity[1, 1] > similarity[1, 0]  # each span is its own sentence
