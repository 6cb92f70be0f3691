"""Choosing the sentence of a passage that best answers the question.

Each sentence's vector is computed when the index is built, and a search takes the cosines of all its
hits' sentences in one product, so choosing here is a term overlap: well under a millisecond for a page
of results. A sentence's score adds three things:
- the cosine of question and sentence (the sentence embedded with its passage's title and headings);
- the IDF-weighted share of the question's terms it contains (names, figures and codes that an
  embedding blurs; a rare word such as "cost" or "governor" counts for more than "Hong Kong");
- for a question that asks for a figure ("how many", "多少"), a bonus when the sentence holds a figure
  (in digits or words) the question does not already state and that is not part of a date; for one that
  asks for a date ("when", "什么时候"), a bonus when it holds a date the question does not state.
A sentence that ends with a colon introduces what follows: before a list, the list's best item is shown
instead; before plain text, the next sentence is shown with it.

Each hit also says where the question's terms occur in its passage (``matched_terms``), from the same tokenizing
of its sentences, so a page can mark exactly the words that matched.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache
from itertools import takewhile
from typing import NamedTuple

import numpy as np

from bayqa.terms import term_spans, terms, without_enumerator

# Chosen on the GBA question set, in the middle of a flat range of settings (docs/experiments.md has the runs).
LEXICAL_WEIGHT = 0.2
FIGURE_WEIGHT = 0.1

# A question that asks "when" wants a date, not just any number.
_ASKS_FOR_DATE = re.compile(
    r"\b(?:when|until|since|(?:what|which) (?:year|date|day|month))\b|什么时候|何时|哪一?年|哪天|哪个月|几月|几号",
    re.IGNORECASE,
)
_ASKS_FOR_FIGURE = re.compile(
    r"\b(?:how (?:many|much|long|large|big|far|old|often|high|soon)|"
    r"what (?:share|percentage|proportion|fraction|size|area|number|amount|quota|cap|rent|cost))\b"
    r"|多少|多大|多长|多高|多久|多远|几",
    re.IGNORECASE,
)
# A figure question about money ("How much is the toll", "租金是多少") wants an amount of money: a currency sign,
# code or word ("HK$141.5 billion", "RMB 150 billion", "300 dollars", "3亿元", "港元").
_ASKS_FOR_AMOUNT = re.compile(
    r"\b(?:tolls?|fares?|rents?|prices?|costs?|fees?|charges?|wages?|salar(?:y|ies)|budgets?)\b|租金|价格|费用|票价|收费|多少钱|造价|工资|薪",
    re.IGNORECASE,
)
_AMOUNT = re.compile(
    r"(?:HK|US|MOP|NT)?\$|\b(?:RMB|CNY|HKD|USD|MOP|yuan|renminbi|dollars?|patacas?|euros?)\b|[€£¥]|\d\s*[万亿千百]?\s*元|港元|港币|美元|澳门元|人民币",
    re.IGNORECASE,
)
# A date: a year, a month's name with its day ("6 November", "November 6"), or a Chinese date part ("2023年",
# "9月", "22日"). Digits are not word boundaries in Chinese text, hence the look-arounds.
_MONTH = "January|February|March|April|May|June|July|August|September|October|November|December"
_DATE = re.compile(
    rf"(?<!\d)(?:1[89]|20)\d\d(?!\d)|(?<!\d)(?:\d{{1,2}}\s+)?(?:{_MONTH})\b(?:\s+\d{{1,2}}(?!\d))?|(?<!\d)\d{{1,4}}\s*[年月日号]"
)
_DATE_PARTS = frozenset("年月日号")
_FIGURE = re.compile(r"\d")
_LIST_ITEM = re.compile(r"(?:[-*•]|\(?(?:\d{1,3}|[a-z]|[ivx]{1,4})[.)])\s")
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


class Match(NamedTuple):  # a search makes dozens: a named tuple is cheaper to make than a frozen dataclass
    """A question term in a passage: ``term`` as the keyword search counts it, made of ``document.text[start:end]``."""

    term: str
    start: int
    end: int


def asks_for(question: str) -> str | None:
    """What kind of figure the question wants as its answer: "date", "figure" (a number or an amount) or None.

    The first question word decides: "How many … when it opened?" asks for a number.
    """
    found = [(m.start(), kind) for kind, pattern in (("date", _ASKS_FOR_DATE), ("figure", _ASKS_FOR_FIGURE))
             if (m := pattern.search(question))]
    return min(found)[1] if found else None


def expected_answer(question: str) -> str | None:
    """What an answer to the question must state: "date", "amount" (of money), "figure", or None (anything)."""
    wants = asks_for(question)
    return "amount" if wants == "figure" and _ASKS_FOR_AMOUNT.search(question) else wants


def states(kind: str, sentence: str, question_terms: frozenset[str]) -> bool:
    """Whether ``sentence`` states what ``expected_answer`` said the question wants: a date, an amount of money, or a
    figure that the question does not already state (as the highlighter's bonus counts them)."""
    if kind == "date":
        return not _date_terms_of(sentence) <= question_terms
    if kind == "amount":
        return bool(_AMOUNT.search(sentence)) and not _figures_of(sentence) <= question_terms
    return not _figures_of(sentence) <= question_terms


def best_sentence(
    cosines: np.ndarray,
    question_idf: dict[str, float],
    wants: str | None,
    spans: np.ndarray,
    passage: str,
    passage_start: int,
) -> Answer | None:
    """The best sentence of a passage (``spans`` are its sentences' document offsets); None if it has none.

    ``cosines`` are each sentence's cosine to the question; ``question_idf`` maps each distinct term of the
    question to its inverse document frequency; ``wants`` is what ``asks_for`` says of the question.
    """
    if not len(spans):
        return None
    texts = [passage[s - passage_start : e - passage_start] for s, e in np.asarray(spans).tolist()]
    scores = np.asarray(cosines, dtype=np.float32)
    total = sum(question_idf.values())
    if total > 0:
        sentence_terms = [_terms_of(t) for t in texts]
        shares = [sum(question_idf[t] for t in ts.intersection(question_idf)) / total for ts in sentence_terms]
        scores = scores + LEXICAL_WEIGHT * np.array(shares)
        if wants == "date":
            scores = scores + FIGURE_WEIGHT * np.array([not _date_terms_of(t) <= question_idf.keys() for t in texts])
        elif wants == "figure":
            scores = scores + FIGURE_WEIGHT * np.array([not _figures_of(t) <= question_idf.keys() for t in texts])
    best = int(np.argmax(scores))
    end_at = best
    if texts[best].rstrip().endswith((":", "：")):
        items = _items_after(texts, best)
        if items:
            best = end_at = max(items, key=lambda i: scores[i])
        elif best + 1 < len(spans):
            end_at = best + 1
    start, end = int(spans[best][0]), int(spans[end_at][1])
    return Answer(passage[start - passage_start : end - passage_start], start, end, round(float(scores[best]), 4))


def matched_terms(wanted: Collection[str], spans: np.ndarray, passage: str, passage_start: int) -> tuple[Match, ...]:
    """Where the ``wanted`` terms occur in a passage (``spans`` are its sentences' document offsets), in order.

    A term never reaches across sentences (only space lies between them), so these are the terms BM25 counted in the
    passage text.
    """
    found: list[Match] = []
    for start, end in np.asarray(spans).tolist():
        every, located = _spans_of(passage[start - passage_start : end - passage_start])
        if not every.isdisjoint(wanted):
            found.extend([Match(term, start + a, start + b) for term, a, b in located if term in wanted])
    return tuple(found)


def _items_after(texts: list[str], intro: int) -> list[int]:
    """The indexes of the list items that directly follow an introducing sentence."""
    return list(takewhile(lambda i: _LIST_ITEM.match(texts[i]) is not None, range(intro + 1, len(texts))))


@lru_cache(maxsize=65_536)
def _spans_of(sentence: str) -> tuple[frozenset[str], tuple[tuple[str, int, int], ...]]:
    """A sentence's distinct terms, and each of its terms with where it is; cached because the same passages come back
    for many questions."""
    found = term_spans(sentence)
    return frozenset(term for term, _, _ in found), tuple(found)


@lru_cache(maxsize=65_536)
def _terms_of(sentence: str) -> frozenset[str]:
    """A sentence's distinct terms, leaving out a list enumerator's (its number is no figure)."""
    skip = len(sentence) - len(without_enumerator(sentence))
    every, located = _spans_of(sentence)
    return every if not skip else frozenset(term for term, start, _ in located if start >= skip)


@lru_cache(maxsize=65_536)
def _date_terms_of(sentence: str) -> frozenset[str]:
    """The search terms of the dates a sentence holds ("2027", "decemb", "9"), to compare with the question's."""
    return frozenset(t for m in _DATE.finditer(sentence) for t in terms(m.group()) if t not in _DATE_PARTS)


@lru_cache(maxsize=65_536)
def _figures_of(sentence: str) -> frozenset[str]:
    """The terms of a sentence that state a figure (digits or number words), leaving out those of its dates."""
    return frozenset(t for t in _terms_of(sentence) - _date_terms_of(sentence) if t in _NUMBER_TERMS or _FIGURE.search(t))
