"""The names a question asks about, and whether the passages found for it mention them.

A question about a place or body the documents know of, none of whose best passages mention it ("What was Macao's
recycling rate …?" answered with Hong Kong's, "南沙有多少家…" answered about Hetao), asks about something the
documents do not cover for that subject: the search found the subject, not the place. Such a question is flagged
"not found" (``confidence.missing`` "name") when most of its names go unmentioned (the searcher decides: one name of
two may be the region around the answer).

A name is, in English, a run of capitalised words that does not open the question and is not an acronym (acronyms
are spelt out as often as not), joined by at most one "and" or "of" ("Belt and Road", "Bank of China"); in Chinese,
a dictionary word known only as a proper name (bayqa.translate.chinese_names). A name of several words is mentioned
when one of its words is (the passages say "the Paper", "Dennis Lo" is "Professor Lo"). A name the documents never
use, in any form, is left alone (they may call the thing otherwise: "Hongkongers", "Lusophone"; the confidence
score's coverage catches a question about what they never name), unless the dictionary knows it as a proper name
(东京湾 "Tokyo Bay", 海南, "Shanghai"): documents that never name such a place do not cover it. Likewise a code
the question names ("O·PARK3") that no passage holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from bayqa.terms import is_mostly_chinese, simplified, terms
from bayqa.translate import chinese_names, english_text, is_proper_name

_WORD = re.compile(r"(?<![\w&])[A-Za-z][A-Za-z'’-]*(?![\w&])|\S")
_JOINING = frozenset({"and", "of"})
_POSSESSIVE = re.compile(r"['’]s$")
_CODE = re.compile(r"[a-z]+\d")  # a search term that starts with letters and goes on with digits
_NOT_A_NAME = frozenset(
    "what when where which who whom whose why how is are was were will did does do the a an in of on for and to".split()
)


def question_names(question: str, chinese: bool) -> tuple[str, ...]:
    """The names ``question`` asks about, once each, in the order they come (``chinese``: whether it is in Chinese)."""
    if chinese:
        return chinese_names(question)
    words = [m.group() for m in _WORD.finditer(question)]
    names: list[str] = []
    current: list[str] = []
    joining: list[str] = []
    for i, word in enumerate(words):
        if i > 0 and len(word) > 1 and word[0].isupper() and not word.isupper() and word.lower() not in _NOT_A_NAME:
            current += joining
            current.append(_POSSESSIVE.sub("", word))
            joining = []
        elif current and not joining and word in _JOINING:
            joining = [word]
        else:
            if current:
                names.append(" ".join(current))
            current, joining = [], []
    if current:
        names.append(" ".join(current))
    return tuple(dict.fromkeys(names))


def unmentioned(
    names: Sequence[str], passages: Sequence[str], known: Callable[[str], bool],
    sounded: Callable[[str], Sequence[str]] = lambda name: (),
) -> tuple[str, ...]:
    """The ``names`` that none of ``passages`` mention, in either language, among those the documents use (every
    search term ``known``, as written, in the dictionary's English or by sound: ``sounded`` gives the search terms of
    a name's spelling in the other language, bayqa.sounds: 横琴 for "Hengqin", "san", "tin" for 新田, which also
    count as mentions); and the proper names the dictionary knows that the documents never use."""
    joined = " ".join(passages)
    lowered = joined.lower()
    # Most names are in the passages as written: a plain search settles those before any text is converted.
    unwritten = [n for n in names if not _written_in(n, joined, lowered)]
    if not unwritten:
        return ()
    spelt = {n: sounded(n) for n in unwritten}  # read once: for a Chinese name it reads passages
    used = {n: _anywhere(n, known, spelt[n]) for n in unwritten}
    unknown = tuple(n for n in unwritten if not used[n] and (is_mostly_chinese(n) or is_proper_name(n)))
    checked = [n for n in unwritten if used[n]]
    if not checked:
        return unknown
    text = simplified(joined)
    found = set(terms(text)) | set(terms(english_text(text)))  # a passage in the other language, in dictionary English
    return unknown + tuple(n for n in checked if not _mentioned(n, text, found) and not _spoken(spelt[n], found))


def unknown_codes(question_terms: Sequence[str], known: Callable[[str], bool]) -> tuple[str, ...]:
    """The codes of a question ("park3" of O·PARK3, "ll7999", "a380": letters, then digits) that no passage holds.
    A code names one thing exactly; documents that never write it do not cover it."""
    return tuple(t for t in dict.fromkeys(question_terms) if _CODE.match(t) and not known(t))


def _anywhere(name: str, known: Callable[[str], bool], spelt: Sequence[str]) -> bool:
    """Whether the documents use a name at all: as written, in its dictionary English or by its sound (``spelt``)."""
    return _used(terms(name), known) or _used(terms(english_text(name)), known) or _used(spelt, known)


def _used(name_terms: Sequence[str], known: Callable[[str], bool]) -> bool:
    return bool(name_terms) and all(known(t) for t in name_terms)


def _spoken(spelling: Sequence[str], found: set[str]) -> bool:
    return bool(spelling) and found.issuperset(spelling)


def _written_in(name: str, text: str, lowered: str) -> bool:
    if is_mostly_chinese(name):
        return name in text
    # A word of the name at the start of a word of the text ("Macao" in "Macao's"), as the full check would find it.
    return any(re.search(rf"(?<!\w){re.escape(word.lower())}", lowered) for word in name.split() if word not in _JOINING)


def _mentioned(name: str, text: str, found: set[str]) -> bool:
    if is_mostly_chinese(name):
        english = terms(english_text(name))
        return name in text or bool(english) and set(english) <= found
    return not found.isdisjoint(terms(name))
