"""Reading PDFs with pdfium (pypdfium2): each page's text lines with their place and type size, the outline,
the page labels and the metadata title. What the lines mean (running headers, printed page numbers, headings,
the title) is worked out in bayqa.pdflayout, from these plain values.
"""

from __future__ import annotations

import ctypes
import re
import threading
from dataclasses import dataclass

from bayqa.pdflayout import Bookmark, Laid, lay_out
from bayqa.pdfpages import EDGE, FOOT, Line, Page

#: pdfium is not thread-safe; one document is read at a time in a process.
_PDFIUM = threading.Lock()
_SAMPLES = (0.0, 0.25, 0.5, 0.75, 1.0)  # where in a line its size and weight are sampled
_BOLD_WEIGHT = 600
_XYZ, _FIT_H, _FIT_BH = 1, 3, 7  # pdfium's destination view modes that name a height: [left top zoom], [top], [top]
_OUTLINE_TITLE_CHARS = 100  # longer bookmarks are sentences someone bookmarked, not headings
# A footnote mark's place: up to three digits right after a letter or a closing stop (or one space after), before a
# space or the line's end.
_MARK = re.compile(r"(?<=[^\W\d_]|[.,;:)\]”’\"。，；）])( ?)(\d{1,3})(?=\s|$)")
_LEADING_MARK = re.compile(r"\s*(\d{1,3})(?:\s+|$)")
ROW = 0.2  # lines whose tops are within this share of their type size stand on one printed line
_MARK_SIZE = 0.9  # a mark's box is under this share of the character before it (Chromium sets <sup> at 0.83)
_MARK_RAISED = 0.2  # and its foot this share of that character's height above that character's


class PdfError(Exception):
    """A PDF that cannot be read; the message says why (the caller names the file)."""


@dataclass(frozen=True)
class PdfText(Laid):
    """A PDF's text, sections, title and page labels (see bayqa.pdflayout.Laid), and its number of pages."""

    pages: int = 0


def read_pdf(data: bytes) -> PdfText:
    import pypdfium2

    with _PDFIUM:
        try:
            pdf = pypdfium2.PdfDocument(data)
        except pypdfium2.PdfiumError as exc:
            if "password" in str(exc).lower():
                raise PdfError("the PDF is encrypted; save an unencrypted copy") from exc
            raise PdfError(f"not a readable PDF ({exc})") from exc
        try:
            pages = [_page(pdf, i) for i in range(len(pdf))]
            outline = _outline(pdf)
            meta_title = pdf.get_metadata_value("Title") or ""
        except pypdfium2.PdfiumError as exc:
            raise PdfError(f"not a readable PDF ({exc})") from exc
        finally:
            pdf.close()
    laid = lay_out(pages, outline, meta_title)
    return PdfText(laid.text, laid.sections, laid.title, laid.labels, len(pages))


def _page(pdf, index: int) -> Page:  # noqa: ANN001 - a pypdfium2.PdfDocument, imported lazily
    import pypdfium2.raw as pdfium_c

    page = pdf[index]
    try:
        textpage = page.get_textpage()
        try:
            lines = _printed_lines(pdfium_c, textpage.raw, textpage.get_text_range(), page.get_height())
        finally:
            textpage.close()
        label = pdf.get_page_label(index) or None
        return Page(number=index + 1, height=page.get_height(), lines=tuple(lines), pdf_label=label)
    finally:
        page.close()


def _printed_lines(pdfium_c, textpage, text: str, height: float) -> list[Line]:  # noqa: ANN001 - pdfium's C module and text page
    """The lines of a page's ``text`` as printed. pdfium joins a line that ends in a hyphen to the next one, marking
    the hyphen U+FFFE (one place for both lines made the gap below them look like a paragraph's); and it breaks a
    printed line at a raised footnote mark or a jump along it ("Exchange,", "28 and the offering")."""
    lines: list[Line] = []
    offset = 0
    last = -1  # the text index of the last character read
    for raw in text.split("\r\n"):
        pieces = raw.split("\ufffe")
        for n, piece in enumerate(pieces):
            mark = _leading_mark(pdfium_c, textpage, piece, offset, last) if lines else 0
            read = _line(pdfium_c, textpage, piece[mark:] + ("\ufffe" if n < len(pieces) - 1 else ""), offset + mark)
            if read and lines and (mark or _same_row(lines[-1], read[0], height)):
                before = lines.pop()
                read = [Line(f"{before.text} {read[0].text}", before.y, max(before.size, read[0].size), before.bold)]
            lines.extend(read)
            if read:
                last = offset + len(piece.rstrip()) - 1
            offset += len(piece) + 1  # the piece and its U+FFFE, or the first character of the line break
        offset += 1
    return lines


def _line(pdfium_c, textpage, raw: str, offset: int) -> list[Line]:  # noqa: ANN001 - pdfium's C module and text page
    """One extracted line with the size (loose glyph box height) and weight sampled at a few of its characters."""
    stripped = raw.strip()
    if not stripped:
        return []
    first = offset + len(raw) - len(raw.lstrip())
    sizes, weights, tops = [], [], []
    for at in _SAMPLES:
        text_index = first + round(at * (len(stripped) - 1))
        if stripped[text_index - first].isspace():
            continue
        char = pdfium_c.FPDFText_GetCharIndexFromTextIndex(textpage, text_index)
        box = _box(pdfium_c, textpage, char)
        if box is None:
            continue
        sizes.append(box.top - box.bottom)
        tops.append(box.top)
        weights.append(_weight(pdfium_c, textpage, char))
    if not sizes:
        return [Line(stripped, None, 0.0, False)]
    # The largest: a Latin font's loose boxes are all its full height, a Chinese font's are its glyphs' (一 is flat).
    text = _without_marks(pdfium_c, textpage, stripped, first)
    return [Line(text, tops[0], max(sizes), min(weights) >= _BOLD_WEIGHT)]


def _without_marks(pdfium_c, textpage, stripped: str, first: int) -> str:  # noqa: ANN001
    """``stripped`` less its footnote marks: digits right after a word or a full stop, set smaller than the character
    before them and raised above its foot, which would glue to the figure before them ("2039.2")."""
    cut = []
    for mark in _MARK.finditer(stripped):
        before = _box(pdfium_c, textpage, pdfium_c.FPDFText_GetCharIndexFromTextIndex(textpage, first + mark.start() - 1))
        boxes = [_box(pdfium_c, textpage, pdfium_c.FPDFText_GetCharIndexFromTextIndex(textpage, first + k))
                 for k in range(mark.start(2), mark.end(2))]
        if _marks(before, boxes):
            cut.append(mark.span())
    for start, end in reversed(cut):
        stripped = stripped[:start] + stripped[end:]
    return stripped


def _leading_mark(pdfium_c, textpage, piece: str, offset: int, last: int) -> int:  # noqa: ANN001
    """How many characters of ``piece`` (at text index ``offset``) a footnote mark takes at its start, set small and
    raised beside the character read before it (text index ``last``), as pdfium splits "Exchange,²⁸ and …"; else 0."""
    found = _LEADING_MARK.match(piece)
    if found is None or last < 0:
        return 0
    before = _box(pdfium_c, textpage, pdfium_c.FPDFText_GetCharIndexFromTextIndex(textpage, last))
    boxes = [_box(pdfium_c, textpage, pdfium_c.FPDFText_GetCharIndexFromTextIndex(textpage, offset + k)) for k in range(*found.span(1))]
    # beside it: the mark's foot within the height of that character, not on a line of its own
    beside = _marks(before, boxes) and all(b.bottom <= before.top for b in boxes)
    return found.end() if beside else 0


def _marks(before, boxes: list) -> bool:  # noqa: ANN001 - pdfium's FS_RECTF boxes, or None
    """Whether characters of ``boxes`` are a footnote mark beside the character of box ``before``: set smaller than it
    and raised above its foot."""
    if before is None or not boxes or any(b is None for b in boxes):
        return False
    height = before.top - before.bottom
    return all(b.top - b.bottom < height * _MARK_SIZE and b.bottom > before.bottom + height * _MARK_RAISED for b in boxes)


def _same_row(before: Line, line: Line, height: float) -> bool:
    """Whether two lines pdfium gave one after the other stand on one printed line, in the body of the page (a running
    header's or footer's parts stay apart: a page number is read alone)."""
    if before.y is None or line.y is None or height <= 0 or not before.size or not line.size:
        return False
    return abs(before.y - line.y) <= ROW * min(before.size, line.size) and EDGE < 1 - before.y / height < FOOT


def _box(pdfium_c, textpage, char: int):  # noqa: ANN001, ANN202 - pdfium's C module, text page and FS_RECTF
    """A character's loose box, or None."""
    box = pdfium_c.FS_RECTF()
    if char < 0 or not pdfium_c.FPDFText_GetLooseCharBox(textpage, char, ctypes.byref(box)):
        return None
    return box


def _weight(pdfium_c, textpage, char: int) -> int:  # noqa: ANN001
    weight = pdfium_c.FPDFText_GetFontWeight(textpage, char)
    if weight > 0:
        return weight
    name = ctypes.create_string_buffer(128)
    flags = ctypes.c_int()
    pdfium_c.FPDFText_GetFontInfo(textpage, char, name, len(name), ctypes.byref(flags))
    return 700 if re.search(rb"bold|black|heavy", name.value, re.IGNORECASE) else 400


def _outline(pdf) -> list[Bookmark]:  # noqa: ANN001
    """Bookmarks that point at a page, with the height they point at when they say."""
    found = []
    for item in pdf.get_toc(max_depth=6):
        title = " ".join((item.get_title() or "").split())
        dest = item.get_dest()
        page = dest.get_index() if dest is not None else None
        if not title or len(title) > _OUTLINE_TITLE_CHARS or page is None:
            continue
        mode, view = dest.get_view()
        top = {_XYZ: 1, _FIT_H: 0, _FIT_BH: 0}.get(mode)
        y = view[top] if top is not None and len(view) > top and view[top] else None
        found.append(Bookmark(item.level + 1, title, page + 1, y))
    return found
