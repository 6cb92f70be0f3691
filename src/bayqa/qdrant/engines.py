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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bayqa.qdrant.points import BM25, DENSE, MULTILINGUAL, SENTENCES, PassagePoint

ALIAS = "bayqa"
ALIAS_FILE = "ALIAS"
FACET_LIMIT = 1_000_000  # more segments than any collection has (a collection holds its main segment and a few tails)


@dataclass(frozen=True)
class Ask:
    """One search's queries: each signal's (vector name, question vector; for BM25 (indices, values)) rescored
    over the union of the ``k`` best points of each ``prefetch`` signal, among the points of ``segments`` (and of
    ``doc_ids`` when given)."""

    signals: tuple[tuple[str, Any], ...]
    prefetch: tuple[str, ...]
    k: int
    segments: tuple[str, ...]
    doc_ids: tuple[str, ...] | None = None

    @property
    def limit(self) -> int:
        return self.k * len(self.prefetch)


#: A query's answer: (segment, offset, score) of each point found.
Found = list[tuple[str, int, float]]


class ServerEngine:
    """A Qdrant server (``QdrantClient(url=...)``) or qdrant-client's local mode (a path or ``:memory:``)."""

    def __init__(self, client: Any, location: str = "local mode") -> None:
        from qdrant_client import models

        self.client = client
        self.models = models
        self.location = location  # for messages

    def collections(self) -> set[str]:
        return {c.name for c in self.client.get_collections().collections}

    def create(self, name: str, dimension: int, multilingual: int | None) -> None:
        m = self.models
        vectors = {
            DENSE: m.VectorParams(size=dimension, distance=m.Distance.DOT),
            SENTENCES: m.VectorParams(size=dimension, distance=m.Distance.DOT,
                                      multivector_config=m.MultiVectorConfig(comparator=m.MultiVectorComparator.MAX_SIM)),
        }
        if multilingual:
            vectors[MULTILINGUAL] = m.VectorParams(size=multilingual, distance=m.Distance.DOT)
        self.client.create_collection(name, vectors_config=vectors,
                                      sparse_vectors_config={BM25: m.SparseVectorParams()})
        if self.location.startswith(("http://", "https://")):  # local mode has no payload indexes (and warns)
            for field in ("segment", "doc_id"):
                self.client.create_payload_index(name, field, field_schema=m.PayloadSchemaType.KEYWORD)

    def upsert(self, name: str, points: list[PassagePoint]) -> None:
        structs = [self.models.PointStruct(id=p.id, vector=p.vectors(self.models.SparseVector), payload=p.payload) for p in points]
        self.client.upsert(name, points=structs, wait=True)

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
        where = m.Filter(must=wanted)
        queries = [(m.SparseVector(indices=q[0], values=q[1]) if using == BM25 else q, using) for using, q in ask.signals]
        prefetch = [m.Prefetch(query=q, using=using, limit=ask.k, filter=where) for q, using in queries if using in ask.prefetch]
        requests = [m.QueryRequest(prefetch=prefetch, query=q, using=using, limit=ask.limit, filter=where,
                                   with_payload=["segment", "offset"]) for q, using in queries]
        responses = self.client.query_batch_points(name, requests=requests)
        return [[(p.payload["segment"], int(p.payload["offset"]), float(p.score)) for p in r.points] for r in responses]


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
        vectors = {
            DENSE: e.EdgeVectorParams(size=dimension, distance=e.Distance.Dot),
            SENTENCES: e.EdgeVectorParams(size=dimension, distance=e.Distance.Dot, multivector_config=max_sim),
        }
        if multilingual:
            vectors[MULTILINGUAL] = e.EdgeVectorParams(size=multilingual, distance=e.Distance.Dot)
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
        where = e.Filter(must=wanted)
        nearest = [(e.Query.Nearest(e.SparseVector(indices=q[0], values=q[1]) if using == BM25 else q, using=using), using)
                   for using, q in ask.signals]
        prefetch = [e.Prefetch(limit=ask.k, query=q, filter=where) for q, using in nearest if using in ask.prefetch]
        requests = [e.QueryRequest(limit=ask.limit, query=q, prefetches=prefetch, filter=where, with_payload=["segment", "offset"])
                    for q, _ in nearest]
        responses = self._shard(name).query_batch(e.QueryBatchRequest(requests))
        return [[(p.payload["segment"], int(p.payload["offset"]), float(p.score)) for p in points] for points in responses]


def engine_at(location: str) -> ServerEngine | EdgeEngine:
    """The edition a BAYQA_QDRANT_URL value names: an http(s) URL is a Qdrant server, ``:memory:`` qdrant-client's
    local mode (tests), anything else a folder for Qdrant Edge."""
    if location.startswith(("http://", "https://")):
        from qdrant_client import QdrantClient

        return ServerEngine(QdrantClient(url=location, check_compatibility=False), location)
    if location == ":memory:":
        from qdrant_client import QdrantClient

        return ServerEngine(QdrantClient(":memory:"))
    return EdgeEngine(Path(location))
