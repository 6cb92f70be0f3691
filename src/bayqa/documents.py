"""Loading documents: plain text, Markdown, HTML and PDF become one text with its structure.

A document's id is its path relative to the corpus folder (with forward slashes), so it stays the
same across rebuilds and machines. Its structure is a list of sections: character spans of the text,
each with the heading path above it and, for PDFs, the page it is on.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

from bayqa.markup import CLOSING_STOPS, FOOTNOTE_MARK_TEXT, clean_markdown, shorten_urls, split_front_matter
from bayqa.paragraphs import rebuild, unwrap

# A line of nothing but bold text, and what a heading does not end with (a bold sentence is no heading).
_BOLD_HEADING = re.compile(r"(\*\*|__)(?=\S)([^*_\n]{1,60}?)\1")
_NOT_A_HEADING = re.compile(r"[.!?;,。！？；，]\s*$")
_NUMBERED = re.compile(r"\d{1,3}\.\s+\S")  # "255. The Government …": a numbered paragraph
_NOT_TEXT_START = re.compile(r"\s*(?:[#|>*-]|\d)")  # headings, tables, quotes, list items and figures are no subheading

SUPPORTED_SUFFIXES = {".txt": "text", ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html", ".pdf": "pdf"}


class DocumentError(Exception):
    """A file that cannot be turned into a document; the message names the file and what to do.

    ``reason`` is a short tag for counting skips: unreadable, outside, empty, timeout, memory.
    """

    def __init__(self, message: str, reason: str = "unreadable") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Section:
    """A span ``text[start:end]`` of a document under one heading path (and on one page, for PDFs, with the page's
    printed label when it has one: "65" on the PDF's 8th page)."""

    start: int
    end: int
    headings: tuple[str, ...] = ()
    page: int | None = None
    page_label: str | None = None


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    kind: str
    text: str
    sections: tuple[Section, ...]
    content_hash: str
    size: int
    pages: int | None = None
    metadata: tuple[tuple[str, str], ...] = ()


def is_document_file(path: Path) -> bool:
    """Files bayqa indexes: a supported suffix, not hidden, and not a folder's README note."""
    name = path.name
    return (
        path.suffix.lower() in SUPPORTED_SUFFIXES
        and not name.startswith((".", "~"))
        and not name.lower().startswith("readme.")
    )


def iter_document_files(root: Path) -> Iterator[Path]:
    """Document files under ``root``, in a stable order."""
    for path in sorted(root.rglob("*")):
        rel_parts = path.relative_to(root).parts
        if path.is_file() and is_document_file(path) and not any(p.startswith(".") for p in rel_parts):
            yield path


def document_id(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_document(path: Path, root: Path) -> Document:
    """Read one file; raises DocumentError with a readable message when it cannot be used."""
    kind = SUPPORTED_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise DocumentError(
            f"{path}: unsupported file type {path.suffix!r}; bayqa reads {', '.join(sorted(SUPPORTED_SUFFIXES))}"
        )
    return parse_document(_read_bytes(path, str(path)), kind, document_id(path, root), fallback_title=path.stem)


@dataclass(frozen=True)
class Content:
    """What a parser makes of a file's bytes, before it is a document with an id."""

    text: str
    sections: tuple[Section, ...]
    title: str
    pages: int | None
    metadata: tuple[tuple[str, str], ...] = ()  # a Markdown file's front matter: ("title", …), ("date", …)


def read_content(data: bytes, kind: str, name: str) -> Content:
    """Parse a file's bytes (``kind`` is one of the values of SUPPORTED_SUFFIXES); ``name`` is for messages only."""
    if kind == "pdf":
        text, sections, title, pages = _parse_pdf(data, name)
        content = Content(text, tuple(sections), title, pages)
    else:
        raw = decode_text(data, name)
        parser = {"text": _parse_plain, "markdown": _parse_markdown, "html": _parse_html}[kind]
        content = parser(raw)
    if not content.text.strip():
        raise DocumentError(f"{name}: no text found in the file (is it empty, or a scanned PDF without a text layer?)", "empty")
    return content


def make_document(content: Content, data: bytes, kind: str, doc_id: str, fallback_title: str) -> Document:
    return Document(
        id=doc_id,
        title=(content.title or _first_line(content.text) or fallback_title).strip()[:300],
        kind=kind,
        text=content.text,
        sections=content.sections,
        content_hash=content_hash(data),
        size=len(data),
        pages=content.pages,
        metadata=content.metadata,
    )


def parse_document(data: bytes, kind: str, doc_id: str, fallback_title: str) -> Document:
    """Turn a file's bytes into a Document, in this process and without limits (see bayqa.parsing for those)."""
    return make_document(read_content(data, kind, doc_id), data, kind, doc_id, fallback_title)


def decode_text(data: bytes, name: str) -> str:
    """UTF-8 first (BOM allowed); otherwise detect the encoding; refuse what is not text."""
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DocumentError(f"{name}: looks like a binary file, not text; convert it to UTF-8 text, Markdown, HTML or PDF")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        raise DocumentError(f"{name}: the text encoding could not be detected; save the file as UTF-8")
    return str(best)


def _first_line(text: str) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line
    return ""


def _normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _parse_plain(raw: str) -> Content:
    """Hard-wrapped paragraphs are made whole (bayqa.paragraphs); the rest of the text stays as it is."""
    text = rebuild(_normalize_newlines(raw))
    return Content(text, (Section(0, len(text)),), _first_line(text), None)


def _parse_markdown(raw: str) -> Content:
    """Sections start at each heading, or at a bold line standing alone as one does. The text stays Markdown, which
    reads well as it is, without what a page does not show as text (bayqa.markup) and with its hard-wrapped
    paragraphs made whole (bayqa.paragraphs); front matter becomes metadata, its title the document's."""
    from markdown_it import MarkdownIt

    metadata, text = split_front_matter(_normalize_newlines(raw))
    text = rebuild(clean_markdown(text), markdown=True)
    line_starts = [0]
    for line in text.split("\n"):
        line_starts.append(line_starts[-1] + len(line) + 1)
    tokens = MarkdownIt("commonmark").parse(text)
    headings: list[tuple[int, int, int, str]] = []  # (level, first line, line after, title); level 0: a bold line
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open" and tok.map and tokens[i + 1].content.strip():
            headings.append((int(tok.tag[1]), tok.map[0], tok.map[1], tokens[i + 1].content.strip()))
        elif tok.type == "paragraph_open" and tok.map and tok.level == 0 and tok.map[1] - tok.map[0] == 1:
            bold = _BOLD_HEADING.fullmatch(tokens[i + 1].content.strip())
            if bold and not _NOT_A_HEADING.search(bold.group(2)):
                headings.append((0, tok.map[0], tok.map[1], bold.group(2).strip()))
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    body_start = 0
    lines = text.split("\n")
    breaks = [(-1, i, i, "") for i in range(1, len(lines) - 1) if _subheading(lines[i - 1], lines[i], lines[i + 1])]
    for level, first, after, title in sorted(headings + breaks, key=lambda h: h[1]):
        _add_section(sections, text, body_start, line_starts[first], tuple(t for _, t in stack))
        if level < 0:  # a subheading: its topic starts a passage, under the same headings
            body_start = line_starts[first]
            continue
        # A bold heading sits below the heading it follows and ends where any heading begins.
        while stack and stack[-1][0] > 6:
            stack.pop()
        level = level or 7
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        body_start = min(line_starts[after], len(text))
    _add_section(sections, text, body_start, len(text), tuple(t for _, t in stack))
    title = metadata.get("title") or next((t for level, _, _, t in headings if level == 1), "") or _first_line(text)
    return Content(text, tuple(sections), title, None, tuple(metadata.items()))


def _subheading(before: str, line: str, after: str) -> bool:
    """A short line without a closing stop between a sentence's end and a numbered paragraph ("Set the First Minimum
    Wage Rate …" before "255. The Government …"), as a conversion from PDF leaves a subheading."""
    words = line.split()
    return (2 <= len(words) <= 15 and not line.rstrip().endswith(CLOSING_STOPS) and _NUMBERED.match(after) is not None
            and before.rstrip().endswith(CLOSING_STOPS) and not _NOT_TEXT_START.match(line))


def _add_section(sections: list[Section], text: str, start: int, end: int, headings: tuple[str, ...], page: int | None = None) -> None:
    if text[start:end].strip():
        sections.append(Section(start, end, headings, page))


_PAGE_FURNITURE = ["navigation", "banner", "contentinfo", "complementary", "search", "menu", "dialog"]
_HTML_INLINE = ["a", "b", "strong", "i", "em", "u", "span", "font", "small", "big", "mark", "abbr", "cite", "q", "code", "sup", "sub",
                "time", "s", "del", "ins"]
_HTML_BLOCKS = ["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "blockquote", "td", "th", "dt", "dd", "figcaption", "caption"]


def _parse_html(raw: str) -> Content:
    """Text of block elements in document order, one paragraph each (line breaks of the source are spaces, except in
    ``pre``; long URLs are shortened); h1–h6 set the heading path."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(raw, "html.parser")
    page_title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(["script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "title"]):
        tag.decompose()
    for tag in soup.find_all(attrs={"role": _PAGE_FURNITURE}):
        tag.decompose()
    for tag in soup.find_all(["li", "p"]):
        if _only_links(tag):
            tag.decompose()  # a menu's item, a related article, "Read more": the site's, as in Markdown (bayqa.markup)
    for tag in soup.find_all("sup"):
        if re.fullmatch(FOOTNOTE_MARK_TEXT, tag.get_text(strip=True)):
            tag.decompose()  # a footnote mark: unwrapped, "hectares<sup>4</sup>" would read "hectares4"
    # Inline markup is no break in the text: "<a>前海</a>擴區" is one word, "<b>15</b>%" one figure.
    for tag in soup.find_all(_HTML_INLINE):
        tag.unwrap()
    soup.smooth()
    # A page that marks its content (<main>, or a single <article>) is read there: menus, share buttons and related
    # links around it are the site's, not the document's.
    articles = soup.find_all("article")
    content = soup.find("main") or (articles[0] if len(articles) == 1 else None)
    if content is not None and content.get_text(strip=True):
        soup = content
    parts: list[str] = []
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    pos = 0
    section_start = 0
    first_h1 = ""
    for el in soup.find_all(_HTML_BLOCKS):
        if el.find_parent(_HTML_BLOCKS) is not None:
            continue  # nested block: its text is already in its ancestor's
        block = el.get_text(" ", strip=True)
        block = re.sub(r"[ \t\r\f\v]+", " ", block if el.name == "pre" else shorten_urls(unwrap(block)))
        if not block:
            continue
        if el.name in ("h1", "h2", "h3", "h4", "h5", "h6"):
            _add_section(sections, "\n\n".join(parts), section_start, max(section_start, pos - 2), tuple(t for _, t in stack))
            level = int(el.name[1])
            first_h1 = first_h1 or (block if level == 1 else "")
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, block))
            parts.append(block)
            pos += len(block) + 2
            section_start = pos
            continue
        parts.append(block)
        pos += len(block) + 2
    text = "\n\n".join(parts)
    _add_section(sections, text, section_start, len(text), tuple(t for _, t in stack))
    return Content(text, tuple(sections), page_title or first_h1, None)


def _only_links(element) -> bool:  # noqa: ANN001 - a BeautifulSoup tag
    """Whether all the words of an element are the text of its links (a link list's item, "Read more")."""
    links = element.find_all("a")
    linked = "".join(a.get_text("", strip=True) for a in links)
    return bool(links) and re.sub(r"[\W_]+", "", element.get_text("", strip=True)) == re.sub(r"[\W_]+", "", linked)


def _parse_pdf(data: bytes, name: str) -> tuple[str, list[Section], str, int]:
    """Sections per page and heading, so every passage knows its page, its printed label and its section (bayqa.pdf)."""
    from bayqa.pdf import PdfError, read_pdf

    try:
        pdf = read_pdf(data)
    except PdfError as exc:
        raise DocumentError(f"{name}: {exc}") from exc
    text, spans = _rewrapped(pdf.text, [(s.start, s.end) for s in pdf.sections])
    sections = [Section(a, b, s.headings, s.page, pdf.labels.get(s.page)) for (a, b), s in zip(spans, pdf.sections)]
    return text, sections, pdf.title, pdf.pages


def _rewrapped(text: str, spans: list[tuple[int, int]]) -> tuple[str, list[tuple[int, int]]]:
    """``text`` with the paragraphs of each span made whole (a PDF's lines are printed lines), and the spans' new
    offsets; what lies between spans (heading lines) is kept as it is. Spans must be in order and not overlap."""
    from bayqa.paragraphs import rebuild_pages

    if any(b > c for (_, b), (c, _) in zip(spans, spans[1:])):
        return text, spans
    rebuilt = rebuild_pages([text[a:b] for a, b in spans])
    parts: list[str] = []
    moved: list[tuple[int, int]] = []
    pos = size = 0
    for (a, b), body in zip(spans, rebuilt):
        parts.append(text[pos:a])
        size += a - pos
        parts.append(body)
        moved.append((size, size + len(body)))
        size += len(body)
        pos = b
    parts.append(text[pos:])
    return "".join(parts), moved


#: Reads a file's bytes into Content: ``read_content`` here, or a bounded reader (bayqa.parsing).
Reader = Callable[[bytes, str, str], Content]


@dataclass(frozen=True)
class Skipped:
    """A corpus file that is not indexed, and why."""

    path: str
    reason: str
    message: str


@dataclass(frozen=True)
class LoadReport:
    documents: tuple[Document, ...]
    skipped: tuple[Skipped, ...] = ()

    @property
    def problems(self) -> tuple[str, ...]:
        return tuple(s.message for s in self.skipped)


def load_corpus(root: Path, read: Reader = read_content) -> LoadReport:
    """Every document under ``root``; files that fail are reported in ``skipped`` and left out.

    A file whose real path is outside ``root`` (a symbolic link out of the folder) is never read: the corpus
    folder is what the server may publish, and a link must not widen it.
    """
    if not root.is_dir():
        raise DocumentError(f"corpus folder {root} does not exist; create it or point --corpus / BAYQA_CORPUS at your documents")
    real_root = root.resolve()
    documents: list[Document] = []
    skipped: list[Skipped] = []
    for path in iter_document_files(root):
        doc_id = document_id(path, root)
        try:
            if not path.resolve().is_relative_to(real_root):
                raise DocumentError(f"{doc_id}: links to a file outside the corpus folder; copy the file in instead", "outside")
            data = _read_bytes(path, doc_id)
            kind = SUPPORTED_SUFFIXES[path.suffix.lower()]
            documents.append(make_document(read(data, kind, doc_id), data, kind, doc_id, path.stem))
        except DocumentError as exc:
            skipped.append(Skipped(doc_id, exc.reason, str(exc)))
    return LoadReport(tuple(documents), tuple(skipped))


def _read_bytes(path: Path, name: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"{name}: cannot be read ({exc.strerror or exc})", "unreadable") from exc
