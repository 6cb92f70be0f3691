"""Combining the scores several signals give the same candidate passages into one ranking score.

The arrays are aligned (element ``i`` of each is the same passage) and hold each signal's true score
for every candidate; the fused score is higher for better passages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from bayqa.query import Query

# The weights of the passage cosine, the best sentence's cosine and BM25 in hybrid search, chosen by
# cross-validation on the SciFact train split (docs/ranking.md; the runs are in docs/experiments.md).
HYBRID_WEIGHTS = (0.35, 0.35, 0.3)
# For a question in Chinese: the default model was trained on English only, so its passage vectors for
# Chinese text are weak and keyword matching carries more (docs/ranking.md). A multilingual model would not need this.
CHINESE_WEIGHTS = (0.0, 0.3, 0.7)
# When even the closest passage is this far from the question, the model has not understood it (a bare code or
# acronym; real questions score well above): the two cosines are noise that min-max scaling would stretch to full
# weight, so they fade out below SURE_COSINE and are gone at NOISE_COSINE, leaving BM25.
NOISE_COSINE = 0.2
SURE_COSINE = 0.3


def hybrid_weights(query: Query, best_cosine: float) -> tuple[float, float, float]:
    """The (passage cosine, best sentence cosine, BM25) weights for this question's language, with the two
    cosines faded out when ``best_cosine`` (the closest passage's) says the model did not understand it."""
    dense, sentence, keyword = CHINESE_WEIGHTS if query.chinese else HYBRID_WEIGHTS
    trust = min(1.0, max(0.0, (best_cosine - NOISE_COSINE) / (SURE_COSINE - NOISE_COSINE)))
    return dense * trust, sentence * trust, keyword


def convex(signals: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """Weighted sum of the signals, each rescaled to 0..1 over the candidates (min-max).

    Unlike reciprocal ranks, this keeps how far apart the candidates are: a passage far ahead on one
    signal stays ahead unless the others disagree strongly.
    """
    return sum((w * _min_max(s) for s, w in zip(signals, weights, strict=True)), start=np.zeros(len(signals[0])))


def _min_max(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64)
    if not len(scores):
        return scores
    low, high = scores.min(), scores.max()
    if high - low <= 1e-12:
        return np.zeros_like(scores)
    return (scores - low) / (high - low)
