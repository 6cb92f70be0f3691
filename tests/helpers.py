"""Small file builders for loader tests."""

from __future__ import annotations


def make_pdf(pages: list[str], title: str | None = None) -> bytes:
    """A valid PDF with one Helvetica text line per input line, one page per string (enough for pypdf)."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    pages_id = len(objects) + 1 + 2 * len(pages)  # pages tree object comes after every page and its content
    page_ids = []
    for text in pages:
        lines = [ln.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for ln in text.split("\n")]
        ops = "BT /F1 11 Tf 14 TL 50 780 Td " + " ".join(f"({ln}) Tj T*" for ln in lines) + " ET"
        stream = ops.encode("latin-1")
        content = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        page_ids.append(add(
            b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>"
            % (pages_id, font, content)
        ))
    kids = " ".join(f"{p} 0 R" for p in page_ids).encode()
    assert add(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(page_ids))) == pages_id
    catalog = add(b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id)
    info = add(b"<< /Title (%s) >>" % title.encode("latin-1")) if title else None

    return assemble_pdf(objects, catalog, info)


def assemble_pdf(objects: list[bytes], catalog: int, info: int | None = None) -> bytes:
    """A PDF file of numbered ``objects`` (1-based), with its cross-reference table and trailer."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    trailer = b"<< /Size %d /Root %d 0 R" % (len(objects) + 1, catalog)
    if info:
        trailer += b" /Info %d 0 R" % info
    out += b"trailer\n" + trailer + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def make_stream_bomb_pdf(pages: int = 10, megabytes: int = 70) -> bytes:
    """A small PDF whose pages all draw one FlateDecode content stream of ``megabytes`` MB of spaces (with a word of
    text at the start): a few tens of KB on disk, a long and memory-hungry parse for text extraction."""
    import zlib

    body = b"BT /F1 11 Tf 50 780 Td (bomb) Tj ET\n" + b" " * (megabytes * 1024 * 1024)
    packed = zlib.compress(body, 9)
    objects = [
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed) + packed + b"\nendstream",
    ]
    pages_id = 3 + pages
    for _ in range(pages):
        objects.append(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 1 0 R >> >> "
                       b"/Contents 2 0 R >>" % pages_id)
    kids = " ".join(f"{3 + i} 0 R" for i in range(pages)).encode()
    objects.append(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages))
    objects.append(b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id)
    return assemble_pdf(objects, len(objects))


#: One text line of a layout page: where it starts (points from the bottom left), its size, and whether it is bold.
#: ``text`` may hold "\x80" and "\x81", which the font's ToUnicode map turns into private-use bullet glyphs (U+F075,
#: U+F0D8), as Wingdings bullets come out of office software; a "|" inside a word draws the halves as one TJ with a
#: kerning gap between them, as word processors do.
PdfLine = tuple[float, float, float, bool, str]

_TO_UNICODE = (
    b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /Bullets def "
    b"1 begincodespacerange <00> <FF> endcodespacerange "
    b"1 beginbfrange <20> <7E> <0020> endbfrange "
    b"2 beginbfchar <80> <F075> <81> <F0D8> endbfchar "
    b"endcmap CMapName currentdict /CMap defineresource pop end end"
)


def make_layout_pdf(
    pages: list[list[PdfLine]],
    outline: list[tuple[int, str, int, float]] = (),
    first_label: int | None = None,
    title: str | None = None,
) -> bytes:
    """A PDF of positioned lines (see PdfLine), with an optional outline of (level, title, page index, y) bookmarks
    and optional /PageLabels numbering the pages in decimals from ``first_label``."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    cmap = add(b"<< /Length %d >>\nstream\n" % len(_TO_UNICODE) + _TO_UNICODE + b"\nendstream")
    regular = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode %d 0 R >>" % cmap)
    bold = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /ToUnicode %d 0 R >>" % cmap)
    pages_id = len(objects) + 1 + 2 * len(pages)
    page_ids = []
    for lines in pages:
        ops = []
        for x, y, size, is_bold, text in lines:
            parts = [_pdf_string(p) for p in text.split("|")]
            shown = b"[" + b" -40 ".join(parts) + b"] TJ" if len(parts) > 1 else parts[0] + b" Tj"
            ops.append(b"BT /%s %g Tf %g %g Td %s ET" % (b"F2" if is_bold else b"F1", size, x, y, shown))
        stream = b"\n".join(ops)
        content = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        page_ids.append(add(
            b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 %d 0 R /F2 %d 0 R >> >> "
            b"/Contents %d 0 R >>" % (pages_id, regular, bold, content)
        ))
    kids = " ".join(f"{p} 0 R" for p in page_ids).encode()
    assert add(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(page_ids))) == pages_id
    extra = b""
    if outline:
        extra += b" /Outlines %d 0 R" % _add_outline(add, len(objects), outline, page_ids)
    if first_label is not None:
        extra += b" /PageLabels << /Nums [0 << /S /D /St %d >>] >>" % first_label
    catalog = add(b"<< /Type /Catalog /Pages %d 0 R%s >>" % (pages_id, extra))
    info = add(b"<< /Title %s >>" % _pdf_string(title)) if title else None
    return assemble_pdf(objects, catalog, info)


def _pdf_string(text: str) -> bytes:
    if any(ord(c) > 255 for c in text):
        return b"<FEFF%s>" % text.encode("utf-16-be").hex().upper().encode()
    return b"(" + text.encode("latin-1").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _add_outline(add, count: int, outline: list[tuple[int, str, int, float]], page_ids: list[int]) -> int:
    """Outline items as a tree of dictionaries (objects numbered from ``count`` + 1); returns the root's number."""
    root = count + 1 + len(outline)
    numbers = [count + 1 + i for i in range(len(outline))]
    parents: list[int] = []
    links: dict[int, dict[bytes, int]] = {root: {}}
    for i, (level, _, _, _) in enumerate(outline):
        while len(parents) >= level:
            parents.pop()
        parent = parents[-1] if parents else root
        links[numbers[i]] = {b"Parent": parent}
        siblings = [n for n in numbers[:i] if links[n][b"Parent"] == parent]
        if siblings:
            links[siblings[-1]][b"Next"] = numbers[i]
            links[numbers[i]][b"Prev"] = siblings[-1]
        else:
            links[parent][b"First"] = numbers[i]
        links[parent][b"Last"] = numbers[i]
        links[parent][b"Count"] = links[parent].get(b"Count", 0) + 1
        parents.append(numbers[i])
    for i, (_, text, page, y) in enumerate(outline):
        keys = b"".join(b" /%s %d 0 R" % (k, v) for k, v in links[numbers[i]].items() if k != b"Count")
        add(b"<< /Title %s /Dest [%d 0 R /XYZ 0 %g 0]%s >>" % (_pdf_string(text), page_ids[page], y, keys))
    keys = b"".join(b" /%s %d 0 R" % (k, v) for k, v in links[root].items() if k != b"Count")
    return add(b"<< /Type /Outlines /Count %d%s >>" % (links[root].get(b"Count", 0), keys))
