"""Splitting text into sentences and into search terms, for English and Chinese alike.

Pure functions, shared by the keyword index, answer highlighting and the confidence signal.

Search terms are what BM25 counts, so the same function runs on passages and on questions:
- English words are lower-cased, stop words dropped, and stemmed with the Snowball stemmer
  ("approved" and "approval" meet at "approv");
- figures stay whole and lose their thousands separators ("56,000" → "56000", "14.92" stays "14.92"),
  and codes that mix letters and digits stay one term ("LL7999", "km²", "5G"), while a footnote marker
  glued to a word is dropped from the word's term ("hectares4" → "hectar"), the whole kept as a code beside it
  ("beta1" → "beta", "beta1"), since a name such as a gene's looks the same;
- runs of Chinese characters become overlapping character bigrams ("河套合作区" → 河套 套合 合作 作区),
  the usual dictionary-free way to index Chinese: a question and a passage share a bigram exactly when
  they share a two-character word, whatever the word segmentation would have been; particles and
  question words ("的", "多少") split a run the way stop words drop out of English.

``term_spans`` also says which characters each term was made of, so that a page can mark the words that matched.
"""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

# A sentence ends at . ! ? followed by space and not by a digit or a lower-case letter (so "No. 58" and
# "e.g. the" stay whole), at a Chinese full stop, or at a line break.
# A stop after an abbreviation that never ends a sentence ("(i.e. $260,000)", "Prof. Yeung") does not split it.
_NOT_AN_END = "".join(rf"(?<!\b{a})" for a in (r"i\.e\.", r"e\.g\.", r"Mr\.", r"Mrs\.", r"Ms\.", r"Dr\.", r"Prof\.", r"vs\.", r"cf\."))
_SENTENCE_END = re.compile(rf"(?<=[.!?]){_NOT_AN_END}[\"”’)\]]*\s+(?![a-z0-9])|(?<=[。！？；])[”’」』）]*|\n+")
_CJK_CLASS = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# A figure (digits with decimal or thousands separators), a run of Chinese, or a word/code of letters and digits.
_TOKEN = re.compile(rf"\d+(?:[.,]\d+)*(?!(?![{_CJK_CLASS}])[^\W_])|[{_CJK_CLASS}]+|(?:(?![{_CJK_CLASS}])[^\W_])+(?:['’](?:(?![{_CJK_CLASS}])[^\W_])+)?")
# A list enumerator standing alone ("2." of "2. Ma Xingrui, then Governor"): it belongs to what follows.
_ENUMERATOR = re.compile(r"\(?(?:\d{1,3}|[a-z]|[ivx]{1,4})[.)]", re.IGNORECASE)
_SECTION_NUMBER = re.compile(r"\d{1,2}(?:\.\d{1,2}){1,3}\.?")  # "2.9", "3.1.2": before a capitalised heading
# A footnote marker glued to a word's end ("210 hectares4", "BUD Fund21"): up to three digits after three
# lower-case letters. Codes keep their digits: they end in capitals or a short run of letters ("LL7999", "IPv6",
# "G20") or start with a digit ("5G"), and "km²" has two letters.
_FOOTNOTE = re.compile(r"(?<=[a-z]{3})(?:\d{1,3}|[\u00b9\u00b2\u00b3\u2070\u2074-\u2079]{1,3})(?![^\W_])")
_DIGIT = re.compile(r"\d")
_CJK_CHAR = re.compile(f"[{_CJK_CLASS}]")
_LETTER_OR_CJK = re.compile(r"[^\W\d_]")

STOPWORDS = frozenset(
    """a an and are as at be been by can could did do does for from had has have how i if in into is it its
    of on or that the their them there these they this to was were what when where which who whom whose why will
    with would about after before between both during each more most other over same some such than then through
    under until very we you your our us any all also nor only own so too just""".split()
)


# Chinese counterparts of the stopwords: particles and question words ("的", "是", "多少", "什么时候") split a run
# of characters like spaces, so that neither they nor the bigrams across them ("是多", "候开") become terms.
# Captured, so that splitting a run keeps them: their lengths place the pieces between them.
_CJK_STOP = re.compile(r"(有?多[少大长久高远]|时候|怎么|如何|为何|[的是了吗呢么什哪谁几吧])")


#: Bump when terms change for the same text: an index counted with other terms is recounted by the next build.
TERMS_VERSION = 3
# Full-width digits and letters, which Chinese input methods type and some Chinese documents print, with the signs
# of figures (＄, ％, ．); not the Chinese punctuation in the same block (，？！；：), which splits clauses.
_HALF_WIDTH = {code: code - 0xFEE0 for code in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B), 0xFF04, 0xFF05, 0xFF0E)}


@lru_cache(maxsize=1)
def _to_simplified():  # noqa: ANN202 - OpenCC's converter object
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=65536)
def simplified(run: str) -> str:
    """A run of Chinese characters in Simplified script, character for character, so that Simplified and Traditional
    text share their terms and every offset stays put (a phrase OpenCC would rewrite to another length is converted
    one character at a time instead)."""
    converter = _to_simplified()
    whole = converter.convert(run)
    if len(whole) == len(run):
        return whole
    return "".join(c if len(s := converter.convert(c)) != 1 else s for c in run)


def _cjk_terms(run: str, offset: int, places: tuple[list[int], list[int]] | None) -> list[str]:
    """The terms of a run of Chinese characters, in Simplified script: the bigrams of each piece between particles, or
    the piece itself when it is one character. With ``places``, the start and end of each (the run starting at
    ``offset``) are added."""
    out: list[str] = []
    parts = _CJK_STOP.split(simplified(run))  # piece, particle, piece, ..., piece
    for i in range(0, len(parts), 2):
        piece = parts[i]
        found = [piece] if len(piece) == 1 else [piece[j : j + 2] for j in range(len(piece) - 1)]
        out.extend(found)
        if places is not None:
            width = min(len(piece), 2)
            places[0].extend(range(offset, offset + len(found)))
            places[1].extend(range(offset + width, offset + width + len(found)))
            offset += len(piece) + (len(parts[i + 1]) if i + 1 < len(parts) else 0)
    return out


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def word_terms(words: list[str]) -> list[str]:
    """The search terms of lower-case words of letters alone, in one call to the stemmer (a stop word's is its stem
    too, though no passage is counted with it)."""
    return _stemmer().stemWords(words)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``text``, whitespace trimmed, empty ones dropped.

    A list item's enumerator ("1.", "b)", "iv.") stays with the item's text instead of being a sentence.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        _append_trimmed(spans, text, start, match.start() if match.group().isspace() else match.end())
        start = match.end()
    _append_trimmed(spans, text, start, len(text))
    merged: list[tuple[int, int]] = []
    for span in spans:
        if merged and _ENUMERATOR.fullmatch(text, *merged[-1]) and "\n" not in text[merged[-1][1] : span[0]]:
            span = (merged.pop()[0], span[1])
        merged.append(span)
    return merged


def without_enumerator(sentence: str) -> str:
    """The sentence without a leading list enumerator ("5. The bridge…" → "The bridge…") or section number ("2.9
    Challenges for Switzerland"): its number is no figure."""
    head, _, rest = sentence.partition(" ")
    if rest and (_ENUMERATOR.fullmatch(head) or _SECTION_NUMBER.fullmatch(head) and rest[:1].isupper()):
        return rest
    return sentence


def _append_trimmed(spans: list[tuple[int, int]], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


def half_width(text: str) -> str:
    """``text`` with full-width digits, letters and figure signs as their ASCII forms ("２０３５" is "2035", "ＧＤＰ" is
    "GDP"), character for character, so offsets stay."""
    return text.translate(_HALF_WIDTH)


def terms(text: str) -> list[str]:
    """The search terms of ``text`` (repeats kept, as BM25 counts them): in order, then the glued codes."""
    text = half_width(text)
    return _scan(_without_footnotes(text).lower(), None) + [code for code, _, _ in _glued_codes(text)]


def term_spans(text: str) -> list[tuple[str, int, int]]:
    """Each search term of ``text`` in order, with the (start, end) in ``text`` of the characters it was made of: the
    whole word, figure or code, or the one or two Chinese characters."""
    text = half_width(text)
    glued = _glued_codes(text)
    text = _without_footnotes(text)
    lowered = text.lower()
    starts: list[int] = []
    ends: list[int] = []
    found = _scan(lowered, (starts, ends))
    if len(lowered) != len(text):  # a few letters lower-case to two characters ("İ" to "i̇"): back to offsets in text
        origin = [i for i, c in enumerate(text) for _ in c.lower()]
        starts, ends = [origin[i] for i in starts], [origin[i - 1] + 1 for i in ends]
    return sorted([*zip(found, starts, ends), *glued], key=lambda t: (t[1], -t[2]))


def _glued_codes(text: str) -> list[tuple[str, int, int]]:
    """Each word with ASCII digits glued on that ``_without_footnotes`` cuts ("Fund21", "beta1"), whole and
    lower-cased, with its (start, end): a footnote marker and a name's number cannot be told apart."""
    out = []
    for marker in _FOOTNOTE.finditer(text):
        if marker.group().isascii():
            start = marker.start()
            while start and text[start - 1].isalpha() and text[start - 1].isascii():
                start -= 1
            out.append((text[start : marker.end()].lower(), start, marker.end()))
    return out


def _without_footnotes(text: str) -> str:
    """``text`` with footnote markers made spaces, so that every other character keeps its offset."""
    return _FOOTNOTE.sub(lambda m: " " * len(m.group()), text)


def _scan(lowered: str, places: tuple[list[int], list[int]] | None) -> list[str]:
    """The terms of lower-cased text; with ``places``, the start and end of the characters of each are added to it."""
    out: list[str] = []
    words: list[str] = []
    start = end = 0
    for token in _TOKEN.findall(lowered):
        if places is not None:  # tokens start with a letter or digit and none lies between two: find lands on this one
            start = lowered.find(token, end)
            end = start + len(token)
        first = token[0]
        if "\u3400" <= first <= "\ufaff":
            out.extend(_cjk_terms(token, start, places))
            continue
        if first.isdigit() and not _has_letter(token):
            out.append(token.replace(",", "").rstrip("."))
        elif token not in STOPWORDS:
            token = token.replace("’", "'")
            if _DIGIT.search(token):
                out.append(token)  # a code such as ll7999: never stemmed
            else:
                words.append(token)
                out.append("\0")  # placeholder, filled with the stem below so the order is kept
        else:
            continue
        if places is not None:
            places[0].append(start)
            places[1].append(end)
    if words:
        stems = iter(_stemmer().stemWords(words))
        out = [next(stems) if t == "\0" else t for t in out]
    return out


def is_mostly_chinese(text: str) -> bool:
    """Whether most of the letters of ``text`` are Chinese characters."""
    letters = len(_LETTER_OR_CJK.findall(text))
    return letters > 0 and 2 * len(_CJK_CHAR.findall(text)) > letters


def _has_letter(token: str) -> bool:
    return any(c.isalpha() for c in token)
