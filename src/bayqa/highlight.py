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

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import takewhile
from typing import NamedTuple

import numpy as np

from bayqa.asking import Part
from bayqa.measures import states_measure
from bayqa.terms import half_width, is_mostly_chinese, simplified, term_spans, terms, without_enumerator
from bayqa.translate import english_text

# Chosen on the GBA question set, in the middle of a flat range of settings (docs/experiments.md has the runs).
LEXICAL_WEIGHT = 0.2
FIGURE_WEIGHT = 0.1
# For a Chinese question the English model's sentence cosines are weak, so its terms and the figure asked for count
# for more; chosen by cross-validation by document over the six question sets of eval/ (docs/ranking.md).
CHINESE_LEXICAL_WEIGHT = 0.8
CHINESE_FIGURE_WEIGHT = 0.5
# An answer is one to three consecutive sentences: the best one and the neighbours that complete it.
MAX_SENTENCES = 3
# A question that wants no date, figure or amount reads on into the next sentence when that holds question terms the
# best one lacks, weighing at least this share of the question's (by IDF). Chosen on the read question sets among
# 0.05, 0.1, 0.2, 0.3 and 0.5 (docs/experiments.md).
RUNS_ON_SHARE = 0.1

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
# A sentence that opens by pointing back ("This …", "These three economies …", "We choose these …", "Such …").
_REFERS_BACK = re.compile(r"\W*(?:(?:this|these|those|such|they|it|its|their)\b|(?:\w+\s+){1,3}(?:these|those)\b)", re.IGNORECASE)
# Quotation marks that tell opening from closing (a straight " does not).
_QUOTE_OPENS, _QUOTE_CLOSES = "「『“", "」』”"
_CONNECTIVE = re.compile(r"^\W*(?:although|though|but|and|yet|while|whereas|however)\b,?\s*", re.IGNORECASE)
_NAMED_AGAIN = re.compile(r"\W*[Tt]he\s+([a-z]+)\b")  # "The company will …" (lower case: not a name)
# What gives a reason, for a "why" question: "because", "due to", "in other words" (a restatement explains), 由于.
_CAUSE = re.compile(r"\b(?:because|due to|owing to|caused by|as a result|results? (?:from|in)|resulted (?:from|in)|reasons?|since(?! \d)|so that|in order to|thus|therefore|hence|driven by|stems? from|attributed to|leads? to|led to|in other words|given that)\b|因为|因為|由于|由於|原因|导致|導致|所以|因此|为了|為了|以便|源于|源於|在于|在於|得益|基于|基於", re.IGNORECASE)
# A sentence that announces how many things follow ("… did three things.", "There are two traditional ways of …"),
# and a sentence that begins listing them.
_ANNOUNCES = re.compile(r"\b(?:two|three|four|five|six|seven|eight|nine|ten|[2-9])\s+(?:[\w-]+\s+){0,3}[\w-]+s\b[^.!?]{0,40}[.:]$", re.IGNORECASE)
_OPENS_LIST = re.compile(r"\W*(?:first(?:ly)?|one|the first|to begin)\b", re.IGNORECASE)
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
    terms_of = _english_terms_of if in_english else _terms_of
    scores = _scores(cosines, texts, question_idf, question_idf.keys(), kind, weights, terms_of, counted, measure)
    best = int(np.argmax(scores))
    first = last = best
    if texts[best].rstrip().endswith((":", "：")):
        items = _items_after(texts, best)
        if items:
            best = first = last = max(items, key=lambda i: scores[i])
        elif best + 1 < len(spans):
            last = best + 1
    if first > 0 and _is_prose(texts[first]) and _refers_back(texts[first], texts[first - 1]):
        first -= 1  # "These three economies were chosen …": what it refers to is in the sentence before
    first = _quote_opened(texts, first, MAX_SENTENCES - (last - first + 1))
    if kind is not None or len(parts) > 1:
        first, last = _completed(first, last, texts, cosines, scores, question_idf, kind, parts, weights)
    if kind is not None and not parts and last + 1 < len(texts) and last - first + 1 < MAX_SENTENCES:
        last += _goes_on_to_name(texts[first : last + 1], texts[last + 1], named, kind, question_idf.keys())
    if kind is None and len(parts) < 2 and first == last and last + 1 < len(texts):
        said, after = terms_of(texts[last]), terms_of(texts[last + 1])
        last += _names_more(said, texts[last + 1], after, named) or _adds_terms(said, after, question_idf) >= RUNS_ON_SHARE
    if last + 1 < len(texts) and last - first + 1 < MAX_SENTENCES and _announces_items(texts[last], texts[last + 1]):
        last += 1
    if why:
        first, last = _with_cause(texts, first, last)
    start, end = int(spans[first][0]), int(spans[last][1])
    return Answer(passage[start - passage_start : end - passage_start], start, end, round(float(scores[best]), 4))


def passage_terms(spans: np.ndarray, passage: str, passage_start: int, in_english: bool = False) -> frozenset[str]:
    """The distinct terms of a passage's sentences (``spans``, document offsets) as ``best_sentence`` reads them, in
    their dictionary English too when ``in_english``: read once a sentence, so a passage just answered costs nothing."""
    terms_of = _english_terms_of if in_english else _terms_of
    sentences = (passage[start - passage_start : end - passage_start] for start, end in np.asarray(spans).tolist())
    return frozenset().union(*map(terms_of, sentences))


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


def _scores(
    cosines: np.ndarray, texts: list[str], idf: dict[str, float], wanted: Collection[str], kind: str | None,
    weights: tuple[float, float], terms_of: Callable[[str], frozenset[str]] | None = None, counted: str | None = None,
    measure: str | None = None,
) -> np.ndarray:
    """Each sentence's score for the ``wanted`` terms of the question (found by ``terms_of``) and the answer ``kind``
    they ask for; ``weights`` are those of the terms' share and of the figure asked for (counted twice for a figure of
    what the question counts, ``counted``)."""
    lexical, figure = weights
    total = sum(idf[t] for t in wanted)
    if total <= 0:
        return cosines
    terms_of = terms_of or _terms_of
    shares = [sum(idf[t] for t in terms_of(text).intersection(wanted)) / total for text in texts]
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
    found = [term for term, _, _ in _spans_of(sentence)[1]]
    return any(term == counted and i > 0 and _is_count(found[i - 1]) for i, term in enumerate(found))


def _is_count(term: str) -> bool:
    return term in _NUMBER_TERMS or term == "one" or _FIGURE.search(term) is not None


def _completed(
    first: int, last: int, texts: list[str], cosines: np.ndarray, scores: np.ndarray, idf: dict[str, float], kind: str | None,
    parts: Sequence[Part], weights: tuple[float, float],
) -> tuple[int, int]:
    """The sentences ``first``..``last`` widened to those around them that complete the answer (``scores`` are the
    sentences' scores for the whole question).

    A part of the question is answered when the span states the kind of answer it wants and, for a question of
    several parts, holds the part's own best sentence. An unanswered part brings in its best sentence among those
    that keep the span within MAX_SENTENCES and supply what the span lacks: one of the part's terms, or the kind it
    wants in running text that goes on about the part (a sentence of prose holding one of its terms, next to prose or
    to a list item, whose prose goes on after its first sentence: the next item or a row of a table is another
    statement). For a question of one part only the kind counts, and only a next or previous sentence.
    """
    asked = idf.keys()
    several = len(parts) > 1
    for part in parts if several else (Part(frozenset(asked), kind),):
        inside = range(first, last + 1)
        lacks_kind = part.answer_kind is not None and not any(states(part.answer_kind, texts[i], asked) for i in inside)
        part_scores = _scores(cosines, texts, idf, part.terms & asked, part.answer_kind, weights) if several else None
        if not lacks_kind and (part_scores is None or int(np.argmax(part_scores)) in inside):
            continue
        own = part.terms & asked
        lacking = own.difference(*(_terms_of(texts[i]) for i in inside)) if several else frozenset()
        runs_on = lacks_kind and not any(texts[i].startswith("|") for i in inside)  # a table row is a statement of its own
        width = MAX_SENTENCES if several else len(inside) + 1
        reach = [i for i in range(max(0, last - width + 1), min(len(texts), first + width)) if i not in inside]
        useful = [i for i in reach if not lacking.isdisjoint(_terms_of(texts[i])) or (
            runs_on and _is_prose(texts[i]) and not own.isdisjoint(_terms_of(texts[i])) and states(part.answer_kind, texts[i], asked))]
        if useful:
            ranking = part_scores if part_scores is not None else scores
            pick = max(useful, key=lambda i: ranking[i])
            first, last = min(first, pick), max(last, pick)
    return first, last


def _adds_terms(span: frozenset[str], after: frozenset[str], idf: dict[str, float]) -> float:
    """The share of the question's term weight (``idf``) that the sentence ``after`` holds and the ``span`` does not."""
    total = sum(idf.values())
    return sum(idf[t] for t in after - span if t in idf) / total if total > 0 else 0.0


def _names_more(said: frozenset[str], after: str, after_terms: frozenset[str], named: Sequence[frozenset[str]]) -> bool:
    """Whether the sentence of prose ``after`` the answer (its terms ``after_terms``) names a name or year of the
    question that the answer (its terms ``said``) does not ("… 横琴方案 …。目标是到2035年，…" asked about 2035)."""
    return _is_prose(after) and any(name and not name <= said and name <= after_terms for name in named)


def _announces_items(sentence: str, after: str) -> bool:
    """Whether ``sentence`` announces a number of things ("The plan assigns the bay area five strategic positions.")
    that the sentence ``after`` it begins to list: the list is the answer."""
    return _ANNOUNCES.search(sentence) is not None and (_LIST_ITEM.match(after) is not None or _OPENS_LIST.match(after) is not None)


def _with_cause(texts: list[str], first: int, last: int) -> tuple[int, int]:
    """The span of a "why" question's answer, widened to the next (else the previous) sentence of prose when that
    one gives a reason and the span gives none ("… it lacks venture capital. This is perhaps caused by …")."""
    if last - first + 1 >= MAX_SENTENCES or any(_CAUSE.search(texts[i]) for i in range(first, last + 1)):
        return first, last
    for i in (last + 1, first - 1):
        if 0 <= i < len(texts) and _is_prose(texts[i]) and _CAUSE.search(texts[i]):
            return min(first, i), max(last, i)
    return first, last


def _goes_on_to_name(span: list[str], after: str, named: Sequence[frozenset[str]], kind: str, asked: Collection[str]) -> bool:
    """Whether the sentence ``after`` the answer so far carries it on to a name the question asks about that the answer
    does not mention, with the kind of answer asked for ("… 1% of the GDP for Hong Kong. Although this is …, 4.55% for
    South Korea …")."""
    said = frozenset().union(*map(_terms_of, span))
    unnamed = [name for name in named if name and name.isdisjoint(said)]
    return bool(unnamed) and _REFERS_BACK.match(_CONNECTIVE.sub("", after)) is not None and any(
        name <= _terms_of(after) for name in unnamed) and states(kind, after, frozenset(asked))


def _quote_opened(texts: list[str], at: int, reach: int) -> int:
    """The sentence that opens a quotation ``texts[at]`` lies inside, within ``reach`` sentences before it: who said it
    is named there ("彭澎估计，…：「…。" before "我相信横琴也会…。」"); else ``at``."""
    balance = 0
    for i in range(at - 1, max(-1, at - 1 - reach), -1):
        balance += sum(map(texts[i].count, _QUOTE_OPENS)) - sum(map(texts[i].count, _QUOTE_CLOSES))
        if balance > 0:
            return i
    return at


def _refers_back(sentence: str, before: str) -> bool:
    """Whether ``sentence`` opens by pointing back, with a pronoun or "these", or by naming again ("The company …")
    what ``before`` introduced ("… with a leading European aeronautic services company")."""
    if _REFERS_BACK.match(sentence):
        return True
    named = _NAMED_AGAIN.match(sentence)
    return named is not None and re.search(rf"\ban?\s+(?:[\w-]+\s+){{0,4}}?{named.group(1)}\b", before, re.IGNORECASE) is not None


def _is_prose(sentence: str) -> bool:
    """Whether a sentence is running text, not an item of a list or a row of a table."""
    return _LIST_ITEM.match(sentence) is None and not sentence.startswith("|")


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
def _english_terms_of(sentence: str) -> frozenset[str]:
    """The search terms of a Chinese sentence read by an English question: those of its dictionary English
    (bayqa.translate), and its own (its figures; its character pairs, which a romanised name reads back to)."""
    return frozenset(terms(english_text(sentence))) | _terms_of(sentence)


@lru_cache(maxsize=65_536)
def _date_terms_of(sentence: str) -> frozenset[str]:
    """The search terms of the dates a sentence holds ("2027", "decemb", "9"), to compare with the question's."""
    return frozenset(t for m in _DATE.finditer(half_width(sentence)) for t in terms(m.group()) if t not in _DATE_PARTS)


@lru_cache(maxsize=65_536)
def _figures_of(sentence: str) -> frozenset[str]:
    """The terms of a sentence that state a figure (digits or number words), leaving out those of its dates and of the
    labels of figures, tables and chapters."""
    read = _LABEL.sub(lambda m: " " * len(m.group()), half_width(sentence))  # as long as before: terms keep their places
    return frozenset(t for t in _terms_of(read) - _date_terms_of(read) if t in _NUMBER_TERMS or _FIGURE.search(t))


@lru_cache(maxsize=65_536)
def _chinese_figures_of(sentence: str) -> tuple[tuple[frozenset[str], str], ...]:
    """The figures a sentence writes in Chinese numerals: each one's terms and what it counts."""
    if not _CJK_NUMERAL.search(sentence):
        return ()
    return tuple((frozenset(terms(m.group())), m.group(1)) for m in _CHINESE_FIGURE.finditer(simplified(sentence)))


def _counts_asked(unit: str, question_terms: frozenset[str]) -> bool:
    """Whether the question names what a Chinese figure counts (its measure word inside one of its terms)."""
    return any(unit in t for t in question_terms) or unit in _TIME_UNITS and "时间" in question_terms
