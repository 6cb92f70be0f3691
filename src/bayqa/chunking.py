"""Cutting documents into passages that fit the embedding model's window.

Sections (headings, PDF pages) are never crossed; inside a section, langchain's recursive splitter
breaks at paragraphs, then lines, then sentence ends (Western and Chinese), then clauses, then words.
Sizes are counted in the model's own tokens, because the model truncates by tokens, not characters.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from bayqa.documents import Document, Section
from bayqa.terms import TERMS_VERSION

if TYPE_CHECKING:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

TokenCounter = Callable[[str], int]

# Tried in order: blank line, line break, sentence end, clause break, whitespace, any character.
SEPARATORS = (
    r"\n[ \t]*\n",
    r"\n",
    r"(?<=[。！？；])",
    r"(?<=[.!?;])\s+",
    r"(?<=[，、：,:])",
    r"\s+",
    "",
)
MIN_CHUNK_TOKENS = 32


@dataclass(frozen=True)
class Chunk:
    """A passage: ``text`` is exactly ``document.text[start:end]``; ``page_label`` is the printed label of its PDF
    page when the PDF has one (bayqa.documents.Section)."""

    id: str
    doc_id: str
    ordinal: int
    title: str
    headings: tuple[str, ...]
    page: int | None
    start: int
    end: int
    text: str
    page_label: str | None = None

    @property
    def context(self) -> str:
        """Title and heading path: embedded with the passage, never shown as part of it."""
        headings = self.headings[1:] if self.headings[:1] == (self.title,) else self.headings
        return " > ".join((self.title, *headings))

    @property
    def embedding_text(self) -> str:
        return f"{self.context}\n{self.text}"


SentenceVectors = Literal["separate", "pooled"]


@dataclass(frozen=True)
class ChunkSettings:
    """How passages are cut, and how their sentences get vectors (recorded in the index: a change re-embeds).

    ``sentence_vectors``: ``separate`` embeds each sentence with its title and section path in a pass of its own
    (the best answer sentences); ``pooled`` takes them from the passage's own pass (late chunking), which indexes
    faster and picks the answering sentence less well (docs/embedding.md).
    """

    chunk_tokens: int = 200
    overlap_tokens: int = 32
    window_tokens: int = 256
    sentence_vectors: SentenceVectors = "separate"
    #: The version of the document readers (bayqa.parsing.PARSER_VERSION): a new one reads files differently, so
    #: documents whose passages come out differently are embedded again.
    reader: int = 0
    #: The version of the search terms (bayqa.terms.TERMS_VERSION): a new one recounts BM25, embedding nothing.
    terms: int = TERMS_VERSION


def chunk_id(doc_id: str, start: int, end: int, text: str) -> str:
    """Stable across rebuilds: the same passage of the same document gets the same id."""
    return hashlib.sha1(f"{doc_id}\0{start}\0{end}\0{text}".encode()).hexdigest()[:16]


def chunk_document(doc: Document, count_tokens: TokenCounter, settings: ChunkSettings) -> list[Chunk]:
    sections = doc.sections or (Section(0, len(doc.text)),)
    chunks: list[Chunk] = []
    for section in sections:
        context = Chunk("", doc.id, 0, doc.title, section.headings, None, 0, 0, "").context
        room = settings.window_tokens - 2 - count_tokens(context) - 1
        size = max(MIN_CHUNK_TOKENS, min(settings.chunk_tokens, room))
        body = doc.text[section.start : section.end]
        for start, end in split_spans(body, count_tokens, size, min(settings.overlap_tokens, size // 4)):
            text = doc.text[section.start + start : section.start + end]
            chunks.append(
                Chunk(
                    id=chunk_id(doc.id, section.start + start, section.start + end, text),
                    doc_id=doc.id,
                    ordinal=len(chunks),
                    title=doc.title,
                    headings=section.headings,
                    page=section.page,
                    start=section.start + start,
                    end=section.start + end,
                    text=text,
                    page_label=section.page_label,
                )
            )
    return chunks


def split_spans(text: str, count_tokens: TokenCounter, size: int, overlap: int) -> list[tuple[int, int]]:
    """Character spans of ``text`` of at most ``size`` tokens each (a single over-long word may exceed it)."""
    pieces = _splitter(count_tokens, size, overlap).split_text(text)
    spans: list[tuple[int, int]] = []
    cursor = 0
    for piece in pieces:
        found = text.find(piece, cursor)
        if found < 0:  # cannot happen with keep_separator, but never emit a wrong offset
            found = text.find(piece)
        spans.append((found, found + len(piece)))
        cursor = found + 1
    return spans


@lru_cache(maxsize=64)
def _splitter(count_tokens: TokenCounter, size: int, overlap: int) -> RecursiveCharacterTextSplitter:
    # Imported here: a search process never chunks, and langchain's import would only take its memory.
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    return RecursiveCharacterTextSplitter(
        separators=list(SEPARATORS),
        is_separator_regex=True,
        keep_separator="end",
        chunk_size=size,
        chunk_overlap=overlap,
        length_function=count_tokens,
        strip_whitespace=True,
    )
