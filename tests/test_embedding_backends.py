"""The fast embedding backend gives the float32 vectors (within tolerance: int8 questions, int8 or bfloat16 batches)."""

import numpy as np
import pytest

from bayqa.embedding import MIN_COSINE, MIN_COSINE_INT8, Embedder, ModelError

QUESTIONS = [
    "When did the Hong Kong-Zhuhai-Macao Bridge open?",
    "前海合作区对香港居民有哪些人才政策？",
    "x",
    "What does the Northern Metropolis plan say about housing, innovation and technology land near the boundary? " * 8,
]


def test_fast_backend_agrees_with_float32(embedder: Embedder) -> None:
    assert embedder.backend == "fast" and "onnxruntime int8" in embedder.backend_description
    reference = embedder.encode_reference(QUESTIONS)
    questions = np.vstack([embedder.encode_query(q) for q in QUESTIONS])
    batch = embedder.encode(QUESTIONS, batch_size=2)
    floor = MIN_COSINE_INT8 if embedder.texts_int8 else MIN_COSINE  # with VNNI and not AMX, every text runs in int8
    for vectors, floor in ((questions, MIN_COSINE_INT8), (batch, floor)):
        assert vectors.dtype == np.float32 and vectors.shape == (4, embedder.dimension)
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
        assert np.min(np.sum(vectors * reference, axis=1)) >= floor


def test_a_text_gets_the_same_vector_alone_and_among_others(embedder: Embedder) -> None:
    """A build that re-embeds one document must give its passages the vectors a fresh build gives them."""
    alone = embedder.encode(QUESTIONS[:1])
    among_others = embedder.encode(QUESTIONS[::-1], batch_size=4)[-1:]
    if embedder.texts_int8:  # one text per run on the question's own graph: the very same vector
        assert np.array_equal(alone, among_others) and np.allclose(alone[0], embedder.encode_query(QUESTIONS[0]), atol=1e-6)
    else:  # torch bfloat16 pads a batch to its longest text, which moves a vector within rounding
        assert float(alone[0] @ among_others[0]) >= MIN_COSINE


def test_unknown_backend_is_a_clear_error() -> None:
    with pytest.raises(ModelError, match="unknown embedding backend 'gpu'"):
        Embedder(backend="gpu")  # type: ignore[arg-type]


@pytest.mark.integration  # runs the real model
@pytest.mark.slow
def test_an_int8_graph_that_fails_its_check_gives_way_to_float32(tmp_path, monkeypatch) -> None:
    import bayqa.embedding.export as export
    from bayqa.embedding.sessions import INT8_GRAPH

    monkeypatch.setattr(export, "MIN_COSINE_INT8", 1.01)  # no int8 graph can pass: the fallback must take over
    fallback = Embedder(backend="fast", cache_dir=tmp_path)
    assert "onnxruntime fp32" in fallback.backend_description and fallback.fallback_reason is None
    assert not list(tmp_path.rglob(INT8_GRAPH)) and list(tmp_path.rglob("model.onnx"))
    reference = fallback.encode_reference(QUESTIONS[:2])
    assert np.min(np.sum(np.vstack([fallback.encode_query(q) for q in QUESTIONS[:2]]) * reference, axis=1)) >= MIN_COSINE
