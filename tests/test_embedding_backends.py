"""The fast embedding backend gives the float32 vectors (within tolerance)."""

import numpy as np
import pytest

from bayqa.embedding import MIN_COSINE, Embedder, ModelError

QUESTIONS = [
    "When did the Hong Kong-Zhuhai-Macao Bridge open?",
    "前海合作区对香港居民有哪些人才政策？",
    "x",
    "What does the Northern Metropolis plan say about housing, innovation and technology land near the boundary? " * 4,
]


def test_fast_backend_agrees_with_float32(embedder: Embedder) -> None:
    assert embedder.backend == "fast" and "onnxruntime" in embedder.backend_description
    reference = embedder.encode_reference(QUESTIONS)
    questions = np.vstack([embedder.encode_query(q) for q in QUESTIONS])
    batch = embedder.encode(QUESTIONS)
    for vectors in (questions, batch):
        assert vectors.dtype == np.float32 and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
        assert np.min(np.sum(vectors * reference, axis=1)) >= MIN_COSINE


def test_unknown_backend_is_a_clear_error() -> None:
    with pytest.raises(ModelError, match="unknown embedding backend 'gpu'"):
        Embedder(backend="gpu")  # type: ignore[arg-type]
