"""The passage vectors of a generation: one FAISS index per segment, exact or an HNSW graph, searched as one."""

from __future__ import annotations

from collections.abc import Sequence

import faiss
import numpy as np

from bayqa.store.stacked import gathered

HNSW_NEIGHBOURS = 32  # M: links per vector (recall against exact search is what `bayqa bench` reports)
HNSW_BUILD_DEPTH = 80  # efConstruction
HNSW_SEARCH_DEPTH = 256  # efSearch: candidates examined per question (stored in the index file)
CLIP_COSINE = 0.9999  # least cosine of a vector to itself clipped to a graph's code ranges, for a rebuild to keep them


class Segments:
    """The vector index of a generation: FAISS indexes over consecutive runs of rows, searched as one.

    Offers the two calls of a FAISS index the rest of bayqa uses (``search``, ``reconstruct_batch``),
    with rows numbered across the segments.
    """

    def __init__(self, parts: Sequence[faiss.Index]) -> None:
        self.parts = list(parts)
        self.offsets = np.cumsum([0, *(p.ntotal for p in self.parts)])
        self.ntotal = int(self.offsets[-1])

    @property
    def kind(self) -> str:
        """The FAISS index types, main segment first ("IndexHNSWSQ+IndexFlatIP")."""
        return "+".join(type(p).__name__ for p in self.parts)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Best ``k`` inner products and their rows for each query, like ``faiss.Index.search`` (row -1 = none)."""
        filled = [(part, offset) for part, offset in zip(self.parts, self.offsets) if part.ntotal]
        if len(filled) <= 1:  # FAISS refuses k=0, so an empty segment is never asked
            part, offset = filled[0] if filled else (self.parts[0], 0)
            found_scores, found_rows = part.search(queries, k)
            return found_scores, np.where(found_rows >= 0, found_rows + offset, -1)
        scores, rows = [], []
        for part, offset in filled:
            found_scores, found_rows = part.search(queries, min(k, part.ntotal))
            scores.append(np.where(found_rows >= 0, found_scores, -np.inf))
            rows.append(np.where(found_rows >= 0, found_rows + offset, -1))
        all_scores, all_rows = np.hstack(scores), np.hstack(rows)
        best = np.argsort(-all_scores, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(all_scores, best, axis=1), np.take_along_axis(all_rows, best, axis=1)

    def reconstruct_batch(self, rows: np.ndarray) -> np.ndarray:
        """The stored vectors of ``rows``."""
        out = np.zeros((len(rows), self.parts[0].d if self.parts else 0), dtype=np.float32)
        return gathered(self.offsets, rows, out, lambda number, local: self.parts[number].reconstruct_batch(local))


def vector_index(vectors: np.ndarray, exact_below: int, previous: faiss.Index | None = None) -> faiss.Index:
    """Exact inner-product search for small collections, an HNSW graph once exact search gets slow.

    Exact search reads every vector per question; the graph visits a few thousand whatever the size, at a
    small, measured loss of recall (``bayqa bench`` reports it).

    Vectors in the graph are 8-bit codes, each component within its own range (learned from the vectors):
    a quarter of float32's memory and disk, as fast to visit, and nearly float32's recall.
    A rebuild whose kept vectors come from ``previous``'s graph keeps its ranges while they still hold the
    vectors (none moves by more than CLIP_COSINE when clipped to them), so decoding and encoding again gives
    the same codes: compacting many times does not add error.
    """
    count, dimension = vectors.shape
    if count < exact_below:
        return exact_index(vectors)
    index = faiss.IndexHNSWSQ(dimension, faiss.ScalarQuantizer.QT_8bit, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_BUILD_DEPTH
    index.hnsw.efSearch = HNSW_SEARCH_DEPTH
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    ranges = _code_ranges(previous, dimension)
    if ranges is None or not _ranges_hold(ranges, vectors):
        index.train(vectors)
    else:
        storage = faiss.downcast_index(index.storage)
        faiss.copy_array_to_vector(ranges, storage.sq.trained)
        storage.is_trained = index.is_trained = True
    index.add(vectors)
    return index


def _code_ranges(index: faiss.Index | None, dimension: int) -> np.ndarray | None:
    """The learned component ranges of an 8-bit HNSW graph like ``vector_index``'s (None for any other index)."""
    if not isinstance(index, faiss.IndexHNSWSQ) or index.d != dimension:
        return None
    storage = faiss.downcast_index(index.storage)
    return faiss.vector_to_array(storage.sq.trained) if storage.sq.qtype == faiss.ScalarQuantizer.QT_8bit else None


def _ranges_hold(ranges: np.ndarray, vectors: np.ndarray) -> bool:
    """Whether clipping ``vectors`` to ``ranges`` (each component's lowest value, then its span) keeps every one
    within CLIP_COSINE of itself; a graph first built from few passages has too narrow ranges for later ones."""
    lowest, span = np.split(ranges, 2)
    clipped = np.clip(vectors, lowest, lowest + span)
    norms = np.linalg.norm(vectors, axis=1) * np.linalg.norm(clipped, axis=1)
    cosines = np.einsum("ij,ij->i", vectors, clipped) / np.where(norms > 0, norms, 1.0)
    return bool(np.all(cosines[norms > 0] >= CLIP_COSINE))


def exact_index(vectors: np.ndarray) -> faiss.Index:
    index = faiss.IndexFlatIP(vectors.shape[1])
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index
