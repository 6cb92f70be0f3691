"""How a PDF's kept lines (bayqa.pdfpages) become text with sections and a title: pure rules, tested without a PDF.

Sections follow the outline when the PDF has one, else the type: lines larger than the body text, or bold lines of
its size, are headings, one level per type style. The title is the metadata's when it is a real one, else the
largest type on the first pages. Pages and paragraphs are set apart by a blank line; a paragraph that a page break
cuts is made whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bayqa.paragraphs import continues
from bayqa.pdfpages import LETTER, Line, Page, body_type, keep, key, norm

_FILE_NAME = re.compile(r"\.(pdf|docx?|pptx?|xlsx?|indd|rtf|odt|txt|html?|md|tex|wps)$|^(microsoft \w+ - |untitled\b)", re.IGNORECASE)
_NOT_TITLES = {"contents", "table of contents", "foreword", "preface", "abstract", "executive summary", "目錄", "目录"}
LARGE = 1.12  # type this much larger than the body text is a heading
TITLE_SIZE = 1.2
CARRIED = 30  # lines of the next page at most that finish a paragraph broken by a page break
PARAGRAPH_GAP = 1.45  # a gap between lines this many times the page's usual line spacing starts a paragraph
MAX_LEVELS = 4


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
    kept = keep(pages)
    headings = _outline_headings(outline, kept.pages) if outline else _type_headings(kept.pages, kept.body)
    title = _title(meta_title, kept.pages, kept.body, kept.cover_keys)
    text, sections = _assemble(kept.pages, headings, kept.body)
    return Laid(text, sections, title, kept.labels)


def _style(line: Line, body: float) -> tuple[float, bool] | None:
    """The type style of a line that looks like a heading, else None."""
    text = line.text
    if body <= 0 or line.size <= 0 or len(text) > 150 or len(text.split()) > 20 or text.endswith((",", ";")):
        return None
    letter = LETTER.search(text)
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
        lines, wanted = kept[p], norm(mark.title)
        at, count = cursor[p], 0
        for i in range(cursor[p], len(lines)):
            text = norm(lines[i].text)
            if text and wanted.startswith(text):
                at, count = i, 1
                while at + count < len(lines) and wanted.startswith(f"{text} {norm(lines[at + count].text)}".strip()):
                    text = f"{text} {norm(lines[at + count].text)}"
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
        return (len(LETTER.findall(text)) >= 2 and not _FILE_NAME.search(text) and norm(text) not in _NOT_TITLES
                and not any(key(text) in k for k in shared))

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
                if all(norm(t) != norm(heading.title) for _, t in stack):
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
    return at if at > 0 and body_type(lines[at - 1], body) else len(lines)


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
    text = [(a, b) for a, b in pairs if body_type(a, body) and body_type(b, body)]
    # A chart's labels can be set in the body's type too ("New business" / "and revenue"): a line that wraps is long.
    widest = max((len(a.text) for a, _ in text), default=0)
    wrapped = [(a, b) for a, b in text if 2 * len(a.text) >= widest]
    gaps = sorted(a.y - b.y for a, b in wrapped or text or pairs)
    return gaps[len(gaps) // 4] if gaps else 0.0


def _paragraph(before: Line, line: Line, gap: float) -> bool:
    if gap <= 0 or before.y is None or line.y is None:
        return False
    return before.y - line.y > gap * PARAGRAPH_GAP or line.y > before.y
