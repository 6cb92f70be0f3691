"""Choosing the sentences of a passage that answer the question.

Each sentence's vector is computed when the index is built, and a search takes the cosines of all its
hits' sentences in one product, so choosing here is a term overlap: well under a millisecond for a page
of results. A sentence's score adds three things:
- the cosine of question and sentence (the sentence embedded with its passage's title and headings);
- the IDF-weighted share of the question's terms it contains (names, figures and codes that an
  embedding blurs; a rare word such as "cost" or "governor" counts for more than "Hong Kong");
- for a question that asks for a figure ("how many", "多少"), a bonus when the sentence holds a figure
  (in digits or words) the question does not already state and that is not part of a date or a label
  ("Figure 3", "Chapter 10"); for one that
  asks for a date ("when", "什么时候"), a bonus when it holds a date the question does not state.
A sentence that ends with a colon introduces what follows: before a list, the list's best item is shown
instead; before plain text, the next sentence is shown with it.
The answer then takes in the neighbours that complete it, up to three sentences in all: for a question that asks
several things ("When was X first used, and when did Y …?"), each part's own best sentence when it adds one of
that part's terms or the kind of answer it wants; for any question, a next or previous sentence that states the
date, figure or amount asked for when the answer so far states none ("the answer runs on"), or that carries the
answer on to a name the question asks about and the answer lacks; for a question that wants none of those, a next
sentence holding question terms the best one lacks ("92. The Hong Kong stock market has maintained its strong
momentum." / "… while the average daily turnover has reached $250 billion …"); a sentence inside a quotation, back to the one
that opens it (which names the speaker).

Each hit also says where the question's terms occur in its passage (``matched_terms``), from the same tokenizing
of its sentences, so a page can mark exactly the words that matched.
"""


from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from bayqa.asking import Part
from bayqa.completing import widen
from bayqa.statements import english_terms_of, scored, spans_of, terms_of

# Chosen on the GBA question set, in the middle of a flat range of settings (docs/experiments.md has the runs).
LEXICAL_WEIGHT = 0.2
FIGURE_WEIGHT = 0.1
# For a Chinese question the English model's sentence cosines are weak, so its terms and the figure asked for count
# for more; chosen by cross-validation by document over the six question sets of eval/ (docs/ranking.md).
CHINESE_LEXICAL_WEIGHT = 0.8
CHINESE_FIGURE_WEIGHT = 0.5


@dataclass(frozen=True)
class Answer:
    """The answer: one to three consecutive sentences, ``text`` is ``document.text[start:end]``; ``score`` is the best
    sentence's."""

    text: str
    start: int
    end: int
    score: float


class Match(NamedTuple):  # a search makes dozens: a named tuple is cheaper to make than a frozen dataclass
    """A question term in a passage: ``term`` as the keyword search counts it, made of ``document.text[start:end]``."""

    term: str
    start: int
    end: int


def best_sentence(
    cosines: np.ndarray,
    question_idf: dict[str, float],
    kind: str | None,
    spans: np.ndarray,
    passage: str,
    passage_start: int,
    parts: Sequence[Part] = (),
    chinese: bool = False,
    in_english: bool = False,
    named: Sequence[frozenset[str]] = (),
    counted: str | None = None,
    why: bool = False,
    measure: str | None = None,
) -> Answer | None:
    """The answer in a passage (``spans`` are its sentences' document offsets): its best sentence, with the
    neighbours that complete it; None if it has no sentence.

    ``cosines`` are each sentence's cosine to the question; ``question_idf`` maps each distinct term of the
    question to its inverse document frequency; ``kind`` is what the question wants (bayqa.asking.expected_answer);
    ``parts`` are the questions it holds when it holds several (bayqa.asking.question_parts); ``chinese`` says
    whether the question is in Chinese; ``in_english`` reads a Chinese passage's sentences in their dictionary
    English (bayqa.translate) to find an English question's terms; ``named`` are the terms of each name it asks about
    (bayqa.names.question_names); ``counted`` is the term of what a "how many" question counts (bayqa.asking.counted);
    ``why`` says the question asks for a reason (bayqa.asking.asks_why); ``measure`` is the measure it asks a figure
    in (bayqa.measures.asked_measure).
    """
    if not len(spans):
        return None
    texts = [passage[s - passage_start : e - passage_start] for s, e in np.asarray(spans).tolist()]
    cosines = np.asarray(cosines, dtype=np.float32)
    weights = (CHINESE_LEXICAL_WEIGHT, CHINESE_FIGURE_WEIGHT) if chinese else (LEXICAL_WEIGHT, FIGURE_WEIGHT)
    read = english_terms_of if in_english else terms_of
    scores = scored(cosines, texts, question_idf, question_idf.keys(), kind, weights, read, counted, measure)
    best = int(np.argmax(scores))
    best, first, last = widen(best, texts, cosines, scores, question_idf, kind, parts, weights, read, named, why)
    start, end = int(spans[first][0]), int(spans[last][1])
    return Answer(passage[start - passage_start : end - passage_start], start, end, round(float(scores[best]), 4))


def passage_terms(spans: np.ndarray, passage: str, passage_start: int, in_english: bool = False) -> frozenset[str]:
    """The distinct terms of a passage's sentences (``spans``, document offsets) as ``best_sentence`` reads them, in
    their dictionary English too when ``in_english``: read once a sentence, so a passage just answered costs nothing."""
    read = english_terms_of if in_english else terms_of
    sentences = (passage[start - passage_start : end - passage_start] for start, end in np.asarray(spans).tolist())
    return frozenset().union(*map(read, sentences))


def matched_terms(wanted: Collection[str], spans: np.ndarray, passage: str, passage_start: int) -> tuple[Match, ...]:
    """Where the ``wanted`` terms occur in a passage (``spans`` are its sentences' document offsets), in order.

    A term never reaches across sentences (only space lies between them), so these are the terms BM25 counted in the
    passage text.
    """
    found: list[Match] = []
    for start, end in np.asarray(spans).tolist():
        every, located = spans_of(passage[start - passage_start : end - passage_start])
        if not every.isdisjoint(wanted):
            found.extend([Match(term, start + a, start + b) for term, a, b in located if term in wanted])
    return tuple(found)


