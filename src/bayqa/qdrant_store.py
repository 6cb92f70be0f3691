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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
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


def sparse_query(query: Query) -> tuple[list[int], list[float]] | None:
    """The question's terms as sparse (indices, values) of their counts (a repeated term counts again, as in bayqa)."""
    counts: dict[int, float] = {}
    for term in query.terms:
        index = term_id(term)
        counts[index] = counts.get(index, 0.0) + 1.0
    if not counts:
        return None
    indices = sorted(counts)
    return indices, [counts[i] for i in indices]


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


def _sparse_row(matrix: Any, columns: np.ndarray, row: int) -> tuple[list[int], list[float]] | None:
    first, last = matrix.indptr[row], matrix.indptr[row + 1]
    if first == last:
        return None
    indices, values = columns[matrix.indices[first:last]], matrix.data[first:last]
    unique, where = np.unique(indices, return_inverse=True)
    merged = np.zeros(len(unique), dtype=np.float64)
    np.add.at(merged, where, values)  # terms sharing an index add up (and share one IDF: the report counts them)
    return unique.tolist(), merged.tolist()


@dataclass(frozen=True)
class PassagePoint:
    """One passage as either Qdrant edition writes it: ``sentences`` and ``terms`` are None when it has none."""

    id: str
    dense: list[float]
    sentences: list[list[float]] | None
    terms: tuple[list[int], list[float]] | None
    payload: dict[str, Any]


def passage_points(index: LoadedIndex) -> Iterator[list[PassagePoint]]:
    """The live passages of ``index`` as points, BATCH at a time."""
    matrix, columns = term_saturations(index)
    rows = live_rows(index)
    for first in range(0, len(rows), BATCH):
        yield list(_points(index, rows[first : first + BATCH], matrix, columns))


def _points(index: LoadedIndex, rows: np.ndarray, matrix: Any, columns: np.ndarray) -> Iterator[PassagePoint]:
    dense = index.vectors_of(rows.tolist())
    chunks = index.chunks.many(rows.tolist())
    picked, lengths = index.sentence_rows(rows)
    sentences = dequantize(index.sentence_vectors[picked], index.manifest.dimension)
    ends = np.cumsum(lengths)
    for i, (row, chunk) in enumerate(zip(rows.tolist(), chunks)):
        own = sentences[ends[i] - lengths[i] : ends[i]]
        payload = {"doc_id": chunk.doc_id, "row": row, "chunk_id": chunk.id}
        yield PassagePoint(point_id(chunk.id), dense[i].tolist(), own.tolist() if len(own) else None, _sparse_row(matrix, columns, row), payload)


def _vectors(point: PassagePoint, sparse: Callable[..., Any]) -> dict[str, Any]:
    """The named vectors of ``point``, its terms made a sparse vector by ``sparse(indices=, values=)``."""
    vectors: dict[str, Any] = {DENSE: point.dense}
    if point.sentences is not None:
        vectors[SENTENCES] = point.sentences
    if point.terms is not None:
        vectors[BM25] = sparse(indices=point.terms[0], values=point.terms[1])
    return vectors


def _write(index: LoadedIndex, name: str, upsert: Callable[[list[PassagePoint]], None]) -> ExportReport:
    points = without_terms = without_sentences = 0
    for batch in passage_points(index):
        upsert(batch)
        points += len(batch)
        without_terms += sum(p.terms is None for p in batch)
        without_sentences += sum(p.sentences is None for p in batch)
    counts = index.keyword_counts()
    used = np.flatnonzero(np.diff(counts.counts.tocsc().indptr))
    vocabulary = sorted(counts.vocab, key=counts.vocab.__getitem__)
    return ExportReport(name, points, without_terms, without_sentences, term_collisions([vocabulary[c] for c in used]))


def export_generation(index: LoadedIndex, client: Any, collection: str, alias: str | None = ALIAS) -> ExportReport:
    """Write every live passage of ``index`` into a new ``collection`` through ``client`` (a QdrantClient: a server
    URL, a path or ``:memory:``), then point ``alias`` (unless None) at it in one alias operation (searches through
    the alias see the old collection or the new one, never a mix)."""
    create_collection(client, collection, index.manifest.dimension)

    def upsert(batch: list[PassagePoint]) -> None:
        structs = [models.PointStruct(id=p.id, vector=_vectors(p, models.SparseVector), payload=p.payload) for p in batch]
        client.upsert(collection, points=structs, wait=True)

    report = _write(index, collection, upsert)
    if alias is not None:
        switch_alias(client, collection, alias)
    return report


def export_edge(index: LoadedIndex, path: Path) -> tuple[Any, ExportReport]:
    """Write every live passage of ``index`` into a new Qdrant Edge shard (Qdrant's engine in this process) at
    ``path``; the shard, open, and what was written. Edge shards have no aliases: a generation is a folder."""
    import qdrant_edge as edge

    dimension = index.manifest.dimension
    max_sim = edge.MultiVectorConfig(comparator=edge.MultiVectorComparator.MaxSim)
    config = edge.EdgeConfig(
        vectors={
            DENSE: edge.EdgeVectorParams(size=dimension, distance=edge.Distance.Dot),
            SENTENCES: edge.EdgeVectorParams(size=dimension, distance=edge.Distance.Dot, multivector_config=max_sim),
        },
        sparse_vectors={BM25: edge.EdgeSparseVectorParams(modifier=edge.Modifier.Idf)},
    )
    shard = edge.EdgeShard.create(str(path), config)

    def upsert(batch: list[PassagePoint]) -> None:
        shard.update(edge.UpdateOperation.upsert_points([edge.Point(p.id, _vectors(p, edge.SparseVector), p.payload) for p in batch]))

    report = _write(index, str(path), upsert)
    shard.flush()
    return shard, report


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

    @classmethod
    def of(cls, found: Sequence[dict[int, float]]) -> Signals:
        """From each signal's scores by row over the same union of candidates (BM25's missing when the question
        has no term)."""
        rows = np.array(sorted(set().union(*found)), dtype=np.int64)
        missing = (0.0, -1.0, 0.0)  # a row a signal did not return: no sentences, or no matching term
        columns = [np.array([f.get(int(r), d) for r in rows], dtype=np.float64) for f, d in zip(found, missing)]
        columns += [np.zeros(len(rows))] * (3 - len(columns))
        order = np.lexsort((rows, -columns[0]))
        return cls(rows[order], columns[0][order], columns[1][order], columns[2][order])


def _signal_queries(query: Query, vector: np.ndarray) -> list[tuple[Any, str]]:
    """(query vector, vector name) for each signal, the question's terms as (indices, values)."""
    dense = np.asarray(vector, dtype=np.float32).tolist()
    sparse = sparse_query(query)
    return [(dense, DENSE), ([dense], SENTENCES)] + ([] if sparse is None else [(sparse, BM25)])


class QdrantCandidates:
    """Candidates of a question from a collection (or alias) written by ``export_generation``: the ``k`` nearest by
    dense vector and the ``k`` best by BM25, each of their union with all three signals, in one batch request
    (Qdrant returns one score a point, so the union is rescored once a signal)."""

    def __init__(self, client: Any, collection: str = ALIAS) -> None:
        self.client = client
        self.collection = collection

    def search(self, query: Query, vector: np.ndarray, k: int) -> Signals:
        signals = [(models.SparseVector(indices=q[0], values=q[1]) if name == BM25 else q, name) for q, name in _signal_queries(query, vector)]
        prefetch = [models.Prefetch(query=q, using=name, limit=k) for q, name in signals if name != SENTENCES]
        requests = [models.QueryRequest(prefetch=prefetch, query=q, using=name, limit=2 * k, with_payload=["row"]) for q, name in signals]
        responses = self.client.query_batch_points(self.collection, requests=requests)
        return Signals.of([{int(p.payload["row"]): p.score for p in r.points} for r in responses])


class EdgeCandidates:
    """The same candidates and signals from a Qdrant Edge shard written by ``export_edge``, in one batch query."""

    def __init__(self, shard: Any) -> None:
        self.shard = shard

    def search(self, query: Query, vector: np.ndarray, k: int) -> Signals:
        import qdrant_edge as edge

        signals = _signal_queries(query, vector)
        nearest = [edge.Query.Nearest(edge.SparseVector(indices=q[0], values=q[1]) if name == BM25 else q, using=name) for q, name in signals]
        prefetch = [edge.Prefetch(limit=k, query=q) for q, (_, name) in zip(nearest, signals) if name != SENTENCES]
        requests = [edge.QueryRequest(limit=2 * k, query=q, prefetches=prefetch, with_payload=["row"]) for q in nearest]
        responses = self.shard.query_batch(edge.QueryBatchRequest(requests))
        return Signals.of([{int(p.payload["row"]): p.score for p in points} for points in responses])
