import numpy as np
import pytest

from bayqa.embedding import MIN_COSINE, MIN_COSINE_INT8, Embedder, ModelError, lowercased


def test_default_model_is_offline_minilm(embedder: Embedder) -> None:
    assert embedder.dimension == 384
    vectors = embedder.encode(["Hong Kong arbitration", "dispute settlement centre", "a recipe for dumplings"])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    related, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert related > unrelated + 0.2


@pytest.mark.integration  # runs the real model
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


def test_pooled_spans_agree_across_routes(embedder: Embedder) -> None:
    """Where passages take the int8 graph, the spans are pooled from its token vectors: close to torch float32's."""
    text = "Ports > Shenzhen Bay\nShenzhen Bay Port opened in 2007. Its co-location lets travellers clear both sides at once."
    spans = [((0, 20), (21, 54)), ((0, 20), (55, 112))]
    vectors, (pooled,) = embedder.encode_with_spans([text], [spans])
    reference = Embedder(backend="torch")
    want_vectors, (want,) = reference.encode_with_spans([text], [spans])
    floor = MIN_COSINE_INT8 if embedder.texts_int8 else MIN_COSINE
    assert float(vectors[0] @ want_vectors[0]) >= floor and np.min(np.sum(pooled * want, axis=1)) >= floor
    assert float(pooled[0] @ pooled[1]) < 0.99  # two different sentences


def test_pooled_spans_need_a_mean_pooling_model(embedder: Embedder, monkeypatch: pytest.MonkeyPatch) -> None:
    import bayqa.embedding.torch_model as torch_model

    monkeypatch.setattr(torch_model, "pooling_modes", lambda model: "cls")
    if embedder.texts_int8:
        monkeypatch.setattr(embedder._graph, "pooling", "cls")
    with pytest.raises(ModelError, match="mean-pools its tokens.*pools by 'cls'"):
        embedder.encode_with_spans(["A text."], [[((0, 7),)]])


def test_lowercasing_for_an_uncased_graph_keeps_every_character_offset() -> None:
    # Pooled sentence vectors find their tokens by character offsets into the original text.
    assert all(len(lowercased(chr(c))) == 1 for c in range(0x30000))
    assert lowercased("İSTANBUL and Hong KONG") == "istanbul and hong kong"
