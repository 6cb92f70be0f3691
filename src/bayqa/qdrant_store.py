"""A bayqa generation as a Qdrant collection, and the three search signals read back from it.

Each live passage becomes one point: its dense vector (``dense``, dot product, as FAISS scores it), its sentence
vectors as a multivector (``sentences``, MaxSim of dot products: bayqa's best-sentence cosine), and its BM25 terms
as a sparse vector (``bm25``) whose values are the term-frequency part of bayqa's BM25 (Lucene's variant, with
bayqa's k1 and b). Qdrant's IDF modifier multiplies each matched value by ln(1 + (N - df + 0.5) / (df + 0.5)) over
the points that have a sparse vector, which is bayqa's own IDF over the passages that have a term: the dot product
with a question's term counts is then bayqa's BM25 score.

The length normalisation is baked into the values with the generation's average passage length, so a collection
is written whole for a generation; incremental updates that change the average drift from bayqa's scores until the
next export (bayqa recomputes it at every load).

Not imported by the rest of bayqa yet: this is the first step of storing large collections in Qdrant.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from qdrant_client import models

from bayqa.postings import B, K1
from bayqa.query import Query
from bayqa.store import LoadedIndex
from bayqa.store.codes import dequantize

ALIAS = "bayqa"
DENSE, SENTENCES, BM25 = "dense", "sentences", "bm25"
BATCH = 256  # points a request writes: large enough to amortise a request, small enough to stay under its size limit
# Point ids are UUIDs derived from the chunk id, so that writing a passage again replaces it instead of adding one.
ID_NAMESPACE = uuid.UUID("6f0f3c52-6c55-4a52-9a1e-3b1d2c7a9e10")


def point_id(chunk_id: str) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, chunk_id))


def term_id(term: str) -> int:
    """A term's sparse index: a stable 32-bit hash, the same in every generation and process (Qdrant's indices are
    unsigned 32-bit). Two terms may share one; ``term_collisions`` counts them in a vocabulary."""
    return int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=4).digest(), "little")


def term_collisions(terms: Sequence[str]) -> int:
    """How many of ``terms`` share their sparse index with an earlier one."""
    return len(terms) - len({term_id(t) for t in terms})


def sparse_query(query: Query) -> models.SparseVector | None:
    """The question's terms as a sparse vector of their counts (a repeated term counts again, as in bayqa)."""
    counts: dict[int, float] = {}
    for term in query.terms:
        index = term_id(term)
        counts[index] = counts.get(index, 0.0) + 1.0
    if not counts:
        return None
    indices = sorted(counts)
    return models.SparseVector(indices=indices, values=[counts[i] for i in indices])


@dataclass(frozen=True)
class ExportReport:
    collection: str
    points: int
    without_terms: int  # passages with no BM25 term: no sparse vector, so outside Qdrant's IDF corpus as in bayqa's
    without_sentences: int
    term_collisions: int


def create_collection(client: Any, collection: str, dimension: int) -> None:
    client.create_collection(
        collection,
        vectors_config={
            DENSE: models.VectorParams(size=dimension, distance=models.Distance.DOT),
            SENTENCES: models.VectorParams(
                size=dimension, distance=models.Distance.DOT,
                multivector_config=models.MultiVectorConfig(comparator=models.MultiVectorComparator.MAX_SIM),
            ),
        },
        sparse_vectors_config={BM25: models.SparseVectorParams(modifier=models.Modifier.IDF)},
    )


def live_rows(index: LoadedIndex) -> np.ndarray:
    rows = np.arange(len(index.chunks), dtype=np.int64)
    return rows if index.alive is None else rows[index.alive]


def term_saturations(index: LoadedIndex) -> tuple[Any, np.ndarray]:
    """Each row's BM25 term-frequency parts tf / (tf + k1 (1 - b + b length / average length)), as a sparse matrix
    (a row per passage, a column per term of the returned sparse indices); retired rows are left out of the average
    and of the passages counted, as in bayqa.postings.KeywordSearch."""
    counts = index.keyword_counts()
    matrix = counts.counts.tocsr().astype(np.float32)
    lengths = np.asarray(matrix.sum(axis=1)).ravel()
    if index.alive is not None:
        lengths[~index.alive] = 0.0
    with_terms = np.count_nonzero(lengths)
    average = float(lengths.sum()) / with_terms if with_terms else 0.0
    norm = (K1 * ((1 - B) + B * lengths / average) if average > 0 else np.full(len(lengths), K1)).astype(np.float32)
    saturated = matrix.copy()
    tf = saturated.data
    saturated.data = tf / (tf + np.repeat(norm, np.diff(saturated.indptr)))
    columns = np.empty(len(counts.vocab), dtype=np.int64)
    for term, column in counts.vocab.items():
        columns[column] = term_id(term)
    return saturated, columns


def _sparse_row(matrix: Any, columns: np.ndarray, row: int) -> models.SparseVector | None:
    first, last = matrix.indptr[row], matrix.indptr[row + 1]
    if first == last:
        return None
    indices, values = columns[matrix.indices[first:last]], matrix.data[first:last]
    unique, where = np.unique(indices, return_inverse=True)
    merged = np.zeros(len(unique), dtype=np.float64)
    np.add.at(merged, where, values)  # terms sharing an index add up, as their scores would
    return models.SparseVector(indices=unique.tolist(), values=merged.tolist())


def _points(index: LoadedIndex, rows: np.ndarray, matrix: Any, columns: np.ndarray) -> Iterator[tuple[models.PointStruct, bool, bool]]:
    """The points of ``rows``, each with whether it has terms and sentences."""
    dimension = index.manifest.dimension
    dense = index.vectors_of(rows.tolist())
    chunks = index.chunks.many(rows.tolist())
    picked, lengths = index.sentence_rows(rows)
    sentences = dequantize(index.sentence_vectors[picked], dimension)
    ends = np.cumsum(lengths)
    for i, (row, chunk) in enumerate(zip(rows.tolist(), chunks)):
        vector: dict[str, Any] = {DENSE: dense[i].tolist()}
        own = sentences[ends[i] - lengths[i] : ends[i]]
        if len(own):
            vector[SENTENCES] = own.tolist()
        sparse = _sparse_row(matrix, columns, row)
        if sparse is not None:
            vector[BM25] = sparse
        payload = {"doc_id": chunk.doc_id, "row": row, "chunk_id": chunk.id}
        yield models.PointStruct(id=point_id(chunk.id), vector=vector, payload=payload), sparse is not None, bool(len(own))


def export_generation(index: LoadedIndex, client: Any, collection: str, alias: str | None = ALIAS) -> ExportReport:
    """Write every live passage of ``index`` into a new ``collection``, then point ``alias`` (unless None) at it in
    one alias operation (searches through the alias see the old collection or the new one, never a mix)."""
    create_collection(client, collection, index.manifest.dimension)
    matrix, columns = term_saturations(index)
    rows = live_rows(index)
    points = without_terms = without_sentences = 0
    for first in range(0, len(rows), BATCH):
        batch = list(_points(index, rows[first : first + BATCH], matrix, columns))
        client.upsert(collection, points=[p for p, _, _ in batch], wait=True)
        points += len(batch)
        without_terms += sum(not terms for _, terms, _ in batch)
        without_sentences += sum(not sentences for _, _, sentences in batch)
    if alias is not None:
        switch_alias(client, collection, alias)
    used = np.unique(matrix.indices) if matrix.nnz else np.zeros(0, dtype=np.int64)
    collisions = len(used) - len(np.unique(columns[used]))
    return ExportReport(collection, points, without_terms, without_sentences, collisions)


def switch_alias(client: Any, collection: str, alias: str = ALIAS) -> None:
    """Point ``alias`` at ``collection``: the removal of the old link and the new one go in one request, which a
    Qdrant server applies atomically."""
    operations: list[Any] = []
    if any(a.alias_name == alias for a in client.get_aliases().aliases):
        operations.append(models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias)))
    operations.append(models.CreateAliasOperation(create_alias=models.CreateAlias(collection_name=collection, alias_name=alias)))
    client.update_collection_aliases(change_aliases_operations=operations)


@dataclass(frozen=True)
class Signals:
    """The candidates of one question (rows of the generation, by dense score, then row) and each one's three
    signals: dense cosine, best-sentence cosine (-1 without sentences) and BM25 (0 without a matching term)."""

    rows: np.ndarray
    dense: np.ndarray
    sentences: np.ndarray
    bm25: np.ndarray


class QdrantCandidates:
    """Candidates of a question from a collection (or alias) written by ``export_generation``: the ``k`` nearest by
    dense vector and the ``k`` best by BM25, each of their union with all three signals, in one batch request."""

    def __init__(self, client: Any, collection: str = ALIAS) -> None:
        self.client = client
        self.collection = collection

    def search(self, query: Query, vector: np.ndarray, k: int) -> Signals:
        dense_query = np.asarray(vector, dtype=np.float32).tolist()
        sparse = sparse_query(query)
        prefetch = [models.Prefetch(query=dense_query, using=DENSE, limit=k)]
        if sparse is not None:
            prefetch.append(models.Prefetch(query=sparse, using=BM25, limit=k))
        # The same union rescored by each signal: Qdrant returns one score a point, so one query a signal.
        rescored: list[tuple[Any, str]] = [(dense_query, DENSE), ([dense_query], SENTENCES)]
        if sparse is not None:
            rescored.append((sparse, BM25))
        requests = [
            models.QueryRequest(prefetch=prefetch, query=q, using=name, limit=2 * k, with_payload=["row"]) for q, name in rescored
        ]
        responses = self.client.query_batch_points(self.collection, requests=requests)
        by_signal = [{int(p.payload["row"]): p.score for p in r.points} for r in responses]
        rows = np.array(sorted(set().union(*by_signal)), dtype=np.int64)
        missing = (None, -1.0, 0.0)  # a row a signal did not return: no dense score cannot happen; no sentences; no term
        columns = [np.array([found.get(int(r), default) for r in rows], dtype=np.float64) for found, default in zip(by_signal, missing)]
        if len(columns) < 3:
            columns.append(np.zeros(len(rows)))
        order = np.lexsort((rows, -columns[0]))
        return Signals(rows[order], columns[0][order], columns[1][order], columns[2][order])
