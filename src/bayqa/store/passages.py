"""A generation's passages, documents and texts, read from its segments' chunk databases when they are asked for.

Every passage held in memory would cost each process that serves the index its own copy: a few hundred bytes a
passage, the largest part of a server's memory after the vectors. A search shows a few passages, so only which
document each row belongs to stays in memory; a passage, a document's record or its text is read (with SQLite's pages
mapped from the file, which the processes share) when a hit or a request needs it, and the texts of recently read
documents are kept at hand.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from functools import cached_property, lru_cache
from pathlib import Path
from typing import overload

import numpy as np

from bayqa.chunking import Chunk
from bayqa.store.chunkdb import DOCUMENT_COLUMNS, decompressed, document_text, has_page_labels, headings, read_chunks
from bayqa.store.manifest import DocumentInfo
from bayqa.store.stacked import gathered

TEXTS_KEPT_CHARS = 4_000_000  # characters of recently read document texts a segment keeps decompressed
MAPPED_BYTES = 1 << 40  # SQLite reads the whole file through one read-only map (shared), up to this size
HEADINGS_KEPT = 4096  # parsed heading paths kept: a section's passages share one


class Segment:
    """What a generation needs of one segment's passages: ``doc_ids`` (sorted), the document of each row (a number
    into them), the passages of rows, and documents' records and texts."""

    doc_ids: list[str]
    doc_numbers: np.ndarray
    first_row: int

    def __len__(self) -> int:
        return len(self.doc_numbers)

    def chunks(self, rows: Sequence[int]) -> list[Chunk]:
        """The passages of ``rows`` (numbered across the generation), in that order."""
        raise NotImplementedError

    def info(self, doc_id: str) -> DocumentInfo:
        raise NotImplementedError

    def infos(self) -> Iterator[DocumentInfo]:
        """Every document's record, by id."""
        raise NotImplementedError

    def text(self, doc_id: str) -> str | None:
        raise NotImplementedError

    def number(self, doc_id: str) -> int | None:
        """Where ``doc_id`` is in ``doc_ids`` (None if the segment has no such document)."""
        place = bisect_left(self.doc_ids, doc_id)
        return place if place < len(self.doc_ids) and self.doc_ids[place] == doc_id else None

    def rows_of(self, number: int) -> np.ndarray:
        """The rows (numbered across the generation) of document ``number``, in order."""
        first, last = self._bounds[number], self._bounds[number + 1]
        return self._by_document[first:last] + self.first_row

    @cached_property
    def _by_document(self) -> np.ndarray:
        return np.argsort(self.doc_numbers, kind="stable").astype(np.int32)

    @cached_property
    def _bounds(self) -> np.ndarray:
        return np.searchsorted(self.doc_numbers[self._by_document], np.arange(len(self.doc_ids) + 1))


class SegmentPassages(Segment):
    """A format 9 or 10 segment, read on demand from its chunk database.

    The connection stays open as long as the segment is served, so a segment deleted meanwhile stays readable on a
    local file system; the file is opened immutable (segment files never change), so SQLite takes no lock on it,
    which a network file system may not offer.
    """

    def __init__(self, path: Path, first_row: int) -> None:
        self._db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        self._db.execute(f"PRAGMA mmap_size = {MAPPED_BYTES}")
        self._lock = threading.RLock()  # one connection, used by the server's search threads in turn
        self._texts: OrderedDict[str, str] = OrderedDict()
        self._kept_chars = 0
        self._headings = lru_cache(maxsize=HEADINGS_KEPT)(headings)
        self._labels = has_page_labels(self._db)
        self.first_row = first_row
        self.doc_ids = [doc_id for (doc_id,) in self._db.execute("SELECT id FROM documents ORDER BY id")]
        # Streamed, so that loading makes no list of every row.
        found = self._db.execute("SELECT d.n FROM chunks c JOIN (SELECT id, ROW_NUMBER() OVER (ORDER BY id) - 1 AS n "
                                 "FROM documents) d ON d.id = c.doc_id ORDER BY c.row")
        self.doc_numbers = np.fromiter((n for (n,) in found), dtype=np.int32)

    def chunks(self, rows: Sequence[int]) -> list[Chunk]:
        wanted = sorted(set(rows))
        with self._lock:
            self._read_texts({self.doc_ids[n] for n in self.doc_numbers[np.asarray(wanted, dtype=np.int64) - self.first_row]})
            found = dict(zip(wanted, read_chunks(self._db, self._headings, self.text, wanted, self._labels)))
        return [found[row] for row in rows]

    def _read_texts(self, doc_ids: set[str]) -> None:
        """Read the texts of ``doc_ids`` not at hand in one query, rather than one query each."""
        missing = [doc_id for doc_id in doc_ids if doc_id not in self._texts]
        if missing:
            query = "SELECT id, text FROM documents WHERE id IN (SELECT value FROM json_each(?))"
            for doc_id, stored in self._db.execute(query, [json.dumps(missing)]):
                self._keep(doc_id, decompressed(stored))

    def info(self, doc_id: str) -> DocumentInfo:
        with self._lock:
            return DocumentInfo(*self._db.execute(f"SELECT {DOCUMENT_COLUMNS} FROM documents WHERE id = ?", (doc_id,)).fetchone())

    def infos(self) -> Iterator[DocumentInfo]:
        with self._lock:
            found = self._db.execute(f"SELECT {DOCUMENT_COLUMNS} FROM documents ORDER BY id").fetchall()
        return (DocumentInfo(*row) for row in found)

    def text(self, doc_id: str) -> str | None:
        """A document's whole text; the most recently read ones are kept decompressed."""
        with self._lock:
            text = self._texts.get(doc_id)
            if text is not None:
                self._texts.move_to_end(doc_id)
                return text
            text = document_text(self._db, doc_id)
            if text is not None:
                self._keep(doc_id, text)
            return text

    def _keep(self, doc_id: str, text: str) -> None:
        if len(text) > TEXTS_KEPT_CHARS or doc_id in self._texts:
            return
        self._texts[doc_id] = text
        self._kept_chars += len(text)
        while self._kept_chars > TEXTS_KEPT_CHARS:
            self._kept_chars -= len(self._texts.popitem(last=False)[1])


class ListedPassages(Segment):
    """A format 7 or 8 segment, converted and held in memory (bayqa.store.legacy)."""

    def __init__(self, chunks: list[Chunk], documents: dict[str, DocumentInfo], texts: dict[str, bytes], first_row: int) -> None:
        self._chunks, self._documents, self._texts = chunks, documents, texts
        self.first_row = first_row
        self.doc_ids = sorted(documents)
        number = {doc_id: n for n, doc_id in enumerate(self.doc_ids)}
        self.doc_numbers = np.array([number[c.doc_id] for c in chunks], dtype=np.int32)

    def chunks(self, rows: Sequence[int]) -> list[Chunk]:
        return [self._chunks[row - self.first_row] for row in rows]

    def info(self, doc_id: str) -> DocumentInfo:
        return self._documents[doc_id]

    def infos(self) -> Iterator[DocumentInfo]:
        return (self._documents[doc_id] for doc_id in self.doc_ids)

    def text(self, doc_id: str) -> str | None:
        stored = self._texts.get(doc_id)
        return None if stored is None else decompressed(stored)


class Passages(Sequence[Chunk]):
    """Every passage of a generation, numbered across its segments, read when asked for."""

    def __init__(self, parts: Sequence[Segment]) -> None:
        self.parts = list(parts)
        self.offsets = np.cumsum([0, *(len(p) for p in self.parts)])
        # Which document each row belongs to, for the many rows a search ranks: numbers into one list of ids (a
        # document changed since the main segment was written has a number in each segment).
        self._ids: list[str] = []
        numbers = []
        for part in self.parts:
            numbers.append(part.doc_numbers + len(self._ids))
            self._ids.extend(part.doc_ids)
        self._numbers = np.concatenate(numbers) if numbers else np.zeros(0, dtype=np.int32)

    def __len__(self) -> int:
        return int(self.offsets[-1])

    @overload
    def __getitem__(self, row: int) -> Chunk: ...

    @overload
    def __getitem__(self, row: slice) -> list[Chunk]: ...

    def __getitem__(self, row: int | slice) -> Chunk | list[Chunk]:
        if isinstance(row, slice):
            return self.many(range(*row.indices(len(self))))
        if not -len(self) <= row < len(self):
            raise IndexError(f"passage {row} of {len(self)}")
        return self.many([row % len(self)])[0]

    def __iter__(self) -> Iterator[Chunk]:
        for number in range(len(self.parts)):
            yield from self.many(range(int(self.offsets[number]), int(self.offsets[number + 1])))

    def __eq__(self, other: object) -> bool:
        """Equal to any sequence of the same passages (reads them all: for tests and tools, never for a search)."""
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def many(self, rows: Sequence[int]) -> list[Chunk]:
        """The passages of ``rows``, in that order, each segment's read at once."""

        def fetch(number: int, local: np.ndarray) -> np.ndarray:
            picked = np.empty(len(local), dtype=object)
            picked[:] = self.parts[number].chunks((local + self.offsets[number]).tolist())
            return picked

        return list(gathered(self.offsets, np.asarray(rows, dtype=np.int64), np.empty(len(rows), dtype=object), fetch))

    def doc_id(self, row: int) -> str:
        """The document of passage ``row``, without reading the passage."""
        return self._ids[self._numbers[row]]

    def rows_by_document(self, alive: np.ndarray | None) -> dict[str, list[int]]:
        """The rows of each document, in order, leaving out rows that are not ``alive`` (None: every row is)."""
        rows = np.arange(len(self)) if alive is None else np.flatnonzero(alive)
        numbers = self._numbers[rows]
        order = np.argsort(numbers, kind="stable")
        numbers, rows = numbers[order], rows[order]
        starts = np.flatnonzero(np.diff(numbers, prepend=-1))
        found: dict[str, list[int]] = {}
        for first, group in zip(numbers[starts].tolist(), np.split(rows, starts[1:])):
            found.setdefault(self._ids[first], []).extend(group.tolist())
        return found
