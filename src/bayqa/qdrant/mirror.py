"""Keeping a Qdrant collection in step with the index folder, and reading a question's candidates from it.

The index folder stays the source of truth (passages, sentence spans, documents, manifests); Qdrant holds what grows
with the collection and is searched: the vectors and the BM25 terms, as points of segments (bayqa.qdrant.points).
A collection holds the segments of the generations that share one main segment: it is named after the index folder
(an id kept in it, so that folders sharing one Qdrant never touch each other's collections) and that segment, so a
rebuild (or a model change) writes a new collection and moves the alias ``bayqa`` to it, while an update (a patch:
the same main segment and a new tail) adds the new tail's points to the same collection.

A search never mixes generations: it reads the collection of the generation it serves and asks only for the
points of that generation's segments (a payload filter), and drops the rows that generation retired. Points of a
segment no generation names are deleted when the folder deletes the segment itself (after its grace period, since
a server may still serve a generation that names it), and a collection whose main segment is gone is dropped.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from tqdm import tqdm

from bayqa.qdrant.engines import Ask, Cluster, EdgeEngine, ServerEngine, engine_at
from bayqa.qdrant.points import BM25, DENSE, MULTILINGUAL, SENTENCES, segment_points, sparse_query
from bayqa.query import Query
from bayqa.signals import Signals, StoreUnavailable
from bayqa.store import LoadedIndex
from bayqa.store.shared import segment_names

log = logging.getLogger("bayqa.qdrant")
PREFIX = "bayqa-"
ID_FILE = "qdrant-id"  # in the index folder: the name of its collections (bayqa-<id>-<main segment>)


@contextmanager
def reaching(engine: ServerEngine | EdgeEngine) -> Iterator[None]:
    """Any failure of the engine as StoreUnavailable, naming where it is."""
    try:
        yield
    except StoreUnavailable:
        raise
    except Exception as exc:  # connection refused, a timeout, a locked Edge folder, a refused request: all the same to a caller
        raise StoreUnavailable(f"the Qdrant store at {engine.location} failed: {str(exc).strip() or type(exc).__name__}; "
                               "check that it is running and reachable (BAYQA_QDRANT_URL)") from exc


def folder_id(root: Path, create: bool = False) -> str | None:
    """The name the index folder at ``root`` gives its collections, so that folders sharing one Qdrant never touch
    each other's (None before its first write; ``create`` makes one, atomically)."""
    path = root / ID_FILE
    if not path.exists() and create:
        partial = root / f"{ID_FILE}.{os.getpid()}.partial"
        partial.write_text(secrets.token_hex(4), encoding="utf-8")
        os.replace(partial, path)
    return path.read_text(encoding="utf-8").strip() if path.exists() else None


def collection_of(index: LoadedIndex) -> str:
    """The collection that holds ``index``'s points: named after its index folder and its main segment."""
    return f"{PREFIX}{folder_id(index.path.parent) or 'unwritten'}-{index.manifest.segments[0][0]}"


class QdrantMirror:
    """A Qdrant edition (server, local mode or Edge folder) holding the points of an index folder's generations."""

    def __init__(self, engine: ServerEngine | EdgeEngine) -> None:
        self.engine = engine

    @classmethod
    def at(cls, location: str, cluster: Cluster = Cluster(), api_key: str | None = None) -> QdrantMirror:
        return cls(engine_at(location, cluster, api_key))

    def missing(self, index: LoadedIndex) -> list[str]:
        """The segments of ``index`` whose points the collection does not hold whole."""
        name = collection_of(index)
        with reaching(self.engine):
            held = self.engine.segments(name) if name in self.engine.collections() else {}
        return [segment for segment, rows in index.manifest.segments if held.get(segment, 0) != rows]

    def write(self, index: LoadedIndex, progress: bool = False) -> int:
        """Write the points of ``index``'s segments that the collection lacks (creating it for a new main segment),
        then point the alias at it; how many points were written (a progress bar with ``progress``). Call it before
        the generation goes live."""
        with reaching(self.engine):
            return self._write(index, progress)

    def _write(self, index: LoadedIndex, progress: bool) -> int:
        folder_id(index.path.parent, create=True)
        name = collection_of(index)
        missing = self.missing(index)
        if name not in self.engine.collections():
            multilingual = index.multilingual.parts[0].d if index.multilingual is not None else None
            self.engine.create(name, index.manifest.dimension, multilingual)
        written, total = 0, sum(rows for segment, rows in index.manifest.segments if segment in missing)
        with tqdm(total=total, desc=f"writing passages into Qdrant ({name})", unit="passage", disable=not progress or not total) as bar:
            for number, (segment, _) in enumerate(index.manifest.segments):
                if segment in missing:
                    for batch in segment_points(index, number):
                        self.engine.upsert(name, batch)
                        written += len(batch)
                        bar.update(len(batch))
        if written:
            log.info("wrote %d passages into Qdrant collection %s; building its search graphs", written, name)
            self.engine.settle(name)
        if self.engine.alias() != name:
            self.engine.point_alias(name)
        return written

    def collect(self, root: Path, keep: Collection[str] = ()) -> None:
        """Delete the points of segments the index folder at ``root`` no longer has (nor ``keep`` names), and drop
        the collections whose main segment it no longer has."""
        ours = folder_id(root)
        if ours is None:  # it never wrote any
            return
        on_disk = segment_names(root) | set(keep)
        with reaching(self.engine):
            self._collect(f"{PREFIX}{ours}-", on_disk)

    def _collect(self, prefix: str, on_disk: set[str]) -> None:
        for name in sorted(self.engine.collections()):
            if not name.startswith(prefix):
                continue  # another index folder's
            if name[len(prefix):] not in on_disk:
                log.info("dropping Qdrant collection %s: its main segment is gone", name)
                self.engine.drop(name)
                continue
            gone = [segment for segment in self.engine.segments(name) if segment not in on_disk]
            if gone:
                self.engine.delete_segments(name, gone)

    def candidates(self, index: LoadedIndex) -> QdrantCandidates:
        return QdrantCandidates(self.engine, index)


class QdrantCandidates:
    """A question's candidates in one generation, from its collection, in two batch requests (bayqa.signals)."""

    def __init__(self, engine: ServerEngine | EdgeEngine, index: LoadedIndex) -> None:
        self.engine = engine
        self.index = index
        self.collection = collection_of(index)
        self.first_row = {segment: int(first) for (segment, _), first in zip(index.manifest.segments, index.keyword.offsets)}

    def signals(self, query: Query, vector: np.ndarray, second: np.ndarray | None, wanted: int,
                doc_ids: frozenset[str] | None) -> Signals:
        dense = np.asarray(vector, dtype=np.float32).tolist()
        asked: list[tuple[str, object]] = [(DENSE, dense), (SENTENCES, [dense])]
        terms = sparse_query(query, self.index.keyword)
        if terms is not None:
            asked.append((BM25, terms))
        if second is not None:
            asked.append((MULTILINGUAL, np.asarray(second, dtype=np.float32).tolist()))
        prefetch = tuple(name for name, _ in asked if name != SENTENCES)
        ask = Ask(tuple(asked), prefetch, wanted, tuple(self.first_row), None if doc_ids is None else tuple(sorted(doc_ids)))
        with reaching(self.engine):
            found = self.engine.query(self.collection, ask)
        by_row = [{self.first_row[segment] + offset: score for segment, offset, score in points} for points in found]
        if terms is None:  # no BM25 list: an empty one keeps the multilingual list last
            by_row.insert(2, {})
        signals = Signals.of(by_row, multilingual=second is not None)
        if self.index.alive is not None:
            signals = signals.keep(self.index.alive[signals.rows])
        return signals
