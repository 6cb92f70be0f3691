"""BM25 keyword scoring of passages, kept as a sparse matrix of term counts so that it updates in place.

Row ``i`` of the keyword index is row ``i`` of the FAISS index and of the ``chunks`` table. A passage
is indexed with its title and heading path in front, as it is embedded, so a question naming the
document or section finds it.

Why not a BM25 library's own index: bm25s (which the tests use as the yardstick for the scores) stores
finished BM25 scores, and those depend on collection-wide statistics, so adding one document means
re-tokenizing every passage (2.8 s per 10k) and re-scoring them all (bm25s.index: 6.4 s at 100k
passages already tokenized). Term counts do not depend on the rest of the collection: each segment of
the index keeps the counts of its own passages, an update counts only the new passages (those of the tail
segment it writes), and a server computes the statistics from the segments' postings (bayqa.postings) on loading.
This module builds and extends the counts; bayqa.postings stores them by term and scores them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from bayqa.postings import B, K1, KeywordSearch, Postings
from bayqa.terms import terms

if TYPE_CHECKING:
    from bayqa.query import Query

__all__ = ["B", "K1", "KeywordIndex"]


class KeywordIndex:
    """BM25 scores of every passage for a question, from per-passage term counts."""

    def __init__(self, counts: sp.csr_matrix, vocab: dict[str, int]) -> None:
        self.counts = counts
        self.vocab = vocab
        self.size = counts.shape[0]

    @cached_property
    def search(self) -> KeywordSearch:
        """BM25 over these counts (every row a passage that counts)."""
        return KeywordSearch([self.postings()])

    @classmethod
    def build(cls, texts: Sequence[str]) -> KeywordIndex:
        return cls.empty().extended([], texts)

    @classmethod
    def empty(cls) -> KeywordIndex:
        return cls(sp.csr_matrix((0, 0), dtype=np.float32), {})

    def extended(self, kept_rows: Sequence[int], texts: Sequence[str]) -> KeywordIndex:
        """A new index of this one's ``kept_rows`` (in that order) followed by ``texts``; only ``texts`` are tokenized."""
        vocab = dict(self.vocab)
        rows: list[int] = []
        columns: list[int] = []
        for row, text in enumerate(texts):
            for term in terms(text):
                rows.append(row)
                columns.append(vocab.setdefault(term, len(vocab)))
        fresh = sp.csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, columns)), shape=(len(texts), len(vocab))
        )
        fresh.sum_duplicates()
        keep = np.asarray(kept_rows, dtype=np.int64)
        if len(keep) == self.size and np.array_equal(keep, np.arange(self.size)):
            kept = self.counts.copy()  # every row, in order (an addition): no row gather
        elif len(keep):
            kept = self.counts[keep]
        else:
            kept = sp.csr_matrix((0, len(vocab)), dtype=np.float32)
        kept.resize((kept.shape[0], len(vocab)))
        return KeywordIndex(sp.vstack([kept, fresh], format="csr", dtype=np.float32), vocab)

    @classmethod
    def joined(cls, parts: Sequence[KeywordIndex]) -> KeywordIndex:
        """One index of several segments' indexes, their rows in order: the first keeps its columns, and the
        others' terms are mapped onto them (a term new to the first gets a new column)."""
        if len(parts) == 1:
            return parts[0]
        vocab = dict(parts[0].vocab)
        columns = [np.arange(len(vocab), dtype=np.int32)]  # each part's columns in the joined index
        for part in parts[1:]:
            to_joined = np.zeros(len(part.vocab), dtype=np.int32)
            for term, column in part.vocab.items():
                to_joined[column] = vocab.setdefault(term, len(vocab))
            columns.append(to_joined)
        blocks = [sp.csr_matrix((p.counts.data, to_joined[p.counts.indices], p.counts.indptr), shape=(p.size, len(vocab)))
                  for p, to_joined in zip(parts, columns)]  # new matrices: the parts stay as they are, shared
        return KeywordIndex(sp.vstack(blocks, format="csr", dtype=np.float32), vocab)

    def save(self, folder: Path) -> None:
        """Store the counts by term, uncompressed, so that servers map them rather than read them (bayqa.postings)."""
        folder.mkdir()
        self.postings().save(folder)

    @classmethod
    def load(cls, folder: Path, size: int) -> KeywordIndex:
        """The counts of the ``size`` passages stored in ``folder`` (as postings, or as a matrix before format 10)."""
        if Postings.stored_in(folder):
            postings = Postings.load(folder, size)
            return cls(postings.matrix(), postings.vocab)
        vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        return cls(sp.load_npz(folder / "counts.npz").tocsr(), vocab)

    def postings(self) -> Postings:
        """These counts by term, in memory."""
        return Postings.of(self.counts, self.vocab)

    # Searching these counts alone, as if they were a generation of one segment (the tests compare it with bm25s).

    def idf(self, term: str) -> float:
        return self.search.idf(term)

    def query_terms(self, query: Query) -> list[str]:
        return self.search.query_terms(query)

    def scores(self, query: Query) -> np.ndarray:
        return self.search.scores(query)

    def found_in(self, row: int, wanted: Iterable[str]) -> set[str]:
        return self.search.found_in(row, wanted)
