"""Combining the dense and the keyword score of the same candidate passages into one ranking score.

Both functions take aligned arrays (element ``i`` of each is the same passage) holding each retriever's
true score for every candidate, and return the fused score (higher is better).
"""

from __future__ import annotations

import numpy as np

# Chosen on the SciFact train split (README, "Retrieval quality"): the weight of the dense score.
DENSE_WEIGHT = 0.6
RRF_K = 60


def convex(dense: np.ndarray, keyword: np.ndarray, dense_weight: float = DENSE_WEIGHT) -> np.ndarray:
    """Weighted sum of the two scores, each rescaled to 0..1 over the candidates (min-max).

    Unlike reciprocal ranks, this keeps how far apart the candidates are: a passage far ahead on one
    retriever stays ahead unless the other retriever disagrees strongly.
    """
    return dense_weight * _min_max(dense) + (1.0 - dense_weight) * _min_max(keyword)


def reciprocal_rank(dense: np.ndarray, keyword: np.ndarray, k: int = RRF_K) -> np.ndarray:
    """Reciprocal-rank fusion: sum of 1 / (k + rank) over the retrievers that scored the passage."""
    return _rrf_part(dense, k, scored=np.ones(len(dense), dtype=bool)) + _rrf_part(keyword, k, scored=keyword > 0)


def _min_max(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64)
    if not len(scores):
        return scores
    low, high = scores.min(), scores.max()
    if high - low <= 1e-12:
        return np.zeros_like(scores)
    return (scores - low) / (high - low)


def _rrf_part(scores: np.ndarray, k: int, scored: np.ndarray) -> np.ndarray:
    ranks = np.empty(len(scores), dtype=np.float64)
    ranks[np.argsort(-np.asarray(scores), kind="stable")] = np.arange(1, len(scores) + 1)
    return np.where(scored, 1.0 / (k + ranks), 0.0)
