"""How far an answer reads on: from its best sentence to the neighbours that complete it, one to three sentences in
all (bayqa.highlight says the rules in words). Pure functions over a passage's sentences.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from itertools import takewhile

import numpy as np

from bayqa.asking import Part
from bayqa.statements import scored, states, terms_of

# An answer is one to three consecutive sentences: the best one and the neighbours that complete it.
MAX_SENTENCES = 3
# A question that wants no date, figure or amount reads on into the next sentence when that holds question terms the
# best one lacks, weighing at least this share of the question's (by IDF). Chosen on the read question sets among
# 0.05, 0.1, 0.2, 0.3 and 0.5 (docs/experiments.md).
RUNS_ON_SHARE = 0.1

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


def widen(
    best: int, texts: list[str], cosines: np.ndarray, scores: np.ndarray, idf: dict[str, float], kind: str | None,
    parts: Sequence[Part], weights: tuple[float, float], read: Callable[[str], frozenset[str]],
    named: Sequence[frozenset[str]] = (), why: bool = False,
) -> tuple[int, int, int]:
    """The best sentence (``best``, or the best item of the list it introduces) and the first and last sentences of
    the answer around it. ``scores`` are the sentences' scores for the question (bayqa.statements.scored) and ``read``
    gives a sentence's terms as they were scored; the rest is as bayqa.highlight.best_sentence takes it."""
    first = last = best
    if texts[best].rstrip().endswith((":", "：")):
        items = _items_after(texts, best)
        if items:
            best = first = last = max(items, key=lambda i: scores[i])
        elif best + 1 < len(texts):
            last = best + 1
    if first > 0 and _is_prose(texts[first]) and _refers_back(texts[first], texts[first - 1]):
        first -= 1  # "These three economies were chosen …": what it refers to is in the sentence before
    first = _quote_opened(texts, first, MAX_SENTENCES - (last - first + 1))
    if kind is not None or len(parts) > 1:
        first, last = _completed(first, last, texts, cosines, scores, idf, kind, parts, weights)
    if kind is not None and not parts and last + 1 < len(texts) and last - first + 1 < MAX_SENTENCES:
        last += _goes_on_to_name(texts[first : last + 1], texts[last + 1], named, kind, idf.keys())
    if kind is None and len(parts) < 2 and first == last and last + 1 < len(texts):
        said, after = read(texts[last]), read(texts[last + 1])
        last += _names_more(said, texts[last + 1], after, named) or _adds_terms(said, after, idf) >= RUNS_ON_SHARE
    if last + 1 < len(texts) and last - first + 1 < MAX_SENTENCES and _announces_items(texts[last], texts[last + 1]):
        last += 1
    if why:
        first, last = _with_cause(texts, first, last)
    return best, first, last


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
        part_scores = scored(cosines, texts, idf, part.terms & asked, part.answer_kind, weights) if several else None
        if not lacks_kind and (part_scores is None or int(np.argmax(part_scores)) in inside):
            continue
        own = part.terms & asked
        lacking = own.difference(*(terms_of(texts[i]) for i in inside)) if several else frozenset()
        runs_on = lacks_kind and not any(texts[i].startswith("|") for i in inside)  # a table row is a statement of its own
        width = MAX_SENTENCES if several else len(inside) + 1
        reach = [i for i in range(max(0, last - width + 1), min(len(texts), first + width)) if i not in inside]
        useful = [i for i in reach if not lacking.isdisjoint(terms_of(texts[i])) or (
            runs_on and _is_prose(texts[i]) and not own.isdisjoint(terms_of(texts[i])) and states(part.answer_kind, texts[i], asked))]
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
    said = frozenset().union(*map(terms_of, span))
    unnamed = [name for name in named if name and name.isdisjoint(said)]
    return bool(unnamed) and _REFERS_BACK.match(_CONNECTIVE.sub("", after)) is not None and any(
        name <= terms_of(after) for name in unnamed) and states(kind, after, frozenset(asked))


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


