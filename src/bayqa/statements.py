"""What a sentence states, as the answer sentence is chosen: its terms, its dates, its figures and amounts of money,
and a figure of what a question counts; and each sentence's score for a question (bayqa.highlight).

Pure functions, cached per sentence because the same passages come back for many questions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from functools import lru_cache

import numpy as np

from bayqa.measures import states_measure
from bayqa.terms import half_width, is_mostly_chinese, simplified, term_spans, terms, without_enumerator
from bayqa.translate import english_text

# An amount of money: a currency sign, code or word ("HK$141.5 billion", "RMB 150 billion", "300 dollars", "3亿元").
_AMOUNT = re.compile(
    r"(?:HK|US|MOP|NT)?\$|\b(?:RMB|CNY|HKD|USD|MOP|yuan|renminbi|dollars?|patacas?|euros?)\b|[€£¥]|\d\s*[万亿千百萬億]?\s*元|港元|港[币幣]|美元|澳[门門]元|人民[币幣]",
    re.IGNORECASE,
)
# A date: a year, a month's name with its day ("6 November", "November 6"), or a Chinese date part ("2023年",
# "9月", "22日"). Digits are not word boundaries in Chinese text, hence the look-arounds.
_MONTH = "January|February|March|April|May|June|July|August|September|October|November|December"
_DATE = re.compile(
    rf"(?<!\d)(?:1[89]|20)\d\d(?!\d)|(?<!\d)(?:\d{{1,2}}\s+)?(?:{_MONTH})\b(?:\s+\d{{1,2}}(?!\d))?|(?<!\d)\d{{1,4}}\s*[年月日号號]"
)
_DATE_PARTS = frozenset("年月日号號")
# The number of a figure, table or chapter ("Figure 3", "Table 2a") names it; it is no figure of what is measured.
_LABEL = re.compile(
    r"\b(?:Figures?|Fig\.|Tables?|Charts?|Exhibits?|Box|Appendix|Annex|Chapters?|Sections?|Pages?|p\.)\s+\d+[a-z]?(?:\.\d+)*\b", re.IGNORECASE
)
_FIGURE = re.compile(r"\d")
# A figure in Chinese numerals with what it counts ("十一章", "三十五节", "半小时", "二万七千字", in Simplified script):
# the numerals alone are in too many words (统一, 一体化), and a bare 一 with its measure word is "a" (一个, 一项).
# Such a figure answers a question that names what it counts (几章几节, 多少家) or, for time, asks how long (时间):
# "四个重大合作平台" is no answer to how large the zone is.
_CHINESE_FIGURE = re.compile(
    r"(?:[两半零〇二三四五六七八九十百千万亿][一两半零〇二三四五六七八九十百千万亿]*|一[一两零〇二三四五六七八九十百千万亿]+)"
    r"(?:多|余)?(个|项|章|节|条|小时|分钟|天|周|公里|千米|米|平方|公顷|亩|人|家|所|座|间|倍|成|字|元|层|届|次|期|批|类|种)"
)
_TIME_UNITS = frozenset({"小时", "分钟", "天", "周"})
_CJK_NUMERAL = re.compile("[两兩半零〇二三四五六七八九十百千万萬亿億]")
# Figures written as words ("valid for five years", "one-third of the land"), as search terms (stemmed).
_NUMBER_TERMS = frozenset(
    terms(
        "two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred thousand "
        "half third quarter dozen twice double triple"
    )
)



def states(kind: str, sentence: str, question_terms: frozenset[str]) -> bool:
    """Whether ``sentence`` states what ``expected_answer`` said the question wants: a date, an amount of money, or a
    figure that the question does not already state (as the highlighter's bonus counts them)."""
    if kind == "date":
        return not _date_terms_of(sentence) <= question_terms
    if kind == "amount":
        return bool(_AMOUNT.search(half_width(sentence))) and not _figures_of(sentence) <= question_terms
    return not _figures_of(sentence) <= question_terms or any(
        _counts_asked(unit, question_terms) and not found <= question_terms for found, unit in _chinese_figures_of(sentence))


def states_count(kind: str, sentence: str, question_terms: frozenset[str], counted: str | None) -> bool:
    """``states``, and for a Chinese count (``counted`` a measure word: 多少家), a Chinese sentence states the figure
    with its measure word ("184家"): "14.92平方公里" is no count of companies. A sentence in the other language is
    read as ``states`` reads it."""
    if not states(kind, sentence, question_terms):
        return False
    return counted is None or counted.isascii() or not is_mostly_chinese(sentence) or counts(sentence, counted)


def scored(
    cosines: np.ndarray, texts: list[str], idf: dict[str, float], wanted: Collection[str], kind: str | None,
    weights: tuple[float, float], read: Callable[[str], frozenset[str]] | None = None, counted: str | None = None,
    measure: str | None = None,
) -> np.ndarray:
    """Each sentence's score for the ``wanted`` terms of the question (found by ``read``, else ``terms_of``) and the answer ``kind``
    they ask for; ``weights`` are those of the terms' share and of the figure asked for (counted twice for a figure of
    what the question counts, ``counted``)."""
    lexical, figure = weights
    total = sum(idf[t] for t in wanted)
    if total <= 0:
        return cosines
    read = read or terms_of
    shares = [sum(idf[t] for t in read(text).intersection(wanted)) / total for text in texts]
    scores = cosines + lexical * np.array(shares)
    if kind is not None:
        asked = idf.keys()
        wants = "figure" if kind == "amount" else kind  # the bonus counts any figure; the answer-type check wants money
        scores = scores + figure * np.array([states(wants, text, asked) for text in texts])
        if counted is not None:
            scores = scores + figure * np.array([counts(text, counted) for text in texts])
        if measure is not None:
            scores = scores + figure * np.array([states_measure(measure, text) for text in texts])
    return scores


def counts(sentence: str, counted: str) -> bool:
    """Whether a figure in ``sentence`` counts ``counted`` (bayqa.asking.counted): the word right after a figure, stop
    words aside ("24 hours", "one local staff", "213 of the firms"; not "24-hour passenger clearance" for passengers),
    or a Chinese measure word after a figure ("184家", "三座", "1.2万家")."""
    if not counted.isascii():
        read = simplified(half_width(sentence))
        return re.search(rf"\d\s*[万亿千百]?\s*[多余]?\s*{re.escape(counted)}", read) is not None or any(
            unit == counted for _, unit in _chinese_figures_of(sentence))
    found = [term for term, _, _ in spans_of(sentence)[1]]
    return any(term == counted and i > 0 and _is_count(found[i - 1]) for i, term in enumerate(found))


def _is_count(term: str) -> bool:
    return term in _NUMBER_TERMS or term == "one" or _FIGURE.search(term) is not None


@lru_cache(maxsize=65_536)
def spans_of(sentence: str) -> tuple[frozenset[str], tuple[tuple[str, int, int], ...]]:
    """A sentence's distinct terms, and each of its terms with where it is; cached because the same passages come back
    for many questions."""
    found = term_spans(sentence)
    return frozenset(term for term, _, _ in found), tuple(found)


@lru_cache(maxsize=65_536)
def terms_of(sentence: str) -> frozenset[str]:
    """A sentence's distinct terms, leaving out a list enumerator's (its number is no figure)."""
    skip = len(sentence) - len(without_enumerator(sentence))
    every, located = spans_of(sentence)
    return every if not skip else frozenset(term for term, start, _ in located if start >= skip)


@lru_cache(maxsize=65_536)
def english_terms_of(sentence: str) -> frozenset[str]:
    """The search terms of a Chinese sentence read by an English question: those of its dictionary English
    (bayqa.translate), and its own (its figures; its character pairs, which a romanised name reads back to)."""
    return frozenset(terms(english_text(sentence))) | terms_of(sentence)


@lru_cache(maxsize=65_536)
def _date_terms_of(sentence: str) -> frozenset[str]:
    """The search terms of the dates a sentence holds ("2027", "decemb", "9"), to compare with the question's."""
    return frozenset(t for m in _DATE.finditer(half_width(sentence)) for t in terms(m.group()) if t not in _DATE_PARTS)


@lru_cache(maxsize=65_536)
def _figures_of(sentence: str) -> frozenset[str]:
    """The terms of a sentence that state a figure (digits or number words), leaving out those of its dates and of the
    labels of figures, tables and chapters."""
    read = _LABEL.sub(lambda m: " " * len(m.group()), half_width(sentence))  # as long as before: terms keep their places
    return frozenset(t for t in terms_of(read) - _date_terms_of(read) if t in _NUMBER_TERMS or _FIGURE.search(t))


@lru_cache(maxsize=65_536)
def _chinese_figures_of(sentence: str) -> tuple[tuple[frozenset[str], str], ...]:
    """The figures a sentence writes in Chinese numerals: each one's terms and what it counts."""
    if not _CJK_NUMERAL.search(sentence):
        return ()
    return tuple((frozenset(terms(m.group())), m.group(1)) for m in _CHINESE_FIGURE.finditer(simplified(sentence)))


def _counts_asked(unit: str, question_terms: frozenset[str]) -> bool:
    """Whether the question names what a Chinese figure counts (its measure word inside one of its terms)."""
    return any(unit in t for t in question_terms) or unit in _TIME_UNITS and "时间" in question_terms

