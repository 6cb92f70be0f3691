"""Choosing the sentence of a passage that best answers the question."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from bayqa.terms import sentence_spans, terms


@dataclass(frozen=True)
class Answer:
    """The answering sentence: ``text`` is ``document.text[start:end]``."""

    text: str
    start: int
    end: int
    score: float


def best_sentence(question: str, passage: str, passage_start: int) -> Answer | None:
    """The sentence sharing the most question terms (rarer-in-passage terms count more); None if none share any."""
    wanted = set(terms(question))
    if not wanted:
        return None
    spans = sentence_spans(passage)
    sentence_terms = [set(terms(passage[s:e])) for s, e in spans]
    spread = Counter(t for ts in sentence_terms for t in ts)
    best: tuple[float, int] | None = None
    for i, ts in enumerate(sentence_terms):
        score = sum(1.0 / spread[t] for t in ts & wanted)
        if score > 0 and (best is None or score > best[0]):
            best = (score, i)
    if best is None:
        return None
    start, end = spans[best[1]]
    return Answer(passage[start:end], passage_start + start, passage_start + end, round(best[0] / len(wanted), 4))
