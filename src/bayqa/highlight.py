"""Choosing the sentence of a passage that best answers the question.

Each sentence's vector is computed when the index is built, so at question time choosing costs one
small matrix-vector product per passage plus a term overlap: well under a millisecond for a page of
results. A sentence's score adds three things:
- the cosine of question and sentence (the sentence embedded with its passage's title and headings);
- the IDF-weighted share of the question's terms it contains (names, figures and codes that an
  embedding blurs; a rare word such as "cost" or "governor" counts for more than "Hong Kong");
- for a question that asks for a figure or a date ("how many", "when", "多少", "什么时候"), a bonus
  when the sentence holds a figure (in digits or words) the question does not already state: that
  figure is the answer.
A sentence that ends with a colon introduces what follows, so the next sentence is shown with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from bayqa.terms import terms, without_enumerator

# Chosen on the GBA question set (answer@1: 0.709 with the plain share of terms at 0.2 and the figure
# bonus at 0.15; 0.744 with the IDF-weighted share at 0.2 and 0.1; 0.733-0.756 for shares of 0.15-0.25).
LEXICAL_WEIGHT = 0.2
FIGURE_WEIGHT = 0.1

_ASKS_FOR_FIGURE = re.compile(
    r"\b(?:when|how (?:many|much|long|large|big|far|old|often|high|soon)|until|since|"
    r"what (?:year|date|day|month|share|percentage|proportion|fraction|size|area|number|amount|quota|cap|rent|cost))\b"
    r"|多少|多大|多长|多高|多久|多远|几|什么时候|何时|哪一?年|哪天|哪个月",
    re.IGNORECASE,
)
_FIGURE = re.compile(r"\d")
# Figures written as words ("valid for five years", "one-third of the land"), as search terms (stemmed).
_NUMBER_TERMS = frozenset(
    terms(
        "two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred thousand "
        "half third quarter dozen twice double triple"
    )
)


@dataclass(frozen=True)
class Answer:
    """The answering sentence: ``text`` is ``document.text[start:end]``."""

    text: str
    start: int
    end: int
    score: float


def asks_for_figure(question: str) -> bool:
    """Whether the question wants a number, an amount or a date as its answer."""
    return _ASKS_FOR_FIGURE.search(question) is not None


def best_sentence(
    question_vector: np.ndarray,
    question_idf: dict[str, float],
    wants_figure: bool,
    sentence_vectors: np.ndarray,
    spans: np.ndarray,
    passage: str,
    passage_start: int,
) -> Answer | None:
    """The best sentence of a passage (``spans`` are its sentences' document offsets); None if it has none.

    ``question_idf`` maps each distinct term of the question to its inverse document frequency.
    """
    if not len(spans):
        return None
    texts = [passage[s - passage_start : e - passage_start] for s, e in spans]
    scores = np.asarray(sentence_vectors, dtype=np.float32) @ question_vector
    total = sum(question_idf.values())
    if total > 0:
        sentence_terms = [_terms_of(t) for t in texts]
        shares = [sum(question_idf[t] for t in ts.intersection(question_idf)) / total for ts in sentence_terms]
        scores = scores + LEXICAL_WEIGHT * np.array(shares)
        if wants_figure:
            scores = scores + FIGURE_WEIGHT * np.array([_new_figure(question_idf.keys(), ts) for ts in sentence_terms])
    best = int(np.argmax(scores))
    start, end = int(spans[best][0]), int(spans[best][1])
    if texts[best].rstrip().endswith((":", "：")) and best + 1 < len(spans):
        end = int(spans[best + 1][1])
    return Answer(passage[start - passage_start : end - passage_start], start, end, round(float(scores[best]), 4))


@lru_cache(maxsize=65_536)
def _terms_of(sentence: str) -> frozenset[str]:
    """A sentence's distinct terms; cached because the same passages come back for many questions."""
    return frozenset(terms(without_enumerator(sentence)))


def _new_figure(question_terms: Iterable[str], sentence_terms: frozenset[str]) -> bool:
    return any(t in _NUMBER_TERMS or _FIGURE.search(t) for t in sentence_terms.difference(question_terms))
