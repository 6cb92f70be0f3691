"""BM25 keyword scoring of passages, kept as a sparse matrix of term counts so that it updates in place.

Row ``i`` of the keyword index is row ``i`` of the FAISS index and of the ``chunks`` table. A passage
is indexed with its title and heading path in front, as it is embedded, so a question naming the
document or section finds it.

Why not a BM25 library's own index: bm25s (which the tests use as the yardstick for the scores) stores
finished BM25 scores, and those depend on collection-wide statistics, so adding one document means
re-tokenizing every passage (2.8 s per 10k) and re-scoring them all (bm25s.index: 6.4 s at 100k
passages already tokenized). Term counts do not depend on the rest of the collection: each segment of
the index keeps the counts of its own passages, an update counts only the new passages (those of the tail
segment it writes), and a server joins the segments' counts and recomputes the statistics (document
frequencies, average length) on loading, 0.15 s at 100k passages.
The scores are Lucene's BM25 variant, identical to bm25s with ``method="lucene"``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from bayqa.terms import terms

if TYPE_CHECKING:
    from bayqa.query import Query

# Chosen on the SciFact train split, on a plateau of k1 0.7-1.2 and b 0.4-0.5 (docs/experiments.md); 0.9 / 0.4 is
# also Anserini's default.
K1 = 0.9
B = 0.4


@dataclass(frozen=True)
class _Statistics:
    postings: np.ndarray  # column pointers: term t's passages are rows[postings[t]:postings[t + 1]]
    rows: np.ndarray
    saturation: np.ndarray  # tf / (tf + k1 * (1 - b + b * length / average length)) of each posting
    passages: int  # passages with any term: blanked rows (retired passages) count for nothing


class KeywordIndex:
    """BM25 scores of every passage for a question, from per-passage term counts."""

    def __init__(self, counts: sp.csr_matrix, vocab: dict[str, int]) -> None:
        self.counts = counts
        self.vocab = vocab
        self.size = counts.shape[0]

    @cached_property
    def _statistics(self) -> _Statistics:
        """Postings by term with their term-frequency saturation: computed on first use, since a build that only
        extends and saves the counts never needs them (0.15 s at 100k passages)."""
        by_term = self.counts.tocsc()
        lengths = np.asarray(self.counts.sum(axis=1), dtype=np.float64).ravel()
        passages = int(np.count_nonzero(lengths))
        average = float(lengths.sum()) / passages if passages else 0.0
        norm = K1 * ((1 - B) + B * lengths / average) if average > 0 else np.full(self.size, K1)
        # The term-frequency part of BM25 does not depend on the question, so it is computed once per posting and a
        # question only weighs and adds it. float32 like the counts, so a question's arithmetic stays in float32.
        # In place, in one new array the size of the postings: a server's peak memory is set while loading.
        tf = by_term.data
        saturation = norm.astype(np.float32)[by_term.indices]
        saturation += tf
        np.divide(tf, saturation, out=saturation)
        return _Statistics(by_term.indptr, by_term.indices, saturation, passages)

    def prepare(self) -> KeywordIndex:
        """Compute the search statistics now (a server does it on loading, not on its first question)."""
        self._statistics
        return self

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

    def blanked(self, rows: Sequence[int]) -> KeywordIndex:
        """This index with no terms left in ``rows``: retired passages keep their row numbers but match nothing."""
        if not len(rows):
            return self
        keep = np.ones(self.size, dtype=np.float32)
        keep[np.asarray(rows, dtype=np.int64)] = 0.0
        counts = (sp.diags(keep, format="csr") @ self.counts).tocsr()
        counts.eliminate_zeros()
        return KeywordIndex(counts, self.vocab)

    def save(self, folder: Path) -> None:
        folder.mkdir()
        # Compressed: about a quarter of the size, for a slower save that only a rebuild pays (an update writes the
        # counts of the tail alone).
        sp.save_npz(folder / "counts.npz", self.counts, compressed=True)
        (folder / "vocab.json").write_text(json.dumps(self.vocab, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex:
        vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        return cls(sp.load_npz(folder / "counts.npz").tocsr(), vocab)

    def _document_frequency(self, term: str) -> int:
        column = self.vocab.get(term)
        if column is None:
            return 0
        postings = self._statistics.postings
        return int(postings[column + 1] - postings[column])

    def found_in(self, row: int, wanted: Iterable[str]) -> set[str]:
        """Those of the ``wanted`` terms that passage ``row`` contains (no tokenizing: its counts row says)."""
        columns = set(self.counts.indices[self.counts.indptr[row] : self.counts.indptr[row + 1]].tolist())
        return {t for t in wanted if self.vocab.get(t) in columns}

    def idf(self, term: str) -> float:
        """Inverse document frequency over passages; a term no passage contains gets the highest value."""
        return math.log(1.0 + (self._statistics.passages + 1) / (self._document_frequency(term) + 0.5))

    def query_terms(self, query: Query) -> list[str]:
        """The question's terms that occur in some passage (the others cannot score)."""
        return [t for t in query.terms if self._document_frequency(t) > 0]

    def scores(self, query: Query) -> np.ndarray:
        """BM25 score of every passage (0 where no term matches); a term repeated in the question counts again."""
        stats = self._statistics
        rows, parts = [np.zeros(0, dtype=stats.rows.dtype)], [np.zeros(0, dtype=np.float32)]
        for term in self.query_terms(query):
            column = self.vocab[term]
            first, last = stats.postings[column], stats.postings[column + 1]
            df = last - first
            weight = math.log(1.0 + (stats.passages - df + 0.5) / (df + 0.5))
            rows.append(stats.rows[first:last])
            parts.append(np.float32(weight) * stats.saturation[first:last])
        # One summing pass over all the postings: faster than adding each term's postings into the scores in turn.
        return np.bincount(np.concatenate(rows), np.concatenate(parts), minlength=self.size).astype(np.float32)
