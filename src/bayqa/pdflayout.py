"""What a PDF's lines mean: pure rules over the lines bayqa.pdf reads, so they can be tested without a PDF.

Running headers and footers (the same text, digits aside, at the top or bottom of many pages), bare page numbers,
chart ticks (lines without a letter), private-use glyphs and text a page repeats from the page before are
dropped; a cover page made only of the running header's text is the publication's, not this file's, and is dropped
too. Sections follow the outline when the PDF has one, else the type: lines larger than the body text, or bold
lines of its size, are headings, one level per type style. A page's label is its printed number when the pages
carry a consistent one, else the PDF's own /PageLabels.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from bayqa.paragraphs import continues, ends_sentence

_PRIVATE_USE = re.compile("[\ue000-\uf8ff\x00-\x08\x0b-\x1f\x7f]")
_LETTER = re.compile(r"[^\W\d_]")
_FULL_STOP = re.compile(r"(?<=\d)[%)]?[.;。；](?:\s+\d{1,3})?$")  # "2034.", "12%." ending a sentence, a footnote mark after
_FOOTNOTE_MARK = re.compile(r"(?<=[.;。；])\s+\d{1,3}$")
# A table of contents' entry: dot leaders, then the page number ("Executive Summary ........ 3").
_CONTENTS_ENTRY = re.compile(r"(?:\.\s?){5,}\s*\d{1,4}\s*$|(?:…\s?){2,}\s*\d{1,4}\s*$")
_PAGE_NUMBER = re.compile(r"^(?:page\s*)?[-–—(]?\s*(\d{1,4})\s*[-–—)]?$", re.IGNORECASE)
_SPLIT_WORD = re.compile(r"(\w*)\ufffe(\w*)")  # pdfium's mark for a hyphen it took for a line-end break
_FILE_NAME = re.compile(r"\.(pdf|docx?|pptx?|xlsx?|indd|rtf|odt|txt|html?|md|tex|wps)$|^(microsoft \w+ - |untitled\b)", re.IGNORECASE)
_NOT_TITLES = {"contents", "table of contents", "foreword", "preface", "abstract", "executive summary", "目錄", "目录"}
EDGE = 0.08  # top band of a page where running headers sit, as a share of its height (footers: the bottom 10%)
FOOT = 0.90
RECURRING = 0.4  # share of the pages with text a header recurs on (0.4: alternating left/right headers count)
REPEAT_LINES = 3  # long lines shared with the page before that mark the page as repeating it
CHART_LABEL = 0.8  # on a page with chart ticks, short lines in type this much smaller than the body are its labels
LARGE = 1.12  # type this much larger than the body text is a heading
TITLE_SIZE = 1.2
CARRIED = 30  # lines of the next page at most that finish a paragraph broken by a page break
PARAGRAPH_GAP = 1.45  # a gap between lines this many times the page's usual line spacing starts a paragraph
MAX_LEVELS = 4


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
class Bookmark:
    """An outline entry (level 1 outermost) pointing at a page, and at a height on it when it says."""

    level: int
    title: str
    page: int
    y: float | None = None


@dataclass(frozen=True)
class Span:
    """A section of the laid-out text, on one page (bayqa.documents makes it a Section)."""

    start: int
    end: int
    headings: tuple[str, ...]
    page: int


@dataclass(frozen=True)
class Laid:
    """A PDF's text as laid out: its sections in text order, its title ("" when none was found), and the label
    of each page that has one (by page number)."""

    text: str
    sections: tuple[Span, ...]
    title: str
    labels: dict[int, str]


@dataclass(frozen=True)
class _Heading:
    page: int
    line: int
    level: int
    title: str
    lines: int  # how many lines from ``line`` on are the heading's own text


def lay_out(pages: list[Page], outline: list[Bookmark], meta_title: str) -> Laid:
    pages = [Page(p.number, p.height, tuple(_cleaned(p.lines)), p.pdf_label) for p in pages]
    running = _running_keys(pages)
    labels = _labels(pages)
    body = _body_size([list(p.lines) for p in pages])
    kept = [_kept(p, running, body) for p in pages]
    kept = _without_repeats(kept)
    cover = _cover(kept, running)
    if cover is not None:
        kept[cover] = []
    kept = _joined_hyphens(kept)
    headings = _outline_headings(outline, kept) if outline else _type_headings(kept, body)
    title = _title(meta_title, kept, body, _cover_keys(pages[cover], running) if cover is not None else set())
    text, sections = _assemble(kept, headings, body)
    return Laid(text, sections, title, {page: label for page, label in labels.items() if label is not None})


def _cleaned(lines: tuple[Line, ...]) -> list[Line]:
    out = []
    for ln in lines:
        text = " ".join(_PRIVATE_USE.sub("", ln.text).split())
        if text:
            out.append(Line(text, ln.y, ln.size, ln.bold))
    return out


def _key(text: str) -> str:
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
        seen.update({(_key(ln.text), zone) for i, ln in enumerate(page.lines) if (zone := _zone(ln, page, i))})
    with_text = sum(1 for p in pages if p.lines)
    return {k for k, n in seen.items() if n >= 3 and n >= RECURRING * with_text}


def _kept(page: Page, running: set[tuple[str, str]], body: float) -> list[Line]:
    """The page's lines less running headers and footers, lines without a letter (page numbers, axis ticks, percent
    scales, lone bullets, footnote marks) but for a figure that ends the sentence above ("… for completion in" /
    "2034."), the entries of a table of contents (the sections carry the headings; as text they only matched
    questions by their titles), and, on a page with a chart's ticks, the chart's short labels in small type."""
    zones = [_zone(ln, page, i) for i, ln in enumerate(page.lines)]
    bare = [not _LETTER.search(ln.text) for ln in page.lines]
    chart = sum(1 for b, z in zip(bare, zones) if b and z is None) >= 2
    kept: list[Line] = []
    for ln, zone, no_letter in zip(page.lines, zones, bare):
        if no_letter:
            if not (zone is None and kept and _ends_sentence_of(kept[-1], ln, body)):
                continue
            ln = Line(_FOOTNOTE_MARK.sub("", ln.text), ln.y, ln.size, ln.bold)
        if (zone is not None and (_key(ln.text), zone) in running) or _CONTENTS_ENTRY.search(ln.text):
            continue
        if chart and 0 < ln.size < body * CHART_LABEL and len(ln.text.split()) <= 4 and not ln.text.endswith("."):
            continue
        kept.append(ln)
    return kept


def _ends_sentence_of(before: Line, line: Line, body: float) -> bool:
    """Whether a line without letters, in body type, ends with a full stop the sentence that ``before`` leaves open."""
    body_type = body <= 0 or line.size <= 0 or _body_type(line, body)
    return body_type and _FULL_STOP.search(line.text) is not None and not ends_sentence(before.text)


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


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[\W_]+", " ", text.lower()).split())


def _without_repeats(kept: list[list[Line]]) -> list[list[Line]]:
    """Drop the lines a page shares with the page before when they are most of that page's text (a page that draws
    the previous page's text again under its own); a few shared lines (a chart legend, a questionnaire's answer
    scale) stay."""
    out = [kept[0]] if kept else []
    for before, page in zip(kept, kept[1:]):
        previous = {_norm(ln.text) for ln in before}
        shared = [ln for ln in page if _norm(ln.text) in previous]
        long_lines = sum(1 for ln in shared if len(ln.text) >= 20)
        if long_lines >= REPEAT_LINES and sum(map(len, (ln.text for ln in shared))) * 2 >= sum(len(ln.text) for ln in before):
            page = [ln for ln in page if _norm(ln.text) not in previous]
        out.append(page)
    return out


def _cover(kept: list[list[Line]], running: set[tuple[str, str]]) -> int | None:
    """The index of an opening page whose few lines are all running-header text (the publication's cover)."""
    texts = [k for k, _ in running if _LETTER.search(k)]
    for index, lines in enumerate(kept[:2]):
        if lines and len(lines) <= 4 and all(any(_key(ln.text) in t for t in texts) for ln in lines):
            return index
    return None


def _cover_keys(cover: Page, running: set[tuple[str, str]]) -> set[str]:
    """The running-header texts the cover shows: the publication's name, shared by all its chapters."""
    shown = [_key(ln.text) for ln in cover.lines]
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


def _body_size(kept: list[list[Line]]) -> float:
    sizes: Counter[float] = Counter()
    for lines in kept:
        for ln in lines:
            if ln.size > 0:
                sizes[round(ln.size * 2) / 2] += len(ln.text)
    return sizes.most_common(1)[0][0] if sizes else 0.0


def _style(line: Line, body: float) -> tuple[float, bool] | None:
    """The type style of a line that looks like a heading, else None."""
    text = line.text
    if body <= 0 or line.size <= 0 or len(text) > 150 or len(text.split()) > 20 or text.endswith((",", ";")):
        return None
    letter = _LETTER.search(text)
    if letter is None or letter.group().islower():
        return None
    size = round(line.size * 2) / 2
    if line.size >= body * LARGE or (line.bold and line.size >= body * 0.95):
        return size, line.bold
    return None


def _type_headings(kept: list[list[Line]], body: float) -> list[_Heading]:
    """Headings from type: consecutive lines of one heading style make one heading; larger styles nest smaller."""
    runs: list[tuple[int, int, int, tuple[float, bool]]] = []  # (page, first line, count, style)
    for p, lines in enumerate(kept):
        for i, ln in enumerate(lines):
            style = _style(ln, body)
            if style is None:
                continue
            if runs and runs[-1][0] == p and runs[-1][1] + runs[-1][2] == i and runs[-1][3] == style:
                runs[-1] = (p, runs[-1][1], runs[-1][2] + 1, style)
            else:
                runs.append((p, i, 1, style))
    order = sorted({style for *_, style in runs}, key=lambda s: (-s[0], not s[1]))
    level = {style: min(n + 1, MAX_LEVELS) for n, style in enumerate(order)}
    return [_Heading(p, i, level[style], " ".join(ln.text for ln in kept[p][i : i + count]), count) for p, i, count, style in runs]


def _outline_headings(outline: list[Bookmark], kept: list[list[Line]]) -> list[_Heading]:
    """Each bookmark starts a section on its page: at the line that reads its title, else at the height it points
    at, else at the top of the page."""
    cursor = [0] * len(kept)
    found = []
    for mark in outline:
        p = mark.page - 1
        if not 0 <= p < len(kept):
            continue
        lines, wanted = kept[p], _norm(mark.title)
        at, count = cursor[p], 0
        for i in range(cursor[p], len(lines)):
            text = _norm(lines[i].text)
            if text and wanted.startswith(text):
                at, count = i, 1
                while at + count < len(lines) and wanted.startswith(f"{text} {_norm(lines[at + count].text)}".strip()):
                    text = f"{text} {_norm(lines[at + count].text)}"
                    count += 1
                break
        else:
            if mark.y is not None:
                at = next((i for i in range(cursor[p], len(lines)) if lines[i].y is not None and lines[i].y <= mark.y + 2), len(lines))
        cursor[p] = at + count
        found.append(_Heading(p, at, mark.level, mark.title, count))
    return sorted(found, key=lambda h: (h.page, h.line))


def _title(meta: str, kept: list[list[Line]], body: float, shared: set[str]) -> str:
    """The metadata title when it is a real one, else the largest type on the first pages, else the first line that
    has words; never the publication's name that a cover page and running headers share (``shared``)."""

    def usable(text: str) -> bool:
        text = " ".join(text.split())
        return (len(_LETTER.findall(text)) >= 2 and not _FILE_NAME.search(text) and _norm(text) not in _NOT_TITLES
                and not any(_key(text) in k for k in shared))

    if usable(meta):
        return " ".join(meta.split())
    large: list[tuple[float, int, str]] = []  # (size, place, text) of runs of lines in one large size
    for p, lines in enumerate(kept[:3]):
        i = 0
        while i < len(lines):
            n = 1
            while i + n < len(lines) and lines[i + n].size == lines[i].size:
                n += 1
            if body > 0 and lines[i].size >= body * TITLE_SIZE:
                large.append((lines[i].size, p * 10_000 + i, " ".join(ln.text for ln in lines[i : i + n])))
            i += n
    for _, _, text in sorted(large, key=lambda c: (-c[0], c[1])):
        if usable(text):
            return text[:300]
    return next((ln.text for lines in kept for ln in lines if usable(ln.text)), "")


def _assemble(kept: list[list[Line]], headings: list[_Heading], body: float) -> tuple[str, tuple[Span, ...]]:
    """The kept lines as one text (pages and paragraphs apart by a blank line), cut into sections at headings.

    A paragraph that runs over a page break mid-sentence stays whole: the next page's lines up to the end of that
    paragraph (CARRIED at most) join the section of the page where it began, so no passage starts mid-sentence. The
    footnotes in smaller type at the foot of such a page are written after those lines, not inside the sentence.
    """
    starts = {(h.page, h.line): h for h in headings}
    parts: list[str] = []
    sections: list[Span] = []
    stack: list[tuple[int, str]] = []
    pos = 0
    last: Line | None = None  # the line that ends the text, when it ends a section

    def write(text: str, sep: str) -> int:
        nonlocal pos
        if parts:
            parts.append(sep)
            pos += len(sep)
        parts.append(text)
        pos += len(text)
        return pos - len(text)

    held: list[Line] = []  # a page's footnotes, kept back while its last sentence goes on over the page break

    def flush() -> bool:
        """Writes the notes kept back, in the section they were kept from; whether there were any."""
        for j, ln in enumerate(held):
            at = write(ln.text, "\n\n" if j == 0 or _paragraph(held[j - 1], ln, held_gap) else "\n")
            if sections:
                sections[-1] = Span(sections[-1].start, at + len(ln.text), sections[-1].headings, sections[-1].page)
        written = bool(held)
        held.clear()
        return written

    held_gap = 0.0
    for p, lines in enumerate(kept):
        gap = _line_gap(lines, body)
        start = end = None
        skip = 0
        carry = last is not None and bool(lines) and (p, 0) not in starts and _runs_over(last, lines[0], body)
        if not carry:
            flush()
        foot = _foot(lines, body, p, starts)
        if foot < len(lines) and p + 1 < len(kept) and kept[p + 1] and (p + 1, 0) not in starts and _runs_over(
            lines[foot - 1], kept[p + 1][0], body
        ):
            held.extend(lines[foot:])  # after any a page before kept back: the order of the notes stays
            lines, held_gap = lines[:foot], gap
        for i, ln in enumerate(lines):
            heading = starts.get((p, i))
            after_notes = False
            if carry and (i >= CARRIED or heading is not None or i and _paragraph(lines[i - 1], ln, gap)):
                carry = False
                after_notes = flush()
            if carry:
                at = write(ln.text, "\n")
                sections[-1] = Span(sections[-1].start, at + len(ln.text), sections[-1].headings, sections[-1].page)
                continue
            if heading is not None:
                if start is not None:
                    sections.append(Span(start, end, tuple(t for _, t in stack), p + 1))
                start = end = None
                while stack and stack[-1][0] >= heading.level:
                    stack.pop()
                if all(_norm(t) != _norm(heading.title) for _, t in stack):
                    stack.append((heading.level, heading.title))
                skip = heading.lines
            own = skip > 0  # a line of the heading itself: in the text, outside the sections
            new_block = (i == 0 or after_notes or heading is not None or (start is None and not own)
                         or _paragraph(lines[i - 1], ln, gap))
            at = write(ln.text, "\n\n" if new_block else "\n")
            if own:
                skip -= 1
                continue
            start = at if start is None else start
            end = at + len(ln.text)
        if start is not None:
            sections.append(Span(start, end, tuple(t for _, t in stack), p + 1))
        if lines and (start is not None and end == pos or carry):
            last = lines[-1]
        elif lines:
            last = None
    flush()
    return "".join(parts), tuple(sections)


def _foot(lines: list[Line], body: float, page: int, starts: dict[tuple[int, int], _Heading]) -> int:
    """Where a page's foot in smaller type than the body (footnotes, a source line) begins after its last line of
    body type; the page's length when there is none, or when the page has no line of body type."""
    at = len(lines)
    while at > 1 and 0 < lines[at - 1].size < body - 0.5 and (page, at - 1) not in starts:
        at -= 1
    return at if at > 0 and _body_type(lines[at - 1], body) else len(lines)


def _runs_over(before: Line, after: Line, body: float) -> bool:
    """Whether a page's last line and the next page's first are one sentence: both in body type (a footnote or a
    caption at the foot of a page is not), no sentence end before, and a sentence going on after."""
    if body > 0 and before.size > 0 and after.size > 0 and (abs(before.size - body) > 0.5 or abs(after.size - body) > 0.5):
        return False
    return continues(before.text, after.text)


def _line_gap(lines: list[Line], body: float) -> float:
    """The page's usual spacing of lines, of its body type when it has some: a diagram's labels, set close together,
    would make every gap between lines of text look like a paragraph's. The lower quartile, not the middle: on a
    page of one-line entries (a reference list) most gaps are paragraphs'."""
    pairs = [(a, b) for a, b in zip(lines, lines[1:]) if a.y is not None and b.y is not None and a.y > b.y]
    text = [(a, b) for a, b in pairs if _body_type(a, body) and _body_type(b, body)]
    # A chart's labels can be set in the body's type too ("New business" / "and revenue"): a line that wraps is long.
    widest = max((len(a.text) for a, _ in text), default=0)
    wrapped = [(a, b) for a, b in text if 2 * len(a.text) >= widest]
    gaps = sorted(a.y - b.y for a, b in wrapped or text or pairs)
    return gaps[len(gaps) // 4] if gaps else 0.0


def _body_type(line: Line, body: float) -> bool:
    return body > 0 and abs(line.size - body) <= max(0.5, body * 0.05)


def _paragraph(before: Line, line: Line, gap: float) -> bool:
    if gap <= 0 or before.y is None or line.y is None:
        return False
    return before.y - line.y > gap * PARAGRAPH_GAP or line.y > before.y
