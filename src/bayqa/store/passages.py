"""A generation's passages and document texts, read from its segments' chunk databases when they are asked for.

Every passage held in memory would cost each process that serves the index its own copy: a few hundred bytes a
passage, the largest part of a server's memory after the vectors. A search shows a few passages, so only which
document each row belongs to stays in memory; a passage is read (with SQLite's pages mapped from the file, which the
processes share) when a hit or a document needs it, and the texts of recently read documents are kept at hand.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import overload

import numpy as np

from bayqa.chunking import Chunk
from bayqa.store.chunkdb import document_infos, document_text, headings, read_chunks
from bayqa.store.manifest import DocumentInfo
from bayqa.store.stacked import gathered

TEXTS_KEPT_CHARS = 4_000_000  # characters of recently read document texts a segment keeps decompressed
MAPPED_BYTES = 1 << 40  # SQLite reads the whole file through one read-only map (shared), up to this size
HEADINGS_KEPT = 4096  # parsed heading paths kept: a section's passages share one


class SegmentPassages:
    """One segment's passages and documents, read on demand from its chunk database.

    The connection stays open as long as the segment is served, so a segment deleted meanwhile stays readable on a
    local file system; the file is opened immutable (segment files never change), so SQLite takes no lock on it,
    which a network file system may not offer.
    """

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        self._db.execute(f"PRAGMA mmap_size = {MAPPED_BYTES}")
        self._lock = threading.RLock()  # one connection, used by the server's search threads in turn
        self._texts: OrderedDict[str, str] = OrderedDict()
        self._kept_chars = 0
        self._headings = lru_cache(maxsize=HEADINGS_KEPT)(headings)
        self.documents: dict[str, DocumentInfo] = document_infos(self._db)
        self.doc_ids = list(self.documents)
        number = {doc_id: n for n, doc_id in enumerate(self.doc_ids)}
        found = self._db.execute("SELECT row, doc_id FROM chunks ORDER BY row").fetchall()
        #: The document of each row (a number into ``doc_ids``).
        self.doc_numbers = np.fromiter((number[doc_id] for _, doc_id in found), dtype=np.int32, count=len(found))

    def __len__(self) -> int:
        return len(self.doc_numbers)

    def chunks(self, rows: Sequence[int]) -> list[Chunk]:
        """The passages of ``rows`` (the generation's row numbers), in that order."""
        wanted = sorted(set(rows))
        with self._lock:
            found = dict(zip(wanted, read_chunks(self._db, self._headings, self.text, wanted)))
        return [found[row] for row in rows]

    def text(self, doc_id: str) -> str | None:
        """A document's whole text; the most recently read ones are kept decompressed."""
        with self._lock:
            text = self._texts.get(doc_id)
            if text is not None:
                self._texts.move_to_end(doc_id)
                return text
            text = document_text(self._db, doc_id)
            if text is not None and len(text) <= TEXTS_KEPT_CHARS:
                self._texts[doc_id] = text
                self._kept_chars += len(text)
                while self._kept_chars > TEXTS_KEPT_CHARS:
                    self._kept_chars -= len(self._texts.popitem(last=False)[1])
            return text

    def close(self) -> None:
        self._db.close()


class Passages(Sequence[Chunk]):
    """Every passage of a generation, numbered across its segments: a segment read on demand (SegmentPassages),
    or a list of passages in memory (formats 7 and 8)."""

    def __init__(self, parts: Sequence[SegmentPassages | list[Chunk]]) -> None:
        self.parts = list(parts)
        self.offsets = np.cumsum([0, *(len(p) for p in self.parts)])
        # Which document each row belongs to, for the many rows a search ranks: numbers into one list of ids (a
        # document changed since the main segment was written has a number in each segment).
        self._ids: list[str] = []
        numbers = []
        for part in self.parts:
            ids = [c.doc_id for c in part] if isinstance(part, list) else part.doc_ids
            local = np.arange(len(part), dtype=np.int32) if isinstance(part, list) else part.doc_numbers
            numbers.append(local + len(self._ids))
            self._ids.extend(ids)
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
            part = self.parts[number]
            found = [part[i] for i in local.tolist()] if isinstance(part, list) else part.chunks((local + self.offsets[number]).tolist())
            picked = np.empty(len(found), dtype=object)
            picked[:] = found
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
