"""Rows of several segments read as one, numbered across them, without joining them: a join would copy every row
into the process's own memory, where each part may be a read-only map of a segment file that every process reading
the index shares through the page cache."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


def gathered(
    offsets: np.ndarray, rows: np.ndarray, out: np.ndarray, fetch: Callable[[int, np.ndarray], np.ndarray],
) -> np.ndarray:
    """Fill ``out`` with ``rows`` (numbered across parts that start at ``offsets``), each part's rows fetched at
    once with ``fetch(part number, rows within it)``."""
    which = np.searchsorted(offsets, rows, side="right") - 1
    for number in range(len(offsets) - 1):
        mine = np.flatnonzero(which == number)
        if len(mine):
            out[mine] = fetch(number, rows[mine] - offsets[number])
    return out


class Stacked:
    """Arrays with the same shape of row, one after the other, indexed like one array along the first axis: an
    integer array of rows gathers them (a copy, like numpy), a slice within one part is a view of it."""

    def __init__(self, parts: Sequence[np.ndarray]) -> None:
        if not parts:
            raise ValueError("Stacked needs at least one array")
        self.parts = list(parts)
        self.offsets = np.cumsum([0, *(len(p) for p in self.parts)])
        self.dtype = self.parts[0].dtype
        self.shape = (int(self.offsets[-1]), *self.parts[0].shape[1:])

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: slice | Sequence[int] | np.ndarray) -> np.ndarray:
        if isinstance(rows, slice):
            start, stop, step = rows.indices(len(self))
            if step == 1 and start < stop:
                number = int(np.searchsorted(self.offsets, start, side="right")) - 1
                first = int(self.offsets[number])
                if stop <= self.offsets[number + 1]:
                    return self.parts[number][start - first : stop - first]
            rows = np.arange(start, stop, step)
        return self.take(np.asarray(rows, dtype=np.int64))

    def take(self, rows: np.ndarray) -> np.ndarray:
        if len(self.parts) == 1:
            return self.parts[0][rows]
        out = np.empty((len(rows), *self.shape[1:]), dtype=self.dtype)
        return gathered(self.offsets, rows, out, lambda number, local: self.parts[number][local])

    def head(self, rows: int) -> Stacked:
        """The first ``rows`` rows, still without a copy."""
        return Stacked([self[:rows]]) if rows else Stacked([self.parts[0][:0]])

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        joined = np.concatenate(self.parts) if len(self.parts) > 1 else np.asarray(self.parts[0])
        return joined if dtype is None else joined.astype(dtype)
