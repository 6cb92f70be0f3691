"""Search latency through the Qdrant store beside FAISS, side by side on one index: write the index's generation into
Qdrant Edge (timed), then answer the same questions both ways in turns and print each one's p50 and p95 (ms) and how
often the first ten passages agree. Writes the figures as JSON.

    PYTHONPATH=src python scripts/qdrant_latency.py INDEX_DIR EDGE_DIR QUERIES.jsonl OUT.json [--questions N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from bayqa.embedding import Embedder, multilingual_model
from bayqa.qdrant import QdrantMirror
from bayqa.query import Query
from bayqa.search import Searcher
from bayqa.store import IndexStore


def agree(ours: list, theirs: list, tie: float = 1e-3) -> bool:
    """The same passages in the same order, those whose scores differ by less than ``tie`` allowed to swap."""
    place = {h.chunk.id: i for i, h in enumerate(ours)}
    return len(ours) == len(theirs) and all(
        h.chunk.id in place and abs(ours[i].score - ours[place[h.chunk.id]].score) <= tie for i, h in enumerate(theirs)
    )


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)
    parser = argparse.ArgumentParser()
    for name in ("index", "edge", "queries", "out"):
        parser.add_argument(name, type=Path)
    parser.add_argument("--questions", type=int, default=300)
    args = parser.parse_args()
    index = IndexStore(args.index).open()
    mirror = QdrantMirror.at(str(args.edge))
    started = time.perf_counter()
    written = mirror.write(index)
    write_seconds = time.perf_counter() - started
    print(f"{len(index.chunks)} passages; {written} points written into Qdrant Edge in {write_seconds:.1f} s")
    embedder = Embedder()
    second = multilingual_model("use-multilingual-v3") if index.multilingual is not None else None
    faiss = Searcher(index, embedder, multilingual=second)
    qdrant = Searcher(index, embedder, multilingual=second, candidates=mirror.candidates(index))
    texts = [json.loads(line)["text"] for line in args.queries.read_text(encoding="utf-8").splitlines() if line.strip()]
    queries = [Query.of(t) for t in texts[: args.questions]]
    queries = [q.with_vector(embedder.encode_query(q.text)) for q in queries]
    for searcher in (faiss, qdrant):  # warm both: first reads of mapped files
        for query in queries[:20]:
            searcher.answer(query)
    times: dict[str, list[float]] = {"faiss": [], "qdrant": []}
    same = same_texts = 0
    for query in queries:  # in turns, so that the machine's noise falls on both alike
        ranked = {}
        for name, searcher in (("faiss", faiss), ("qdrant", qdrant)):
            start = time.perf_counter()
            ranked[name] = searcher.answer(query).hits
            times[name].append((time.perf_counter() - start) * 1000)
        same += agree(ranked["faiss"], ranked["qdrant"])
        # A collection of copies has passages of equal text, and so equal scores, in any order: compare texts too.
        same_texts += [h.chunk.text for h in ranked["faiss"]] == [h.chunk.text for h in ranked["qdrant"]]
    figures = {
        "passages": len(index.chunks), "multilingual": index.manifest.multilingual or None, "questions": len(queries),
        "write_seconds": round(write_seconds, 1), "same_top_10_up_to_ties": same, "same_top_10_texts": same_texts,
        **{f"{name}_p{q}": round(float(np.percentile(t, q)), 2) for name, t in times.items() for q in (50, 95)},
    }
    figures["p50_ratio"] = round(figures["qdrant_p50"] / figures["faiss_p50"], 2)
    print(json.dumps(figures, indent=2))
    args.out.write_text(json.dumps(figures, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
