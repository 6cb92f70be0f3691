"""Rebuilding paragraphs from hard-wrapped text: a line break inside a paragraph becomes a space.

Text converted from PDF, or written to a fixed width, breaks its lines at the margin, and bayqa reads a line
break as the end of a sentence; so before passages and sentences are made, those breaks are undone. Each block
(the lines between blank lines) is judged on its own: it is hard-wrapped when most of its lines reach about the
same margin, so text written with one paragraph per line is left as it is. Inside a hard-wrapped block a line
runs on into the next unless it ends a sentence, stops well short of the margin (the next word would have fit),
or one of the two is structure: a heading, a list item, a table row, a fenced code line.

Joining puts a space between the lines, or nothing between two Chinese characters. A word hyphenated at the
line end is joined only when the joined word is a word of the document: it occurs elsewhere, or a part is not a
word on its own ("recom-/mendation"); "Hong Kong-/Shenzhen" and "cost-/effective" keep their hyphen. A lone
list marker ("38.", "-") joins the line it introduces, and a bare page number inside a sentence is dropped.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bayqa.terms import is_mostly_chinese

# Characters two columns wide: Chinese, Japanese and Korean scripts and the full-width punctuation used with them.
_WIDE = re.compile(r"[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3"
                   r"\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]")
_CHINESE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")
_BLANK = re.compile(r"\n(?:[ \t]*\n)+")
_BREAK = re.compile(r"[ \t]*\n\s*")
_FENCED = re.compile(r"^ {0,3}(```|~~~).*?(?:^ {0,3}\1[^\n]*$|\Z)", re.MULTILINE | re.DOTALL)

# Lines that stand on their own: in Markdown a heading, a rule (or a setext heading's underline), a quote or an
# HTML tag; anywhere a list item or its marker alone, a table row, a page number.
_MARKDOWN_LINE = re.compile(r" {0,3}(?:#{1,6}(?:[ \t]|$)|(?:[-=_*][ \t]*){3,}$|>)|\s*</?[A-Za-z][\w-]*(?:\s[^>]*)?/?>")
# "o" before a capital is a bullet glyph of a symbol font that a PDF's text gives as the letter.
_MARKER = r"(?:[-*+•▪◦·]|o(?=[ \t]+[A-Z])|\(?\d{1,3}[.)]|[a-z][.)]|\([A-Za-z]\)|\(?[ivxIVX]{1,4}[.)]|\([ivxIVX]{1,4}\))"
_ITEM = re.compile(rf"\s*{_MARKER}\s+\S")
_MARKER_ONLY = re.compile(rf"\s*{_MARKER}\s*$")
_NUMBER_ONLY = re.compile(r"\s*(?:[-–—]\s*)?\d{1,4}(?:\s*[-–—]\s*\d{1,4})?(?:\s*[-–—])?\s*$")
# A gap between table cells: two or more spaces (or a tab) after anything but the end of a sentence or clause.
_CELL_GAP = re.compile(r"(?<=[^\s.!?;:,\"”’)])(?: {2,}|\t+)(?=\S)")

MIN_WIDTH = 40  # columns: a margin narrower than this is a list of short lines, not wrapped prose
FULL = 0.85  # a line reaching this share of the margin with the next word is full (proportional fonts vary)

# How lines end and begin.
# A sentence end, perhaps with a footnote marker ("banks.24") or a short tag ("… in 2026. (SB)") after it.
_TERMINAL = re.compile(r"(?:[.!?。！？…][\"'”’)\]」』）*_]*|(?<=[^\W\d_][.!?])\d{1,3})(?:\s*\([^()\s]{1,12}\))?$")
_HYPHEN_END = re.compile(r"([A-Za-z]+)-$")
_SENTENCE_GOES_ON = re.compile(r"\s*[a-z\u3400-\u4dbf\u4e00-\u9fff]")  # a line that does not start one


_WORD = re.compile(r"[A-Za-z]+")
_COMPOUND = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)+")
_LOWER_WORD = re.compile(r"[a-z][a-z]")
_LINE_END_HYPHEN = re.compile(r"[A-Za-z]+-[ \t]*\n[ \t]*[A-Za-z]+")


@dataclass(frozen=True)
class Vocabulary:
    """The words of a document (lower-cased) and its hyphenated compounds, read without its line-end hyphens."""

    words: Counter[str]
    compounds: frozenset[str]

    @classmethod
    def of(cls, text: str) -> Vocabulary:
        text = _LINE_END_HYPHEN.sub(" ", text)  # the pieces of a split word are no evidence about it
        return cls(Counter(w.lower() for w in _WORD.findall(text)),
                   frozenset(c.lower() for c in _COMPOUND.findall(text)))


def width(line: str) -> int:
    """Columns the line takes in a fixed-width font: Chinese characters count two."""
    return len(line) + len(_WIDE.findall(line))


def rebuild(text: str, markdown: bool = False, wrapped: bool | None = None, vocabulary: Vocabulary | None = None) -> str:
    """``text`` with its hard-wrapped paragraphs made whole; blocks that do not look hard-wrapped stay as they are.

    ``markdown`` keeps Markdown's own line structure (trailing-space line breaks, fenced code, HTML lines).
    ``wrapped=True`` treats every block as hard-wrapped (a PDF page's text always is); ``None`` decides per block.
    ``vocabulary`` decides line-end hyphens; by default it is read from ``text`` itself.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    vocabulary = vocabulary or Vocabulary.of(text)
    blocks = _blocks(text, markdown)
    measured = [_margin(b, markdown) if isinstance(b, list) else None for b in blocks]
    own = [m if m and _looks_wrapped(b, m, markdown) else None for b, m in zip(blocks, measured)]
    # A block that cannot be judged alone is wrapped at the margin of the document's clearly wrapped blocks, if
    # its lines keep within it.
    margins = sorted(m for m in own if m)
    common = margins[len(margins) // 2] if margins else None
    out: list[str] = []
    for block, mine, guess in zip(blocks, own, measured):
        if isinstance(block, str):
            out.append(block)
            continue
        margin = mine
        if margin is None and common and _fits(block, common, markdown):
            margin = common
        if wrapped is not None:
            margin = (margin or guess or common) if wrapped else None
        block = _rebuild_block(block, margin, markdown, vocabulary) if margin else _join_markers(block, markdown)
        out.append("\n".join(block))
    return "".join(out)


def unwrap(text: str) -> str:
    """``text`` on one line: each line break, with the spaces around it, becomes a space, or nothing between two
    Chinese characters (for text whose line breaks mean nothing, as in HTML)."""
    return _BREAK.sub(lambda m: _joint(text[m.start() - 1 : m.start()], text[m.end() : m.end() + 1], False), text)


def rebuild_pages(pages: Sequence[str]) -> list[str]:
    """Each page's text with its paragraphs made whole, hyphens decided by the words of all pages (for a PDF)."""
    vocabulary = Vocabulary.of("\n".join(pages))
    return [rebuild(page, wrapped=True, vocabulary=vocabulary) for page in pages]


def ends_sentence(line: str) -> bool:
    """Whether ``line`` ends a sentence (a full stop, question or exclamation mark, in either script)."""
    return _TERMINAL.search(line.rstrip()) is not None


def continues(before: str, after: str) -> bool:
    """Whether line ``after`` goes on with the sentence line ``before`` leaves open: no sentence end ends ``before``,
    and ``after`` starts in lower case or Chinese, not as a list item (a PDF's page break between them, say)."""
    return (not ends_sentence(before) and _SENTENCE_GOES_ON.match(after) is not None
            and _ITEM.match(after) is None)


def split_fenced(text: str) -> list[tuple[str, bool]]:
    """Markdown text as pieces in order, each with whether it is fenced code (which nothing may reflow or clean)."""
    pieces: list[tuple[str, bool]] = []
    pos = 0
    for fence in _FENCED.finditer(text):
        pieces += [(text[pos : fence.start()], False), (fence.group(), True)]
        pos = fence.end()
    pieces.append((text[pos:], False))
    return pieces


def _blocks(text: str, markdown: bool) -> list[str | list[str]]:
    """Text cut into blocks of lines (lists) and what lies between them, kept as it is (strings): blank lines,
    and in Markdown, fenced code."""
    parts: list[str | list[str]] = []
    for piece, fenced in split_fenced(text) if markdown else [(text, False)]:
        if fenced:
            parts.append(piece)
            continue
        pos = 0
        for gap in _BLANK.finditer(piece):
            parts += [piece[pos : gap.start()].split("\n"), piece[gap.start() : gap.end()]]
            pos = gap.end()
        parts.append(piece[pos:].split("\n"))
    return parts


def _is_structure(line: str, markdown: bool) -> bool:
    """A line that stands on its own: a heading, list item, table row, rule, or Markdown's HTML and quote lines."""
    if _ITEM.match(line) or _MARKER_ONLY.match(line) or "|" in line or len(_CELL_GAP.findall(line)) >= 2:
        return True
    return markdown and bool(_MARKDOWN_LINE.match(line))


def _prose(block: list[str], markdown: bool) -> list[str]:
    """The lines of running text (list items too), whose widths show the margin."""
    return [line for line in block if line.strip() and not _NUMBER_ONLY.match(line)
            and (_ITEM.match(line) or not _is_structure(line, markdown))]


def _margin(block: list[str], markdown: bool) -> int | None:
    """Where the block's lines wrap: a high percentile of its running lines' widths, so one long line is no margin."""
    widths = sorted(width(line.rstrip()) for line in _prose(block, markdown))
    if len(widths) < 3:
        return None
    margin = widths[round(0.8 * (len(widths) - 1))]
    return margin if margin >= MIN_WIDTH else None


def _looks_wrapped(block: list[str], margin: int, markdown: bool) -> bool:
    """A third of the running lines but the last reach the margin (the others end paragraphs and list items)."""
    lines = _prose(block, markdown)[:-1]
    full = sum(width(line.rstrip()) >= 0.75 * margin for line in lines)
    return bool(lines) and 3 * full >= len(lines)


def _fits(block: list[str], margin: int, markdown: bool) -> bool:
    """Whether nearly all running lines keep within the margin (a few may pass it: proportional fonts vary)."""
    lines = _prose(block, markdown)
    return 10 * sum(width(line.rstrip()) > 1.2 * margin for line in lines) <= len(lines)


def _ends_line(line: str, markdown: bool) -> bool:
    """Whether nothing may follow the line on the same line: it ends a sentence, or it is a heading, a table row,
    a page number, or a Markdown line break (two trailing spaces or a backslash)."""
    stripped = line.rstrip()
    if not stripped or markdown and (line.endswith("  ") or line.endswith("\\")):
        return True
    if _MARKER_ONLY.match(stripped):
        return False
    if _is_structure(stripped, markdown) and not _ITEM.match(stripped):
        return True  # a list item may run on into the next line; other structure may not
    return bool(_TERMINAL.search(stripped) or _NUMBER_ONLY.match(stripped))


def _starts_line(line: str, markdown: bool) -> bool:
    """Whether the line must begin a line of its own."""
    return not line.strip() or _is_structure(line, markdown) or bool(_NUMBER_ONLY.match(line))


def _rebuild_block(lines: list[str], margin: int, markdown: bool, vocabulary: Vocabulary) -> list[str]:
    chinese = is_mostly_chinese("".join(lines))
    local = _local_margins(lines, markdown)
    out: list[str] = []
    last = ""  # the last physical line of out[-1], whose width says whether it was full
    widest = 0  # of out[-1]'s lines once it has two: an indented paragraph (a quote, a sub-list) has its own margin
    for i, line in enumerate(lines):
        here = min(margin, widest) if widest else margin
        if i and local[i - 1] >= MIN_WIDTH:
            here = min(here, local[i - 1])
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if out and _NUMBER_ONLY.match(line) and _SENTENCE_GOES_ON.match(following) and _runs_on(last, following, here, markdown):
            continue  # a page number in the middle of a sentence
        if out and (_MARKER_ONLY.match(last) and not _starts_line(line, markdown) or _runs_on(last, line, here, markdown)
                    or _after_abbreviation(last, line, markdown)):
            out[-1] = _join(out[-1], line, chinese, vocabulary)
            widest = max(widest, width(last.rstrip()), width(line.rstrip()))
        else:
            out.append(line)
            widest = 0
        last = line
    return out


def _local_margins(lines: list[str], markdown: bool) -> list[int]:
    """For each line, the margin of the column it stands in when that is narrower than the page's (a table's cells
    dumped one after another), else 0: the widest of three running lines in a row, the line among them, that all
    come near it (a column of wrapped lines; short lines of all lengths are a list)."""
    widths = [0 if _starts_line(line, markdown) else width(line.rstrip()) for line in lines]
    margins = []
    for i in range(len(lines)):
        found = 0
        for first in range(max(0, i - 2), min(i, len(lines) - 3) + 1):
            three = widths[first : first + 3]
            if min(three) >= 0.8 * max(three) > 0:
                found = max(three)
                break
        margins.append(found)
    return margins


def _join_markers(lines: list[str], markdown: bool) -> list[str]:
    """Outside wrapped blocks, only a lone list marker joins the line it introduces."""
    out: list[str] = []
    for line in lines:
        if out and _MARKER_ONLY.match(out[-1]) and not _starts_line(line, markdown):
            out[-1] = _join(out[-1], line, False, None)
        else:
            out.append(line)
    return out


def _runs_on(line: str, following: str, margin: int, markdown: bool) -> bool:
    """Whether ``line`` continues on ``following``: neither is a line of its own, and ``line`` is cut mid-word
    or is full (the first word of ``following`` would not have fit after it)."""
    if _ends_line(line, markdown) or _starts_line(following, markdown):
        return False
    stripped, head = line.rstrip(), following.lstrip()
    if _HYPHEN_END.search(stripped) or stripped.endswith("\u00ad"):
        return True
    first = head[:1] if _WIDE.match(head) else head.split(None, 1)[0]
    return width(stripped) + 1 + width(first) > FULL * margin


def _after_abbreviation(line: str, following: str, markdown: bool) -> bool:
    """Whether ``following`` goes on with the sentence of a line that ends in an abbreviation's full stop ("… identified
    102 U.S." / "cities as having …"): no sentence starts with a word in lower case ("o " is a bullet)."""
    stripped = line.rstrip()
    return (stripped.endswith(".") and _LOWER_WORD.match(following.lstrip()) is not None
            and not _starts_line(following, markdown) and not _is_structure(stripped, markdown))


def _join(left: str, right: str, chinese: bool, vocabulary: Vocabulary | None) -> str:
    left, right = left.rstrip(), right.lstrip()
    if left.endswith("\u00ad"):  # a soft hyphen marks where a word was broken
        return left[:-1] + right
    hyphen = _HYPHEN_END.search(left)
    if hyphen:
        word = _WORD.match(right)
        keep = vocabulary is None or word is None or _keeps_hyphen(hyphen.group(1), word.group(), vocabulary)
        return (left if keep else left[:-1]) + right
    return left + _joint(left[-1], right[0], chinese) + right


def _joint(left: str, right: str, chinese: bool) -> str:
    """What goes between the last character of a line and the first of the next when they are joined."""
    a, b = bool(_CHINESE.match(left)), bool(_CHINESE.match(right))
    return "" if (a and b) or (chinese and (a or b)) else " "


def _keeps_hyphen(first: str, second: str, vocabulary: Vocabulary) -> bool:
    """Whether ``first-`` at a line end and ``second`` on the next line are a hyphenated compound, not a word cut in two."""
    if second[0].isupper():
        return True  # "Hong Kong-Shenzhen": a name after the hyphen
    joined, compound = (first + second).lower(), f"{first}-{second}".lower()
    if vocabulary.words[joined]:
        return False
    if compound in vocabulary.compounds:
        return True
    return bool(vocabulary.words[first.lower()] and vocabulary.words[second.lower()])
