"""Fitting the "not found" confidence (bayqa.confidence) and measuring it on questions the fit did not see.

The model is a logistic regression of the two signals a search gives (``Answers.signals``: similarity and
coverage) that estimates whether the corpus answers the question; LOW, the score below which a question is flagged,
is the highest that flags at most ``share`` of the answerable questions it was chosen on. The answer-type check
(``Confidence.missing``) flags a question whatever its score, so a question's flag is its score below LOW or that.

Cross-validation leaves documents out: every question about one document is in the same fold, the unanswerable
questions are dealt round the folds (bayqa.crossval.folds_by_document), and each fold is flagged with the weights
and LOW fitted on the other folds. Questions of several sets are pooled: give each set's documents distinct names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from bayqa.crossval import folds_by_document
from bayqa.evaluation import Question

SHARE = 0.05  # at most this share of the answerable questions may be flagged by the score
RIDGE = 1e-3  # a touch of L2 on the weights (not the bias), so that separable folds still give finite weights


@dataclass(frozen=True)
class Observed:
    """One question and what the search made of it."""

    question: Question
    similarity: float
    coverage: float
    missing: bool  # the answer-type check flagged it


@dataclass(frozen=True)
class Model:
    similarity_weight: float
    coverage_weight: float
    bias: float
    low: float

    def scores(self, observed: Sequence[Observed]) -> np.ndarray:
        z = self.similarity_weight * _column(observed, "similarity") + self.coverage_weight * _column(observed, "coverage") + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0)))

    def flags(self, observed: Sequence[Observed]) -> np.ndarray:
        return (self.scores(observed) < self.low) | np.array([o.missing for o in observed], dtype=bool)


def fit(observed: Sequence[Observed], share: float = SHARE) -> Model:
    """The logistic regression of answerable (``doc`` set) on the two signals, and LOW for it."""
    features = np.column_stack([_column(observed, "similarity"), _column(observed, "coverage"), np.ones(len(observed))])
    target = np.array([o.question.doc is not None for o in observed], dtype=np.float64)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = features @ w
        p = 1.0 / (1.0 + np.exp(-z))
        penalty = np.r_[w[:-1], 0.0]
        return float(np.sum(np.logaddexp(0.0, z) - target * z) + RIDGE * penalty @ penalty), features.T @ (p - target) + 2 * RIDGE * penalty

    w = minimize(loss, np.zeros(3), jac=True, method="BFGS").x
    model = Model(float(w[0]), float(w[1]), float(w[2]), 0.0)
    answerable = [o for o in observed if o.question.doc is not None]
    return Model(model.similarity_weight, model.coverage_weight, model.bias, highest_low(model.scores(answerable), share))


def highest_low(answerable_scores: np.ndarray, share: float = SHARE) -> float:
    """The highest threshold under which at most ``share`` of these answerable questions' scores fall."""
    ordered = np.sort(np.asarray(answerable_scores, dtype=np.float64))
    allowed = int(np.floor(share * len(ordered) + 1e-9))
    return float(ordered[allowed]) if allowed < len(ordered) else 1.0


def held_out_flags(observed: Sequence[Observed], folds: int | None = None, share: float = SHARE) -> np.ndarray:
    """Each question's flag from the model fitted on the other folds (by default one fold per document)."""
    questions = [o.question for o in observed]
    count = folds or len({q.doc for q in questions if q.doc is not None})
    fold_of = np.array(folds_by_document(questions, count))
    flags = np.zeros(len(observed), dtype=bool)
    for fold in range(count):
        model = fit([o for o, f in zip(observed, fold_of) if f != fold], share)
        mine = np.flatnonzero(fold_of == fold)
        flags[mine] = model.flags([observed[i] for i in mine])
    return flags


def flagged(observed: Sequence[Observed], flags: Sequence[bool]) -> tuple[int, int, int, int]:
    """(unanswerable flagged, unanswerable, answerable flagged, answerable)."""
    unanswerable = [f for o, f in zip(observed, flags) if o.question.doc is None]
    answerable = [f for o, f in zip(observed, flags) if o.question.doc is not None]
    return sum(unanswerable), len(unanswerable), sum(answerable), len(answerable)


def _column(observed: Sequence[Observed], name: str) -> np.ndarray:
    return np.array([getattr(o, name) for o in observed], dtype=np.float64)
