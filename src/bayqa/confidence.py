"""How likely it is that the corpus answers the question at all: the "not found" signal.

Two signals from the search that already ran, so it costs nothing extra:
- ``similarity``: cosine of the question and the closest passage (an off-topic question is far from all);
- ``coverage``: the share of the question's distinct terms found in the best passage, or, for a
  question whose terms the corpus has never seen, how many are missing (an on-topic question about a
  thing the corpus never mentions, such as a named person or a year, leaves terms unmatched).

A logistic regression of the two, fitted on the GBA question set (86 answerable, 17 unanswerable
questions), turns them into an estimate of the probability that the corpus answers the question (at
that set's mix of questions). Below LOW the answer is flagged as probably not in the corpus; LOW is
set so that at most 5% of the answerable questions of the set are flagged. A refit on both question sets of
eval/ together, cross-validated by document (bayqa.calibration, scripts/fit_confidence.py),
flagged no more unanswerable questions and more answerable ones on the questions it was not fitted on,
so these weights stay.

The answer-type check (bayqa.asking.expected_answer and bayqa.statements.states) flags a question that asks for a date, an
amount of money or a figure when none of the answer sentences of the top passages states one: the documents then
hold the subject but not the detail asked for. ``missing`` says which kind was missing.

With a verifier configured (bayqa.verify), a question the two signals pass without being sure of it (score below
CHECK_BELOW) is checked once more: ``check`` is the cross-encoder's probability that the best of the top answer
sentences answers it, and below CHECK_LOW the question is flagged too. CHECK_LOW is a round figure inside the wide
gap that the GBA set leaves there (every threshold from 0.15 to 0.33 flags the same questions). Above CHECK_BELOW
the check is skipped, which halves its cost on answerable questions: on the GBA set, and on its answerable
questions asked with their document left out, the verifier flagged none of the questions scored that high.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Fitted on eval/gba_questions.jsonl (hybrid mode): logistic regression weights and bias; checked against a refit
# on both question sets by scripts/fit_confidence.py.
SIMILARITY_WEIGHT = 3.48
COVERAGE_WEIGHT = 3.28
BIAS = -2.31
LOW = 0.6
CHECK_LOW = 0.2
CHECK_BELOW = 0.9
# When the best passage is in the other language than the question (found by the multilingual model), the two
# signals above say nothing: the English model does not read the other language and no term is shared. The
# multilingual cosine of that passage decides instead: below CROSS_LOW it is flagged. CROSS_LOW is the highest round
# cosine that flags at most 5% of the answerable questions so answered, on the three question sets of eval/, and
# what a choice with documents left out settles on (docs/ranking.md); CROSS_SLOPE only spreads the score around it.
CROSS_LOW = 0.28
CROSS_SLOPE = 20.0
# A question the signals flag is not flagged when the passage in the other language lifted into the first places
# has at least this multilingual cosine: its answer may be there. Chosen by 5-fold cross-validation by document
# over the three question sets of eval/ (docs/ranking.md).
LIFTED_LOW = 0.40


@dataclass(frozen=True)
class Confidence:
    score: float
    low: bool
    check: float | None = None
    # What the question asks for ("date", "amount", "figure") and no top answer states, or "year": the question names
    # a year none of the top passages mentions (asked about 2015, they speak of 2024), or "name": a place or body
    # (bayqa.names).
    missing: str | None = None


def confidence(similarity: float, coverage: float) -> Confidence:
    """Combine the two signals; ``low`` means the corpus probably has no answer."""
    z = SIMILARITY_WEIGHT * similarity + COVERAGE_WEIGHT * coverage + BIAS
    score = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))
    return Confidence(round(score, 4), score < LOW)


def cross_confidence(cosine: float) -> Confidence:
    """The confidence in a best passage written in the other language, from its multilingual cosine to the
    question: LOW exactly at CROSS_LOW."""
    z = CROSS_SLOPE * (cosine - CROSS_LOW) + math.log(LOW / (1 - LOW))
    score = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))
    return Confidence(round(score, 4), score < LOW)


def needs_check(cheap: Confidence) -> bool:
    """Whether a verifier should look: the cheap signals neither flagged the question nor are sure of it."""
    return not cheap.low and cheap.score < CHECK_BELOW


def checked(cheap: Confidence, probability: float) -> Confidence:
    """The cheap confidence with the verifier's say added: a sentence that probably does not answer flags it."""
    return Confidence(cheap.score, cheap.low or probability < CHECK_LOW, round(probability, 4), cheap.missing)


def unstated(cheap: Confidence, missing: str | None) -> Confidence:
    """The confidence with the answer-type check: a question that asks for a date, an amount of money or a figure
    that none of the top answer sentences states is flagged, whatever its score."""
    return Confidence(cheap.score, cheap.low or missing is not None, cheap.check, missing)
