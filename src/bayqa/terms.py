"""Splitting text into sentences and into search terms, for English and Chinese alike.

Pure functions, shared by answer highlighting and keyword matching.
"""

from __future__ import annotations

import re

# A sentence ends at . ! ? (followed by space), at a Chinese full stop, or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)\]]*\s+|(?<=[。！？；])[”’」』）]*|\n+")
_WORD = re.compile(r"[0-9]+(?:[.,][0-9]+)*|[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

STOPWORDS = frozenset(
    """a an and are as at be been by can could did do does for from had has have how i if in into is it its
    of on or that the their them there these they this to was were what when where which who whom whose why will
    with would about after before between both during each more most other over same some such than then through
    under until very we you your our us any all also not no nor only own so too just""".split()
)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``text``, whitespace trimmed, empty ones dropped."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        _append_trimmed(spans, text, start, match.start() if match.group().isspace() else match.end())
        start = match.end()
    _append_trimmed(spans, text, start, len(text))
    return spans


def _append_trimmed(spans: list[tuple[int, int]], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


def terms(text: str) -> list[str]:
    """Lower-case content words and numbers; Chinese runs become overlapping character bigrams."""
    out: list[str] = []
    for word in _WORD.findall(text.lower()):
        if _CJK.match(word):
            out.extend(_cjk_bigrams(word))
        elif word not in STOPWORDS:
            out.append(word.replace(",", ""))
    return out


def _cjk_bigrams(run: str) -> list[str]:
    """Split a mixed run so Chinese characters pair up and any Latin letters stay whole."""
    out: list[str] = []
    for part in re.findall(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[^\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+", run):
        if _CJK.match(part):
            out.extend([part] if len(part) == 1 else [part[i : i + 2] for i in range(len(part) - 1)])
        elif part not in STOPWORDS:
            out.append(part)
    return out
