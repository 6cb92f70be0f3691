"""Answering a question from a loaded index: ranked passages with the sentence that answers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import faiss
import numpy as np

from bayqa.chunking import Chunk
from bayqa.embedding import Embedder
from bayqa.highlight import Answer, best_sentence
from bayqa.index import LoadedIndex


@dataclass(frozen=True)
class Hit:
    rank: int
    score: float
    chunk: Chunk
    answer: Answer | None

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of a passage, shared by the CLI's --json and the HTTP API."""
        c = self.chunk
        answer = None if self.answer is None else {"text": self.answer.text, "start": self.answer.start, "end": self.answer.end}
        return {
            "rank": self.rank, "score": self.score, "doc_id": c.doc_id, "title": c.title, "headings": list(c.headings),
            "section": " > ".join(c.headings), "page": c.page, "chunk_id": c.id, "text": c.text,
            "start": c.start, "end": c.end, "answer": answer,
        }


def cap_per_document(ranked: Iterable[tuple[int, float]], chunks: list[Chunk], k: int, max_per_doc: int) -> list[tuple[int, float]]:
    """The first ``k`` of ``ranked`` (row, score) pairs, keeping at most ``max_per_doc`` passages of one document."""
    taken: list[tuple[int, float]] = []
    per_doc: dict[str, int] = {}
    for row, score in ranked:
        doc = chunks[row].doc_id
        if per_doc.get(doc, 0) >= max_per_doc:
            continue
        per_doc[doc] = per_doc.get(doc, 0) + 1
        taken.append((row, score))
        if len(taken) == k:
            break
    return taken


class Searcher:
    """Dense retrieval over one index generation with one embedding model."""

    def __init__(self, index: LoadedIndex, embedder: Embedder) -> None:
        self.index = index
        self.embedder = embedder

    def search(self, question: str, k: int = 10, max_per_doc: int = 3, doc_ids: frozenset[str] | None = None) -> list[Hit]:
        total = self.index.vectors.ntotal
        if total == 0:
            return []
        query = self.embedder.encode_query(question)
        if doc_ids is not None:
            # Score the chosen documents' own rows exactly: an approximate (HNSW) index is not built for filters.
            rows = [r for doc in sorted(doc_ids) for r in self.index.rows_by_doc.get(doc, [])]
            scores = self.index.vectors_of(rows) @ query
            ranked = sorted(zip(rows, scores.tolist()), key=lambda pair: -pair[1])
            return self._hits(question, cap_per_document(ranked, self.index.chunks, k, max_per_doc))
        wanted = min(total, k * max(4, max_per_doc) + 32)
        # One question is too little work to share: OpenMP threads waiting on each other cost 0.2 ms -> 30 ms
        # at 10k vectors on a busy 2-core machine. The setting is per calling thread, so builds keep theirs.
        faiss.omp_set_num_threads(1)
        while True:
            scores, rows = self.index.vectors.search(query[np.newaxis, :], wanted)
            ranked = [(int(r), float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0]
            taken = cap_per_document(ranked, self.index.chunks, k, max_per_doc)
            if len(taken) == k or wanted >= total:
                break
            wanted = min(total, wanted * 4)
        return self._hits(question, taken)

    def _hits(self, question: str, taken: list[tuple[int, float]]) -> list[Hit]:
        hits = []
        for rank, (row, score) in enumerate(taken, start=1):
            chunk = self.index.chunks[row]
            hits.append(Hit(rank, round(score, 6), chunk, best_sentence(question, chunk.text, chunk.start)))
        return hits
