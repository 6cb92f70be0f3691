"""From token vectors to unit text vectors: a text's mean and the means of its spans (late chunking)."""

from __future__ import annotations

import numpy as np

from bayqa.embedding.model import ModelError


def normalize(vectors: np.ndarray) -> np.ndarray:
    """Unit-length float32 rows, so that inner product is cosine similarity."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)


def pool_spans(
    tokens: np.ndarray, offsets: np.ndarray, spans: list[tuple[tuple[int, int], ...]]
) -> tuple[np.ndarray, np.ndarray]:
    """A text's unit vector (the mean of its token vectors) and a unit vector per span: the mean of the tokens that
    overlap the span's character ranges, with the special tokens ([CLS], [SEP]: offsets (0, 0)); the text's own
    vector for a span no token falls in. ``tokens`` and ``offsets`` cover the text's tokens only, no padding."""
    mean = tokens.mean(axis=0)
    special = offsets[:, 1] == 0
    pooled = []
    for ranges in spans:
        inside = np.zeros(len(tokens), dtype=bool)
        for a, b in ranges:
            inside |= (offsets[:, 0] < b) & (offsets[:, 1] > a)
        inside &= ~special
        pooled.append(tokens[inside | special].mean(axis=0) if inside.any() else mean)
    return normalize(mean[None])[0], normalize(np.asarray(pooled, dtype=np.float32).reshape(-1, len(mean)))


def require_mean_pooling(name: str, modes: str | None) -> None:
    """Span vectors are means of token vectors, which only agree with the text's vector for a mean-pooling model."""
    if modes != "mean":
        raise ModelError(
            f"pooled sentence vectors need a model that mean-pools its tokens; {name!r} pools by {modes!r}: "
            "set BAYQA_SENTENCE_VECTORS=separate"
        )
