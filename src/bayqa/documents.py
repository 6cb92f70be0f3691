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


def read_content(data: bytes, kind: str, name: str) -> Content:
    """Parse a file's bytes (``kind`` is one of the values of SUPPORTED_SUFFIXES); ``name`` is for messages only."""
    if kind == "pdf":
        text, sections, title, pages = _parse_pdf(data, name)
    else:
        raw = decode_text(data, name)
        parser = {"text": _parse_plain, "markdown": _parse_markdown, "html": _parse_html}[kind]
        text, sections, title = parser(raw)
        pages = None
    if not text.strip():
        raise DocumentError(f"{name}: no text found in the file (is it empty, or a scanned PDF without a text layer?)", "empty")
    return Content(text, tuple(sections), title, pages)


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


def _parse_plain(raw: str) -> tuple[str, list[Section], str]:
    text = _normalize_newlines(raw)
    return text, [Section(0, len(text))], _first_line(text)


def _parse_markdown(raw: str) -> tuple[str, list[Section], str]:
    """Sections start at each heading; the text stays Markdown source, which reads well as is."""
    from markdown_it import MarkdownIt

    text = _normalize_newlines(raw)
    lines = text.split("\n")
    line_starts = [0]
    for line in lines:
        line_starts.append(line_starts[-1] + len(line) + 1)
    tokens = MarkdownIt("commonmark").parse(text)
    headings: list[tuple[int, int, int, str]] = []  # (level, first line, line after, title)
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open" and tok.map:
            inline = tokens[i + 1]
            headings.append((int(tok.tag[1]), tok.map[0], tok.map[1], inline.content.strip()))
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    body_start = 0
    for level, first, after, title in headings:
        _add_section(sections, text, body_start, line_starts[first], tuple(t for _, t in stack))
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        body_start = min(line_starts[after], len(text))
    _add_section(sections, text, body_start, len(text), tuple(t for _, t in stack))
    title = next((t for level, _, _, t in headings if level == 1), "") or _first_line(text)
    return text, sections, title


def _add_section(sections: list[Section], text: str, start: int, end: int, headings: tuple[str, ...], page: int | None = None) -> None:
    if text[start:end].strip():
        sections.append(Section(start, end, headings, page))


_HTML_BLOCKS = ["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "blockquote", "td", "th", "dt", "dd", "figcaption", "caption"]


def _parse_html(raw: str) -> tuple[str, list[Section], str]:
    """Text of block elements in document order, one paragraph each; h1–h6 set the heading path."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(raw, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "nav", "header", "footer"]):
        tag.decompose()
    page_title = soup.title.get_text(" ", strip=True) if soup.title else ""
    if soup.title:
        soup.title.decompose()
    parts: list[str] = []
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    pos = 0
    section_start = 0
    first_h1 = ""
    for el in soup.find_all(_HTML_BLOCKS):
        if el.find_parent(_HTML_BLOCKS) is not None:
            continue  # nested block: its text is already in its ancestor's
        block = re.sub(r"[ \t\r\f\v]+", " ", el.get_text(" ", strip=True))
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
    return text, sections, page_title or first_h1


def _parse_pdf(data: bytes, name: str) -> tuple[str, list[Section], str, int]:
    """Sections per page and heading, so every passage knows its page, its printed label and its section (bayqa.pdf)."""
    from bayqa.pdf import PdfError, read_pdf

    try:
        pdf = read_pdf(data)
    except PdfError as exc:
        raise DocumentError(f"{name}: {exc}") from exc
    sections = [Section(s.start, s.end, s.headings, s.page, pdf.labels.get(s.page)) for s in pdf.sections]
    return pdf.text, sections, pdf.title, pdf.pages


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
