"""Combining the scores several signals give the same candidate passages into one ranking score.

The arrays are aligned (element ``i`` of each is the same passage) and hold each signal's true score
for every candidate; the fused score is higher for better passages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class LanguageWeights:
    """How much the multilingual model's cosine counts, by the languages of question and passage.

    For a passage in the question's language, it takes ``same_english`` (English) or ``same_chinese`` (Chinese)
    of the weight, the other signals share the rest as in HYBRID_WEIGHTS / CHINESE_WEIGHTS. For a passage in the
    other language, the English model's cosines say nothing (it reads one language), so only BM25 (numbers and
    names the two share) and the multilingual cosine count, with the ``cross`` weights. Chosen by cross-validation
    on three question sets, documents left out, but for ``same_english``: SciFact allowed no more than 0.1 (the
    multilingual model reads English worse than the English one; docs/ranking.md).
    """

    same_english: float = 0.1
    same_chinese: float = 0.0
    cross: tuple[float, float] = (0.15, 0.9)  # (BM25, multilingual cosine)
    # The best passages in the other language are lifted to these places (1 = first), the best to the first of
    # them, when they rank lower. Min-max scaling makes the best passage of the question's own language look as good
    # on its signals as a real answer, so the other language's best would otherwise rarely reach the first places.
    cross_places: tuple[int, ...] = (2,)
    # The multilingual model is the one signal that reads both languages alike: when it ranks a passage in the other
    # language above every candidate, and above the first place by more than this, that passage goes first.
    cross_first: float = 0.07
    # For an English question, a passage in Chinese among the first three places goes first when it holds a share of
    # the question's terms (read in its dictionary English) more than this above the first place's (0: any larger). By
    # 5-fold cross-validation by document over the read and development question sets (docs/ranking.md).
    cross_covers: float = 0.0
    # And a Chinese first place (the multilingual model's choice) gives way to an English passage among the first three
    # whose share is more than this above the first place's. Chosen the same way.
    own_covers: float = 0.3
    # For a Chinese question, the English passages trade places among those they hold by score + this x their cosine to
    # the question's dictionary English (bayqa.crossing.gloss_of) in the English model. Chosen by 5-fold
    # cross-validation by answer document over the read and development question sets (docs/ranking.md).
    gloss: float = 1.0


def hybrid_weights(query: Query, best_cosine: float) -> tuple[float, float, float]:
    """The (passage cosine, best sentence cosine, BM25) weights for this question's language, with the two
    cosines faded out when ``best_cosine`` (the closest passage's) says the model did not understand it."""
    dense, sentence, keyword = CHINESE_WEIGHTS if query.chinese else HYBRID_WEIGHTS
    trust = understood(best_cosine)
    return dense * trust, sentence * trust, keyword


def understood(best_cosine: float) -> float:
    """How far the cosines mean anything (0 to 1), from the closest passage's cosine: see NOISE_COSINE."""
    return min(1.0, max(0.0, (best_cosine - NOISE_COSINE) / (SURE_COSINE - NOISE_COSINE)))


def row_weights(query: Query, best_cosine: float, chinese_rows: np.ndarray, weights: LanguageWeights) -> np.ndarray:
    """The (passage cosine, best sentence cosine, BM25, multilingual cosine) weights of each candidate, one row per
    candidate: by whether it is in the question's language (``chinese_rows`` says which candidates are Chinese).
    The multilingual cosine fades out with the others when the question was not understood (a bare code)."""
    share = weights.same_chinese if query.chinese else weights.same_english
    trust = understood(best_cosine)
    same = np.array([*(w * (1 - share) for w in hybrid_weights(query, best_cosine)), share * trust])
    keyword, multilingual = weights.cross
    other = np.array([0.0, 0.0, keyword, multilingual * trust])
    return np.where((chinese_rows != query.chinese)[:, np.newaxis], other, same)


def lift_other(order: np.ndarray, other: np.ndarray, places: Sequence[int], doc_of: Callable[[int], str] | None = None) -> np.ndarray:
    """``order`` (candidate numbers, best first) with the n-th candidate that ``other`` marks moved up to the n-th of
    ``places`` (1-based, ascending) when it stands lower.

    When the first candidate is not marked, candidates of its document (``doc_of`` a candidate number) are not lifted:
    a Chinese reference line of an English report would take a place meant for another document, and one of the
    report's own places.
    """
    if doc_of is not None and len(order) and not other[order[0]]:
        first = doc_of(int(order[0]))
        other = other.copy()
        for i in np.flatnonzero(other):
            other[i] = doc_of(int(i)) != first
    for n, place in enumerate(places):
        marked = np.flatnonzero(other[order])
        if len(marked) <= n or marked[n] < place:
            continue
        at = int(marked[n])
        order = np.concatenate([order[: place - 1], order[at : at + 1], order[place - 1 : at], order[at + 1 :]])
    return order


def other_first(
    order: np.ndarray, other: np.ndarray, multilingual: np.ndarray, margin: float,
    doc_of: Callable[[int], str] | None = None,
) -> np.ndarray:
    """``order`` with the candidate of the highest ``multilingual`` cosine moved to the front, when ``other`` marks it
    (the other language) and not the first candidate, its cosine is more than ``margin`` above the first's, and it is
    not from the first's document (``doc_of`` a candidate number), whose place it would take."""
    if not len(order) or other[order[0]]:
        return order
    top, first = int(np.argmax(multilingual)), int(order[0])
    if not other[top] or multilingual[top] - multilingual[first] <= margin:
        return order
    if doc_of is not None and doc_of(top) == doc_of(first):
        return order
    return np.concatenate([[top], order[order != top]])


def convex(signals: Sequence[np.ndarray], weights: Sequence[float] | np.ndarray) -> np.ndarray:
    """Weighted sum of the signals, each rescaled to 0..1 over the candidates (min-max). ``weights`` has one weight
    a signal, or a row of them for each candidate (``row_weights``).

    Unlike reciprocal ranks, this keeps how far apart the candidates are: a passage far ahead on one
    signal stays ahead unless the others disagree strongly.
    """
    weights = np.asarray(weights, dtype=np.float64)
    scaled = np.column_stack([_min_max(s) for s in signals]) if len(signals[0]) else np.zeros((0, len(signals)))
    if weights.ndim == 1:
        return scaled @ weights
    return np.einsum("ij,ij->i", scaled, weights)


def _min_max(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64)
    if not len(scores):
        return scores
    low, high = scores.min(), scores.max()
    if high - low <= 1e-12:
        return np.zeros_like(scores)
    return (scores - low) / (high - low)
