"""What each page of a PDF keeps: pure rules over the lines bayqa.pdf reads (bayqa.pdflayout lays them out).

Running headers and footers (the same text, digits aside, at the top or bottom of many pages), bare page numbers,
chart ticks (lines without a letter) and a chart's small labels, private-use glyphs, a table of contents' entries
and text a page repeats from the page before are dropped; a cover page made only of the running header's text is
the publication's, not this file's, and is dropped too. A page's label is its printed number when the pages carry a
consistent one, else the PDF's own /PageLabels.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from bayqa.paragraphs import ends_sentence

_PRIVATE_USE = re.compile("[\ue000-\uf8ff\x00-\x08\x0b-\x1f\x7f]")
LETTER = re.compile(r"[^\W\d_]")
_FULL_STOP = re.compile(r"(?<=\d)[%)]?[.;。；](?:\s+\d{1,3})?$")  # "2034.", "12%." ending a sentence, a footnote mark after
_FOOTNOTE_MARK = re.compile(r"(?<=[.;。；])\s+\d{1,3}$")
# A table of contents' entry: dot leaders, then the page number ("Executive Summary ........ 3").
_CONTENTS_ENTRY = re.compile(r"(?:\.\s?){5,}\s*\d{1,4}\s*$|(?:…\s?){2,}\s*\d{1,4}\s*$")
_PAGE_NUMBER = re.compile(r"^(?:page\s*)?[-–—(]?\s*(\d{1,4})\s*[-–—)]?$", re.IGNORECASE)
_SPLIT_WORD = re.compile(r"(\w*)\ufffe(\w*)")  # pdfium's mark for a hyphen it took for a line-end break
EDGE = 0.08  # top band of a page where running headers sit, as a share of its height (footers: the bottom 10%)
FOOT = 0.90
RECURRING = 0.4  # share of the pages with text a header recurs on (0.4: alternating left/right headers count)
REPEAT_LINES = 3  # long lines shared with the page before that mark the page as repeating it
CHART_LABEL = 0.8  # on a page with chart ticks, short lines in type this much smaller than the body are its labels


@dataclass(frozen=True)
class Line:
    """A line as read: ``y`` is the top of its glyphs in PDF units up from the page bottom (None when unknown),
    ``size`` its glyph height (0 when unknown)."""

    text: str
    y: float | None
    size: float
    bold: bool


@dataclass(frozen=True)
class Page:
    """A page's lines in the order of its content stream; ``pdf_label`` is its /PageLabels entry, if any."""

    number: int
    height: float
    lines: tuple[Line, ...]
    pdf_label: str | None


@dataclass(frozen=True)
class Kept:
    """What a PDF's pages keep: each page's lines, the body text's type size, each page's printed label (pages with
    one), and the publication's name as a dropped cover page showed it (not a title of this file)."""

    pages: list[list[Line]]
    body: float
    labels: dict[int, str]
    cover_keys: set[str]


def keep(pages: list[Page]) -> Kept:
    """The lines of ``pages`` that are the document's text, with hyphens split at line ends joined."""
    pages = [Page(p.number, p.height, tuple(_cleaned(p.lines)), p.pdf_label) for p in pages]
    running = _running_keys(pages)
    labels = _labels(pages)
    body = body_size([list(p.lines) for p in pages])
    kept = _without_repeats([_kept(p, running, body) for p in pages])
    cover = _cover(kept, running)
    if cover is not None:
        kept[cover] = []
    shown = _cover_keys(pages[cover], running) if cover is not None else set()
    return Kept(_joined_hyphens(kept), body, {page: label for page, label in labels.items() if label is not None}, shown)


def _cleaned(lines: tuple[Line, ...]) -> list[Line]:
    out = []
    for ln in lines:
        text = " ".join(_PRIVATE_USE.sub("", ln.text).split())
        if text:
            out.append(Line(text, ln.y, ln.size, ln.bold))
    return out


def key(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.lower().split()))


def _zone(line: Line, page: Page, index: int) -> str | None:
    """"top" or "bottom" when the line sits in a band where running headers and footers go."""
    if line.y is None or page.height <= 0:
        return "top" if index == 0 else "bottom" if index == len(page.lines) - 1 else None
    down = 1 - line.y / page.height
    return "top" if down < EDGE else "bottom" if down > FOOT else None


def _running_keys(pages: list[Page]) -> set[tuple[str, str]]:
    """(key, zone) of lines that recur at the top or bottom of enough pages: running headers and footers."""
    seen: Counter[tuple[str, str]] = Counter()
    for page in pages:
        seen.update({(key(ln.text), zone) for i, ln in enumerate(page.lines) if (zone := _zone(ln, page, i))})
    with_text = sum(1 for p in pages if p.lines)
    return {k for k, n in seen.items() if n >= 3 and n >= RECURRING * with_text}


def _kept(page: Page, running: set[tuple[str, str]], body: float) -> list[Line]:
    """The page's lines less running headers and footers, lines without a letter (page numbers, axis ticks, percent
    scales, lone bullets, footnote marks) but for a figure that ends the sentence above ("… for completion in" /
    "2034."), the entries of a table of contents (the sections carry the headings; as text they only matched
    questions by their titles), and, on a page with a chart's ticks, the chart's short labels in small type."""
    zones = [_zone(ln, page, i) for i, ln in enumerate(page.lines)]
    bare = [not LETTER.search(ln.text) for ln in page.lines]
    chart = sum(1 for b, z in zip(bare, zones) if b and z is None) >= 2
    kept: list[Line] = []
    for ln, zone, no_letter in zip(page.lines, zones, bare):
        if no_letter:
            if not (zone is None and kept and _ends_sentence_of(kept[-1], ln, body)):
                continue
            ln = Line(_FOOTNOTE_MARK.sub("", ln.text), ln.y, ln.size, ln.bold)
        if (zone is not None and (key(ln.text), zone) in running) or _CONTENTS_ENTRY.search(ln.text):
            continue
        if chart and 0 < ln.size < body * CHART_LABEL and len(ln.text.split()) <= 4 and not ln.text.endswith("."):
            continue
        kept.append(ln)
    return kept


def _ends_sentence_of(before: Line, line: Line, body: float) -> bool:
    """Whether a line without letters, in body type, ends with a full stop the sentence that ``before`` leaves open."""
    in_body_type = body <= 0 or line.size <= 0 or body_type(line, body)
    return in_body_type and _FULL_STOP.search(line.text) is not None and not ends_sentence(before.text)


def _labels(pages: list[Page]) -> dict[int, str | None]:
    """Printed page numbers when most numbered pages carry number = PDF page + one offset; else /PageLabels."""
    printed: dict[int, int] = {}
    for page in pages:
        for i, ln in enumerate(page.lines):
            found = _PAGE_NUMBER.match(ln.text)
            if found and _zone(ln, page, i):
                printed.setdefault(page.number, int(found.group(1)))
    offsets = Counter(n - number for number, n in printed.items())
    if offsets:
        offset, count = offsets.most_common(1)[0]
        if count >= 2 and count * 2 > len(printed):
            matching = [number for number, n in printed.items() if n - number == offset]
            return {p.number: str(p.number + offset) if min(matching) <= p.number <= max(matching) else None for p in pages}
    return {p.number: p.pdf_label for p in pages}


def norm(text: str) -> str:
    return " ".join(re.sub(r"[\W_]+", " ", text.lower()).split())


def _without_repeats(kept: list[list[Line]]) -> list[list[Line]]:
    """Drop the lines a page shares with the page before when they are most of that page's text (a page that draws
    the previous page's text again under its own); a few shared lines (a chart legend, a questionnaire's answer
    scale) stay."""
    out = [kept[0]] if kept else []
    for before, page in zip(kept, kept[1:]):
        previous = {norm(ln.text) for ln in before}
        shared = [ln for ln in page if norm(ln.text) in previous]
        long_lines = sum(1 for ln in shared if len(ln.text) >= 20)
        if long_lines >= REPEAT_LINES and sum(map(len, (ln.text for ln in shared))) * 2 >= sum(len(ln.text) for ln in before):
            page = [ln for ln in page if norm(ln.text) not in previous]
        out.append(page)
    return out


def _cover(kept: list[list[Line]], running: set[tuple[str, str]]) -> int | None:
    """The index of an opening page whose few lines are all running-header text (the publication's cover)."""
    texts = [k for k, _ in running if LETTER.search(k)]
    for index, lines in enumerate(kept[:2]):
        if lines and len(lines) <= 4 and all(any(key(ln.text) in t for t in texts) for ln in lines):
            return index
    return None


def _cover_keys(cover: Page, running: set[tuple[str, str]]) -> set[str]:
    """The running-header texts the cover shows: the publication's name, shared by all its chapters."""
    shown = [key(ln.text) for ln in cover.lines]
    return {k for k, _ in running if any(s in k for s in shown)}


def _joined_hyphens(kept: list[list[Line]]) -> list[list[Line]]:
    """A word split at a line end is joined when the joined word occurs elsewhere in the document; else it keeps
    its hyphen (good-jobs, well-to-do). The word is made whole on the line where it starts: its second part leaves the
    next line, which keeps its own place."""
    vocab = {w.lower() for lines in kept for ln in lines for w in re.findall(r"\w+", ln.text)}

    def join(m: re.Match[str]) -> str:
        whole = m.group(1) + m.group(2)
        return whole if whole.lower() in vocab else f"{m.group(1)}-{m.group(2)}"

    joined: list[list[Line]] = []
    for lines in kept:
        page: list[Line] = []
        carried = ""
        for ln, after in zip(lines, [*lines[1:], None]):
            text = ln.text[len(carried):].lstrip() if carried else ln.text
            carried = ""
            if text.endswith("\ufffe") and after is not None:
                carried = after.text.split(None, 1)[0] if after.text.strip() else ""
                text += carried
            if text.strip():
                page.append(Line(_SPLIT_WORD.sub(join, text), ln.y, ln.size, ln.bold))
        joined.append(page)
    return joined


def body_size(kept: list[list[Line]]) -> float:
    sizes: Counter[float] = Counter()
    for lines in kept:
        for ln in lines:
            if ln.size > 0:
                sizes[round(ln.size * 2) / 2] += len(ln.text)
    return sizes.most_common(1)[0][0] if sizes else 0.0


def body_type(line: Line, body: float) -> bool:
    return body > 0 and abs(line.size - body) <= max(0.5, body * 0.05)
