"""The fast embedding backend gives the float32 vectors (within tolerance: bfloat16 batches, int8 questions and short texts)."""

import numpy as np
import pytest

from bayqa.embedding import MIN_COSINE, MIN_COSINE_INT8, SHORT_TOKENS, Embedder, ModelError

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
    batch = embedder.encode(QUESTIONS)  # one text is longer than SHORT_TOKENS: the batch runs in torch
    short = embedder.encode(QUESTIONS[:3], batch_size=2, short_int8=True)  # all short: the int8 graph (but on AMX), by twos
    assert embedder.count_tokens(QUESTIONS[3]) > SHORT_TOKENS >= max(embedder.count_tokens(q) + 2 for q in QUESTIONS[:3])
    for vectors, floor, rows in ((questions, MIN_COSINE_INT8, 4), (batch, MIN_COSINE, 4), (short, MIN_COSINE_INT8, 3)):
        assert vectors.dtype == np.float32 and vectors.shape == (rows, embedder.dimension)
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
        assert np.min(np.sum(vectors * reference[:rows], axis=1)) >= floor
    # A short sentence alone gets exactly the question graph's vector where short sentences go through int8, else
    # torch's; a short passage (no short_int8) always gets torch's, whatever else is in its batch.
    alone = embedder.encode(QUESTIONS[:1], short_int8=True)
    if embedder.short_texts_int8:
        assert np.allclose(alone, questions[:1], atol=1e-6)
    else:
        assert float(alone[0] @ reference[0]) >= MIN_COSINE and not np.allclose(alone, questions[:1], atol=1e-4)
    passage, among_others = embedder.encode(QUESTIONS[:1]), embedder.encode(QUESTIONS[:3])[:1]
    assert float(passage[0] @ reference[0]) >= MIN_COSINE and float(passage[0] @ among_others[0]) >= MIN_COSINE


def test_unknown_backend_is_a_clear_error() -> None:
    with pytest.raises(ModelError, match="unknown embedding backend 'gpu'"):
        Embedder(backend="gpu")  # type: ignore[arg-type]


@pytest.mark.slow
def test_an_int8_graph_that_fails_its_check_gives_way_to_float32(tmp_path, monkeypatch) -> None:
    import bayqa.embedding as embedding

    monkeypatch.setattr(embedding, "MIN_COSINE_INT8", 1.01)  # no int8 graph can pass: the fallback must take over
    fallback = Embedder(backend="fast", cache_dir=tmp_path)
    assert "onnxruntime fp32" in fallback.backend_description and fallback.fallback_reason is None
    assert not list(tmp_path.rglob(embedding.INT8_GRAPH)) and list(tmp_path.rglob("model.onnx"))
    reference = fallback.encode_reference(QUESTIONS[:2])
    assert np.min(np.sum(np.vstack([fallback.encode_query(q) for q in QUESTIONS[:2]]) * reference, axis=1)) >= MIN_COSINE
