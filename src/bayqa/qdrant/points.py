"""A generation's passages as Qdrant points, and a question's terms as a sparse vector.

A point is one passage of one segment (segments never change once written, so a point is never rewritten): its id
comes from the segment's name and the passage's place in it. It holds the dense vector (``dense``, dot product, as
FAISS scores it), the sentence vectors as a multivector (``sentences``, MaxSim of dot products: bayqa's
best-sentence cosine), the multilingual vector when the index has one (``multilingual``), and its BM25 terms as a
sparse vector (``bm25``) whose values are the term-frequency part of bayqa's BM25 (Lucene's variant, with bayqa's k1
and b). The question's sparse vector carries each term's IDF, from the generation being served (bayqa's own: live
passages only, and the same on every shard, which Qdrant's IDF modifier would not be), so the dot product is
bayqa's BM25 score.

The length normalisation is baked into a segment's values with the average passage length of the generation that
wrote it: after updates, BM25 drifts a little from bayqa's (which recomputes the average at every load) until the
next rebuild.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bayqa.postings import KeywordSearch
from bayqa.query import Query
from bayqa.store import LoadedIndex
from bayqa.store.codes import dequantize

DENSE, SENTENCES, BM25, MULTILINGUAL = "dense", "sentences", "bm25", "multilingual"
BATCH = 256  # points a request writes: large enough to amortise a request, small enough to stay under its size limit
# Point ids are UUIDs derived from (segment, place), so that writing a segment again replaces its points.
ID_NAMESPACE = uuid.UUID("6f0f3c52-6c55-4a52-9a1e-3b1d2c7a9e10")


def point_id(segment: str, offset: int) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, f"{segment}/{offset}"))


def term_id(term: str) -> int:
    """A term's sparse index: a stable 32-bit hash, the same in every generation and process (Qdrant's indices are
    unsigned 32-bit). Two terms may share one; ``term_collisions`` counts them in a vocabulary."""
    return int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=4).digest(), "little")


def term_collisions(terms: Sequence[str]) -> int:
    """How many of ``terms`` share their sparse index with an earlier one."""
    return len(terms) - len({term_id(t) for t in terms})


def sparse_query(query: Query, keyword: KeywordSearch) -> tuple[list[int], list[float]] | None:
    """The question's terms as sparse (indices, values): each term's count (a repeated term counts again, as in
    bayqa) times its BM25 IDF in the generation ``keyword`` searches; terms no passage has are left out."""
    values: dict[int, float] = {}
    for term in (*query.terms, *query.translated):
        if keyword.document_frequency(term) > 0:
            index = term_id(term)
            values[index] = values.get(index, 0.0) + keyword.weight(term)
    if not values:
        return None
    indices = sorted(values)
    return indices, [values[i] for i in indices]


@dataclass(frozen=True)
class PassagePoint:
    """One passage as either Qdrant edition writes it: ``sentences``, ``terms`` and ``multilingual`` are None when it
    has none."""

    id: str
    dense: list[float]
    sentences: list[list[float]] | None
    terms: tuple[list[int], list[float]] | None
    multilingual: list[float] | None
    payload: dict[str, Any]

    def vectors(self, sparse: Any) -> dict[str, Any]:
        """The named vectors, the terms made a sparse vector by ``sparse(indices=, values=)`` of the edition."""
        vectors: dict[str, Any] = {DENSE: self.dense}
        if self.sentences is not None:
            vectors[SENTENCES] = self.sentences
        if self.multilingual is not None:
            vectors[MULTILINGUAL] = self.multilingual
        if self.terms is not None:
            vectors[BM25] = sparse(indices=self.terms[0], values=self.terms[1])
        return vectors


def segment_points(index: LoadedIndex, number: int) -> Iterator[list[PassagePoint]]:
    """Every passage of segment ``number`` of ``index`` (retired ones too: a generation that still serves them may
    read the same collection) as points, BATCH at a time."""
    name = index.manifest.segments[number][0]
    first = int(index.keyword.offsets[number])
    postings = index.keyword.parts[number]
    saturated = postings.matrix().astype(np.float32)
    tf = saturated.data
    saturated.data = tf / (tf + np.repeat(index.keyword.norm[first : first + postings.size], np.diff(saturated.indptr)))
    columns = np.empty(len(postings.vocab), dtype=np.int64)
    for term, column in postings.vocab.items():
        columns[column] = term_id(term)
    for start in range(0, postings.size, BATCH):
        offsets = np.arange(start, min(start + BATCH, postings.size), dtype=np.int64)
        yield list(_points(index, name, first, offsets, saturated, columns))


def _points(index: LoadedIndex, name: str, first: int, offsets: np.ndarray, matrix: Any, columns: np.ndarray) -> Iterator[PassagePoint]:
    rows = (offsets + first).tolist()
    dense = index.vectors_of(rows)
    multilingual = index.multilingual_of(rows) if index.multilingual is not None else None
    docs = [index.chunks.doc_id(r) for r in rows]
    picked, lengths = index.sentence_rows(np.asarray(rows, dtype=np.int64))
    sentences = dequantize(index.sentence_vectors[picked], index.manifest.dimension)
    ends = np.cumsum(lengths)
    for i, offset in enumerate(offsets.tolist()):
        own = sentences[ends[i] - lengths[i] : ends[i]]
        yield PassagePoint(
            point_id(name, offset), dense[i].tolist(), own.tolist() if len(own) else None, _sparse_row(matrix, columns, offset),
            None if multilingual is None else multilingual[i].tolist(), {"segment": name, "offset": offset, "doc_id": docs[i]},
        )


def _sparse_row(matrix: Any, columns: np.ndarray, row: int) -> tuple[list[int], list[float]] | None:
    first, last = matrix.indptr[row], matrix.indptr[row + 1]
    if first == last:
        return None
    indices, values = columns[matrix.indices[first:last]], matrix.data[first:last]
    unique, where = np.unique(indices, return_inverse=True)
    merged = np.zeros(len(unique), dtype=np.float64)
    np.add.at(merged, where, values)  # terms sharing an index add up (and share one IDF: term_collisions counts them)
    return unique.tolist(), merged.tolist()
