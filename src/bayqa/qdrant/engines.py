"""The two editions of Qdrant behind one small surface: a server (or qdrant-client's local mode) through
qdrant-client, and Qdrant Edge, the same engine inside this process.

What bayqa asks of an edition: create a collection for a generation's vectors, write points, say which segments a
collection holds (and how many points of each), delete a segment's points, drop a collection, move the alias, and
answer one batch of queries (``Ask``). Edge has no aliases and no collections: here a collection is a shard folder
under the Edge folder, and the alias a file naming one, replaced atomically.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bayqa.qdrant.points import BM25, DENSE, MULTILINGUAL, SENTENCES, PassagePoint
from bayqa.store.vectors import HNSW_BUILD_DEPTH, HNSW_NEIGHBOURS, HNSW_SEARCH_DEPTH

ALIAS = "bayqa"
ALIAS_FILE = "ALIAS"
SETTLE_SECONDS = 1800.0  # longest wait for a server to index a new generation's points before it goes live anyway
FACET_LIMIT = 1_000_000  # more segments than any collection has (a collection holds its main segment and a few tails)


@dataclass(frozen=True)
class Ask:
    """One search's queries, answered in two batch requests: the ``k`` best points of each ``prefetch`` signal
    among the points of ``segments`` (and of ``doc_ids`` when given), then every signal's score of each of them. Each
    signal is (vector name, question vector; for BM25 (indices, values)).

    Two requests, not one with prefetches: a request per signal would run the prefetch searches again for each, which
    measured twice as slow; and on a sharded server the candidates are the collection's best, as FAISS's are, not
    each shard's."""

    signals: tuple[tuple[str, Any], ...]
    prefetch: tuple[str, ...]
    k: int
    segments: tuple[str, ...]
    doc_ids: tuple[str, ...] | None = None


PLACE = ["segment", "offset"]  # the payload that says which passage a point is
#: A query's answer: (segment, offset, score) of each point found.
Found = list[tuple[str, int, float]]


@dataclass(frozen=True)
class Cluster:
    """How a server lays a collection out (docs/qdrant.md): ``shards`` over the nodes, ``replicas`` copies of each
    (a write returns once every copy has it, so no generation goes live on one copy only)."""

    shards: int = 1
    replicas: int = 1
    hnsw_ef: int = HNSW_SEARCH_DEPTH  # the graph search's breadth, as bayqa's own FAISS graph's
    oversampling: float = 2.0  # int8 candidates read per one kept, before rescoring with the float32 vectors


class ServerEngine:
    """A Qdrant server (``QdrantClient(url=...)``) or qdrant-client's local mode (a path or ``:memory:``)."""

    def __init__(self, client: Any, location: str = "local mode", cluster: Cluster = Cluster()) -> None:
        from qdrant_client import models

        self.client = client
        self.models = models
        self.location = location  # for messages
        self.cluster = cluster
        self.server = location.startswith(("http://", "https://"))  # not local mode, which keeps everything in RAM

    def collections(self) -> set[str]:
        return {c.name for c in self.client.get_collections().collections}

    def create(self, name: str, dimension: int, multilingual: int | None) -> None:
        m = self.models
        # On a server: searched vectors as int8 in RAM over float32 originals on disk, sentence vectors (read, never
        # searched) on disk without a graph (docs/qdrant.md has the sizes).
        int8 = m.ScalarQuantization(scalar=m.ScalarQuantizationConfig(type=m.ScalarType.INT8, quantile=0.99, always_ram=True))
        graph = m.HnswConfigDiff(m=HNSW_NEIGHBOURS, ef_construct=HNSW_BUILD_DEPTH)  # FAISS's graph's, for the same recall
        searched = {"quantization_config": int8, "on_disk": True, "hnsw_config": graph} if self.server else {"hnsw_config": graph}
        read_only = {"on_disk": True, "hnsw_config": m.HnswConfigDiff(m=0)} if self.server else {}
        vectors = {
            DENSE: m.VectorParams(size=dimension, distance=m.Distance.DOT, **searched),
            SENTENCES: m.VectorParams(size=dimension, distance=m.Distance.DOT, **read_only,
                                      multivector_config=m.MultiVectorConfig(comparator=m.MultiVectorComparator.MAX_SIM)),
        }
        if multilingual:
            vectors[MULTILINGUAL] = m.VectorParams(size=multilingual, distance=m.Distance.DOT, **searched)
        layout = {"shard_number": self.cluster.shards, "replication_factor": self.cluster.replicas,
                  "write_consistency_factor": self.cluster.replicas, "on_disk_payload": True} if self.server else {}
        self.client.create_collection(name, vectors_config=vectors, sparse_vectors_config={BM25: m.SparseVectorParams()}, **layout)
        if self.server:  # local mode has no payload indexes (and warns)
            for field in ("segment", "doc_id"):
                self.client.create_payload_index(name, field, field_schema=m.KeywordIndexParams(type=m.KeywordIndexType.KEYWORD, enable_hnsw=False))

    def upsert(self, name: str, points: list[PassagePoint]) -> None:
        structs = [self.models.PointStruct(id=p.id, vector=p.vectors(self.models.SparseVector), payload=p.payload) for p in points]
        self.client.upsert(name, points=structs, wait=True)

    def settle(self, name: str, timeout: float = SETTLE_SECONDS) -> None:
        """Wait (up to ``timeout`` seconds) until the server has built the collection's graphs: until then a search
        is right but reads the points not yet indexed one by one."""
        deadline = time.monotonic() + timeout
        while self.client.get_collection(name).status != self.models.CollectionStatus.GREEN and time.monotonic() < deadline:
            time.sleep(0.5)

    def segments(self, name: str) -> dict[str, int]:
        hits = self.client.facet(name, key="segment", limit=FACET_LIMIT, exact=True).hits
        return {str(h.value): int(h.count) for h in hits if h.count}  # Edge lists a deleted value with count 0

    def delete_segments(self, name: str, segments: list[str]) -> None:
        m = self.models
        self.client.delete(name, points_selector=m.Filter(must=[m.FieldCondition(key="segment", match=m.MatchAny(any=segments))]))

    def drop(self, name: str) -> None:
        self.client.delete_collection(name)

    def alias(self) -> str | None:
        found = [a.collection_name for a in self.client.get_aliases().aliases if a.alias_name == ALIAS]
        return found[0] if found else None

    def point_alias(self, name: str) -> None:
        """Point the alias at ``name``: the removal of the old link and the new one go in one request, which a
        Qdrant server applies atomically."""
        m = self.models
        operations: list[Any] = []
        if self.alias() is not None:
            operations.append(m.DeleteAliasOperation(delete_alias=m.DeleteAlias(alias_name=ALIAS)))
        operations.append(m.CreateAliasOperation(create_alias=m.CreateAlias(collection_name=name, alias_name=ALIAS)))
        self.client.update_collection_aliases(change_aliases_operations=operations)

    def query(self, name: str, ask: Ask) -> list[Found]:
        m = self.models
        wanted = [m.FieldCondition(key="segment", match=m.MatchAny(any=list(ask.segments)))]
        if ask.doc_ids is not None:
            wanted.append(m.FieldCondition(key="doc_id", match=m.MatchAny(any=list(ask.doc_ids))))
        queries = [(m.SparseVector(indices=q[0], values=q[1]) if using == BM25 else q, using) for using, q in ask.signals]
        params = None
        if self.server:
            rescored = m.QuantizationSearchParams(rescore=True, oversampling=self.cluster.oversampling)
            params = m.SearchParams(hnsw_ef=max(self.cluster.hnsw_ef, ask.k), quantization=rescored)
        first = [m.QueryRequest(query=q, using=using, limit=ask.k, filter=m.Filter(must=wanted), params=params, with_payload=PLACE)
                 for q, using in queries if using in ask.prefetch]
        found = _places(p for r in self.client.query_batch_points(name, requests=first) for p in r.points)
        if not found:
            return [[] for _ in queries]
        among = m.Filter(must=[m.HasIdCondition(has_id=sorted(found))])
        scored = [m.QueryRequest(query=q, using=using, limit=len(found), filter=among) for q, using in queries]
        return [_scored(r.points, found) for r in self.client.query_batch_points(name, requests=scored)]


class EdgeEngine:
    """Qdrant Edge in this process: a folder of shards, one a collection. A shard's files are locked by the process
    that opens it, so one process at a time uses an Edge folder; it keeps its shards open."""

    _open: dict[Path, Any] = {}
    _lock = threading.Lock()

    def __init__(self, folder: Path) -> None:
        import qdrant_edge

        self.edge = qdrant_edge
        self.folder = Path(folder).resolve()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.location = str(self.folder)

    def _shard(self, name: str) -> Any:
        path = self.folder / name
        with self._lock:
            shard = self._open.get(path)
            if shard is None:
                try:
                    shard = self._open[path] = self.edge.EdgeShard.load(str(path))
                except Exception as exc:  # the engine says only "WouldBlock" when another process holds the shard
                    raise RuntimeError(f"cannot open the Qdrant Edge shard {path} ({exc}); an Edge folder serves one process: "
                                       "stop the other bayqa process using it, or use a Qdrant server (BAYQA_QDRANT_URL=http://...)") from exc
            return shard

    def collections(self) -> set[str]:
        return {p.name for p in self.folder.iterdir() if p.is_dir()}

    def create(self, name: str, dimension: int, multilingual: int | None) -> None:
        e = self.edge
        max_sim = e.MultiVectorConfig(comparator=e.MultiVectorComparator.MaxSim)
        graph = e.HnswIndexConfig(m=HNSW_NEIGHBOURS, ef_construct=HNSW_BUILD_DEPTH, full_scan_threshold=10_000)
        vectors = {
            DENSE: e.EdgeVectorParams(size=dimension, distance=e.Distance.Dot, hnsw_config=graph),
            # Read, never searched: no graph (m 0), as on a server.
            SENTENCES: e.EdgeVectorParams(size=dimension, distance=e.Distance.Dot, multivector_config=max_sim,
                                          hnsw_config=e.HnswIndexConfig(m=0, ef_construct=100, full_scan_threshold=10_000)),
        }
        if multilingual:
            vectors[MULTILINGUAL] = e.EdgeVectorParams(size=multilingual, distance=e.Distance.Dot, hnsw_config=graph)
        config = e.EdgeConfig(vectors=vectors, sparse_vectors={BM25: e.EdgeSparseVectorParams()})
        path = self.folder / name
        with self._lock:
            shard = self._open[path] = e.EdgeShard.create(str(path), config)
        for field in ("segment", "doc_id"):
            shard.update(e.UpdateOperation.create_field_index(field, e.PayloadSchemaType.Keyword))

    def upsert(self, name: str, points: list[PassagePoint]) -> None:
        e = self.edge
        shard = self._shard(name)
        shard.update(e.UpdateOperation.upsert_points([e.Point(p.id, p.vectors(e.SparseVector), p.payload) for p in points]))
        shard.flush()

    def settle(self, name: str) -> None:
        """Build the collection's search graphs now: Edge has no background optimizer, and a search of points not
        yet indexed reads every one of them."""
        self._shard(name).optimize()

    def segments(self, name: str) -> dict[str, int]:
        hits = self._shard(name).facet(self.edge.FacetRequest("segment", limit=FACET_LIMIT, exact=True)).hits
        return {str(h.value): int(h.count) for h in hits if h.count}  # Edge lists a deleted value with count 0

    def delete_segments(self, name: str, segments: list[str]) -> None:
        e = self.edge
        shard = self._shard(name)
        shard.update(e.UpdateOperation.delete_points_by_filter(e.Filter(must=[e.FieldCondition("segment", match=e.MatchAny(segments))])))
        shard.flush()

    def drop(self, name: str) -> None:
        path = self.folder / name
        with self._lock:
            shard = self._open.pop(path, None)
        if shard is not None:
            shard.close()
        shutil.rmtree(path, ignore_errors=True)

    def alias(self) -> str | None:
        path = self.folder / ALIAS_FILE
        return path.read_text(encoding="utf-8").strip() if path.exists() else None

    def point_alias(self, name: str) -> None:
        partial = self.folder / f"{ALIAS_FILE}.partial"
        partial.write_text(name, encoding="utf-8")
        os.replace(partial, self.folder / ALIAS_FILE)

    def query(self, name: str, ask: Ask) -> list[Found]:
        e = self.edge
        wanted = [e.FieldCondition("segment", match=e.MatchAny(list(ask.segments)))]
        if ask.doc_ids is not None:
            wanted.append(e.FieldCondition("doc_id", match=e.MatchAny(list(ask.doc_ids))))
        nearest = [(e.Query.Nearest(e.SparseVector(indices=q[0], values=q[1]) if using == BM25 else q, using=using), using)
                   for using, q in ask.signals]
        shard = self._shard(name)
        breadth = e.SearchParams(hnsw_ef=max(HNSW_SEARCH_DEPTH, ask.k))
        first = [e.QueryRequest(limit=ask.k, query=q, filter=e.Filter(must=wanted), params=breadth, with_payload=PLACE)
                 for q, using in nearest if using in ask.prefetch]
        found = _places(p for points in shard.query_batch(e.QueryBatchRequest(first)) for p in points)
        if not found:
            return [[] for _ in nearest]
        among = e.Filter(must=[e.HasIdCondition(set(found))])
        scored = [e.QueryRequest(limit=len(found), query=q, filter=among) for q, _ in nearest]
        return [_scored(points, found) for points in shard.query_batch(e.QueryBatchRequest(scored))]


def _places(points: Iterable[Any]) -> dict[Any, tuple[str, int]]:
    """Each candidate point's (segment, offset), by id: read once, with the candidates, since reading payloads
    costs more than scoring (three signals would read each one three times)."""
    return {p.id: (p.payload["segment"], int(p.payload["offset"])) for p in points}


def _scored(points: Iterable[Any], places: dict[Any, tuple[str, int]]) -> Found:
    return [(*places[p.id], float(p.score)) for p in points]


def engine_at(location: str, cluster: Cluster = Cluster(), api_key: str | None = None) -> ServerEngine | EdgeEngine:
    """The edition a BAYQA_QDRANT_URL value names: an http(s) URL is a Qdrant server (laid out as ``cluster``
    says), ``:memory:`` qdrant-client's local mode (tests), anything else a folder for Qdrant Edge."""
    if location.startswith(("http://", "https://")):
        from qdrant_client import QdrantClient

        # No version check at start: it would call the server before bayqa needs it (and warn when it is down).
        return ServerEngine(QdrantClient(url=location, api_key=api_key, check_compatibility=False), location, cluster)
    if location == ":memory:":
        from qdrant_client import QdrantClient

        return ServerEngine(QdrantClient(":memory:"))
    return EdgeEngine(Path(location))
