"""How likely it is that the corpus answers the question at all: the "not found" signal.

Two signals from the search that already ran, so it costs nothing extra:
- ``similarity``: cosine of the question and the closest passage (an off-topic question is far from all);
- ``coverage``: the share of the question's distinct terms found in the best passage, or, for a
  question whose terms the corpus has never seen, how many are missing (an on-topic question about a
  thing the corpus never mentions, such as a named person or a year, leaves terms unmatched).

A logistic regression of the two, fitted on the GBA question set (86 answerable, 17 unanswerable
questions), turns them into an estimate of the probability that the corpus answers the question (at
that set's mix of questions). Below LOW the answer is flagged as probably not in the corpus; LOW is
set so that at most 5% of the answerable questions of the set are flagged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Fitted on eval/gba_questions.jsonl (hybrid mode): logistic regression weights and bias.
SIMILARITY_WEIGHT = 3.48
COVERAGE_WEIGHT = 3.28
BIAS = -2.31
LOW = 0.6


@dataclass(frozen=True)
class Confidence:
    score: float
    low: bool


def confidence(similarity: float, coverage: float) -> Confidence:
    """Combine the two signals; ``low`` means the corpus probably has no answer."""
    z = SIMILARITY_WEIGHT * similarity + COVERAGE_WEIGHT * coverage + BIAS
    score = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))
    return Confidence(round(score, 4), score < LOW)
