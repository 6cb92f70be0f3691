"""The search signals of a question's candidates, and what a store that finds candidates must offer.

bayqa finds candidates itself (FAISS and its own BM25 postings, bayqa.search) or asks a store that holds the same
vectors and terms (Qdrant, bayqa.qdrant); either way the signals below reach the same fusion, answer sentence and
confidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from bayqa.query import Query


@dataclass(frozen=True)
class Signals:
    """Candidate rows of a generation, by dense score then row, with each one's signals: dense cosine,
    best-sentence cosine (-1 without sentences), BM25 (0 without a matching term) and the multilingual cosine
    (None when not asked for)."""

    rows: np.ndarray
    dense: np.ndarray
    sentences: np.ndarray
    bm25: np.ndarray
    multilingual: np.ndarray | None = None

    @classmethod
    def of(cls, found: list[dict[int, float]], multilingual: bool = False) -> Signals:
        """From each signal's scores by row over one union of candidates (dense, sentences, BM25, then the
        multilingual cosine when ``multilingual``); BM25's list is missing when the question has no term."""
        if multilingual:
            found, second = found[:-1], found[-1]
        rows = np.array(sorted(set().union(*found, *([second] if multilingual else []))), dtype=np.int64)
        missing = (0.0, -1.0, 0.0)  # a row a signal did not return: no sentences, or no matching term
        columns = [np.array([f.get(int(r), d) for r in rows], dtype=np.float64) for f, d in zip(found, missing)]
        columns += [np.zeros(len(rows))] * (3 - len(columns))
        if multilingual:
            columns.append(np.array([second.get(int(r), 0.0) for r in rows], dtype=np.float64))
        order = np.lexsort((rows, -columns[0]))
        return cls(rows[order], *(c[order] for c in columns))

    def keep(self, wanted: np.ndarray) -> Signals:
        """Only the rows where ``wanted`` (a mask over ``rows``) is true."""
        return Signals(self.rows[wanted], self.dense[wanted], self.sentences[wanted], self.bm25[wanted],
                       None if self.multilingual is None else self.multilingual[wanted])


class CandidateStore(Protocol):
    """A store that finds a question's candidates in one generation and scores them."""

    def signals(self, query: Query, vector: np.ndarray, second: np.ndarray | None, wanted: int,
                doc_ids: frozenset[str] | None) -> Signals:
        """The ``wanted`` nearest rows by dense vector, the ``wanted`` best by BM25 and, given ``second`` (the
        question's multilingual vector), the ``wanted`` nearest by it, each scored by every signal; only rows of
        ``doc_ids`` when given, never a retired row."""
        ...


class StoreUnavailable(Exception):
    """The store that finds candidates could not be reached or refused a request; the message says which and why."""
