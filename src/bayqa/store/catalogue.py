"""What a generation knows of its documents without holding their records: which are live, which segment holds each,
and which rows each has. The records and texts themselves are read from the segments when asked for
(bayqa.store.passages)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection, Iterator, Mapping, Sequence

import numpy as np

from bayqa.store.manifest import DocumentInfo
from bayqa.store.passages import Passages, Segment


class Documents(Mapping[str, DocumentInfo]):
    """The live documents of a generation by id, in id order: the main segment's but those ``gone`` (retired: removed,
    or changed, and then live in the tail), and the tail's."""

    def __init__(self, parts: Sequence[Segment], gone: Collection[str]) -> None:
        self._parts = list(parts)
        self._gone = frozenset(gone)
        live = {doc_id for doc_id in parts[0].doc_ids if doc_id not in self._gone}
        self._ids = sorted(live.union(*(part.doc_ids for part in parts[1:])))

    def __contains__(self, doc_id: object) -> bool:
        if not isinstance(doc_id, str):
            return False
        place = bisect_left(self._ids, doc_id)
        return place < len(self._ids) and self._ids[place] == doc_id

    def __getitem__(self, doc_id: str) -> DocumentInfo:
        holder = self.holder(doc_id)
        if holder is None:
            raise KeyError(doc_id)
        return holder.info(doc_id)

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def holder(self, doc_id: str) -> Segment | None:
        """The segment whose entry of ``doc_id`` is live (None if no segment's is)."""
        for number in range(len(self._parts) - 1, -1, -1):
            part = self._parts[number]
            if part.number(doc_id) is not None:
                return None if number == 0 and doc_id in self._gone else part
        return None

    def values(self) -> list[DocumentInfo]:  # type: ignore[override]
        """Every live document's record, in id order: each segment's read at once."""
        records: dict[str, DocumentInfo] = {}
        for number, part in enumerate(self._parts):
            records.update((info.id, info) for info in part.infos() if number or info.id not in self._gone)
        return [records[doc_id] for doc_id in self._ids]

    def items(self) -> list[tuple[str, DocumentInfo]]:  # type: ignore[override]
        return [(info.id, info) for info in self.values()]


class RowsByDocument(Mapping[str, list[int]]):
    """The rows of each live document that count (not retired), in order; a document without any is not in it."""

    def __init__(self, passages: Passages, documents: Documents, alive: np.ndarray | None) -> None:
        self._passages, self._documents, self._alive = passages, documents, alive

    def __getitem__(self, doc_id: str) -> list[int]:
        holder = self._documents.holder(doc_id)
        number = holder.number(doc_id) if holder is not None else None
        if holder is None or number is None:
            raise KeyError(doc_id)
        rows = holder.rows_of(number)
        if self._alive is not None:
            rows = rows[self._alive[rows]]
        if not len(rows):
            raise KeyError(doc_id)
        return rows.tolist()

    def _every(self) -> dict[str, list[int]]:
        return self._passages.rows_by_document(self._alive)

    def __iter__(self) -> Iterator[str]:
        return iter(self._every())

    def __len__(self) -> int:
        return len(self._every())

    def items(self) -> list[tuple[str, list[int]]]:  # type: ignore[override]
        return list(self._every().items())
