"""BM25 searched from term postings: for each term, the passages that contain it and how often.

A segment stores its postings in three plain arrays (``starts.npy``, ``rows.npy``, ``counts.npy`` beside its
``vocab.json``), which a server maps read-only instead of reading: every process that searches the segment shares
one copy in the page cache. The scores depend on collection statistics (document frequencies, average length),
which change with every update, so they are not stored: a search weighs the postings of the question's terms as it
goes, and a server computes only the length of each passage when it loads a generation.

The scores are Lucene's BM25 variant, identical to bm25s with ``method="lucene"``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:
    from bayqa.query import Query

# Chosen on the SciFact train split, on a plateau of k1 0.7-1.2 and b 0.4-0.5 (docs/experiments.md); 0.9 / 0.4 is
# also Anserini's default.
K1 = 0.9
B = 0.4
VOCAB_FILE = "vocab.json"
POSTING_FILES = ("starts.npy", "rows.npy", "counts.npy")
LENGTHS_SLICE = 1 << 20  # postings summed at once when a search is made (16 MB of temporaries)
FREQUENCIES_KEPT = 65536  # terms whose frequency a search keeps at hand (with retired rows)


@dataclass(frozen=True)
class Postings:
    """One segment's term counts by term: term ``vocab[t]``'s passages are ``rows[starts[t]:starts[t + 1]]``, in
    row order, with their counts of it in ``counts`` (rows numbered within the segment)."""

    vocab: dict[str, int]
    starts: np.ndarray
    rows: np.ndarray
    counts: np.ndarray
    size: int  # passages of the segment, some of which may have no term

    @classmethod
    def of(cls, counts: sp.csr_matrix, vocab: dict[str, int]) -> Postings:
        """The postings of a matrix of term counts (a row per passage, a column per term), in memory."""
        by_term = counts.tocsc()
        by_term.sort_indices()
        rows = by_term.indices.astype(np.int32)
        return cls(vocab, by_term.indptr.astype(np.int64), rows, _narrow(by_term.data), counts.shape[0])

    def save(self, folder: Path) -> None:
        (folder / VOCAB_FILE).write_text(json.dumps(self.vocab, ensure_ascii=False), encoding="utf-8")
        for name, array in zip(POSTING_FILES, (self.starts, self.rows, self.counts)):
            np.save(folder / name, array)

    @classmethod
    def load(cls, folder: Path, size: int) -> Postings:
        """The postings of a segment of ``size`` passages, mapped read-only from its files."""
        starts, rows, counts = (mapped(folder / name) for name in POSTING_FILES)
        return cls(json.loads((folder / VOCAB_FILE).read_text(encoding="utf-8")), starts, rows, counts, size)

    @staticmethod
    def stored_in(folder: Path) -> bool:
        return (folder / POSTING_FILES[0]).exists()

    def matrix(self) -> sp.csr_matrix:
        """The counts as a matrix again (a row per passage), for a build to extend."""
        counts = np.asarray(self.counts, dtype=np.float32)
        by_term = sp.csc_matrix((counts, self.rows, self.starts), shape=(self.size, len(self.vocab)))
        return by_term.tocsr()

    def lengths(self) -> np.ndarray:
        """How many terms each passage has (float64; exact, since they are small whole numbers). Summed a slice of
        the postings at a time: converting all of them at once would cost 16 bytes an entry for a moment."""
        total = np.zeros(self.size, dtype=np.float64)
        for first in range(0, len(self.rows), LENGTHS_SLICE):
            last = first + LENGTHS_SLICE
            total += np.bincount(self.rows[first:last], weights=self.counts[first:last], minlength=self.size)
        return total

    def of_term(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """The rows that contain ``term`` and their counts of it (views of the stored arrays)."""
        column = self.vocab.get(term)
        if column is None:
            return self.rows[:0], self.counts[:0]
        first, last = self.starts[column], self.starts[column + 1]
        return self.rows[first:last], self.counts[first:last]


def mapped(path: Path) -> np.ndarray:
    """An array file mapped read-only, as a plain array (slicing np.memmap costs more than the slice itself)."""
    return np.load(path, mmap_mode="r").view(np.ndarray)


def _narrow(counts: np.ndarray) -> np.ndarray:
    """Counts are whole numbers, far under 65,536 in a passage that fits the model's window: two bytes each."""
    if len(counts) and counts.max() > np.iinfo(np.uint16).max:
        return counts.astype(np.float32)
    return counts.astype(np.uint16)


class KeywordSearch:
    """BM25 scores of every passage of some segments, numbered across them, for a question.

    Rows of ``retired`` keep their numbers but count for nothing: no terms, no length, no share of the statistics.
    """

    def __init__(self, parts: Sequence[Postings], retired: Sequence[int] = ()) -> None:
        self.parts = list(parts)
        self.offsets = np.cumsum([0, *(p.size for p in self.parts)])
        self.size = int(self.offsets[-1])
        self.alive: np.ndarray | None = None
        if len(retired):
            self.alive = np.ones(self.size, dtype=bool)
            self.alive[np.asarray(retired, dtype=np.int64)] = False
        lengths = np.concatenate([p.lengths() for p in self.parts]) if self.parts else np.zeros(0)
        if self.alive is not None:
            lengths[~self.alive] = 0.0
        self.passages = int(np.count_nonzero(lengths))  # passages with any term: retired ones count for nothing
        average = float(lengths.sum()) / self.passages if self.passages else 0.0
        # The term-frequency part of BM25 divides by this for each passage; float32 like the counts, so that a
        # question's arithmetic stays in float32.
        norm = K1 * ((1 - B) + B * lengths / average) if average > 0 else np.full(self.size, K1)
        self.norm = norm.astype(np.float32)
        self._frequencies: dict[str, int] = {}  # a question asks for each term's several times; with retired rows each is a pass

    def _postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """The rows (numbered across segments, in order) that contain ``term``, and their counts of it."""
        rows, counts = [], []
        for part, offset in zip(self.parts, self.offsets):
            local, found = part.of_term(term)
            if len(local):
                rows.append(local + offset if offset else local)
                counts.append(found)
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        joined, tf = (np.concatenate(rows), np.concatenate(counts)) if len(rows) > 1 else (rows[0], counts[0])
        if self.alive is not None:
            keep = self.alive[joined]
            joined, tf = joined[keep], tf[keep]
        return joined, tf

    def document_frequency(self, term: str) -> int:
        """How many passages (not retired) contain ``term``."""
        if self.alive is None:
            return sum(len(part.of_term(term)[0]) for part in self.parts)
        found = self._frequencies.get(term)
        if found is None:
            if len(self._frequencies) >= FREQUENCIES_KEPT:
                self._frequencies.clear()
            found = self._frequencies[term] = len(self._postings(term)[0])
        return found

    def idf(self, term: str) -> float:
        """Inverse document frequency over passages; a term no passage contains gets the highest value."""
        return math.log(1.0 + (self.passages + 1) / (self.document_frequency(term) + 0.5))

    def weight(self, term: str, df: int | None = None) -> float:
        """BM25's IDF of ``term`` (Lucene's, never negative), from its document frequency ``df`` if known."""
        df = self.document_frequency(term) if df is None else df
        return math.log(1.0 + (self.passages - df + 0.5) / (df + 0.5))

    def query_terms(self, query: Query) -> list[str]:
        """The question's terms that occur in some passage (the others cannot score)."""
        return [t for t in (*query.terms, *query.translated) if self.document_frequency(t) > 0]

    def scores(self, query: Query) -> np.ndarray:
        """BM25 score of every passage (0 where no term matches); a term repeated in the question counts again."""
        rows, parts = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.float32)]
        for term in self.query_terms(query):
            found, counts = self._postings(term)
            weight = self.weight(term, len(found))
            tf = counts.astype(np.float32)
            saturation = self.norm[found]
            saturation += tf
            np.divide(tf, saturation, out=saturation)  # tf / (tf + k1 * (1 - b + b * length / average length))
            rows.append(found)
            parts.append(np.float32(weight) * saturation)
        # One summing pass over all the postings: faster than adding each term's postings into the scores in turn.
        return np.bincount(np.concatenate(rows), np.concatenate(parts), minlength=self.size).astype(np.float32)

    def held(self, wanted: Collection[str]) -> set[str]:
        """Those of the ``wanted`` terms that some segment counts (a quick test: their passages may all be retired)."""
        return set().union(*(part.vocab.keys() & wanted for part in self.parts))

    def rows_with(self, wanted: Iterable[str]) -> np.ndarray:
        """The rows (not retired) that contain every one of the ``wanted`` terms, in order."""
        rows: np.ndarray | None = None
        for term in sorted(set(wanted), key=self.document_frequency):  # the rarest first: the smallest intersections
            found = self._postings(term)[0]
            rows = found if rows is None else np.intersect1d(rows, found, assume_unique=True)
            if not len(rows):
                break
        return np.zeros(0, dtype=np.int64) if rows is None else rows

    def found_in(self, row: int, wanted: Iterable[str]) -> set[str]:
        """Those of the ``wanted`` terms that passage ``row`` contains (none, for a retired one)."""
        if self.alive is not None and not self.alive[row]:
            return set()
        number = int(np.searchsorted(self.offsets, row, side="right")) - 1
        part, local = self.parts[number], row - int(self.offsets[number])
        found = set()
        for term in wanted:
            rows = part.of_term(term)[0]
            place = int(np.searchsorted(rows, local))
            if place < len(rows) and rows[place] == local:
                found.add(term)
        return found
