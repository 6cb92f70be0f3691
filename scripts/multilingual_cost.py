"""What the multilingual signal costs a question: answers with and without it on one loaded index, alternating per
question, in rounds of 300 English questions (k=10); prints each round's p50 and writes them as JSON.

    PYTHONPATH=src python scripts/multilingual_cost.py INDEX_DIR QUERIES.jsonl OUT.json [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from bayqa.embedding import Embedder, multilingual_model
from bayqa.query import Query
from bayqa.search import Searcher
from bayqa.store import IndexStore

ROUND = 300


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)
    parser = argparse.ArgumentParser()
    parser.add_argument("index", type=Path)
    parser.add_argument("queries", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    index = IndexStore(args.index).open()
    if index.multilingual is None:
        raise SystemExit(f"{args.index} holds no multilingual vectors: build it with the multilingual model on")
    embedder = Embedder()
    with_it = Searcher(index, embedder, multilingual=multilingual_model("use-multilingual-v3"))
    without = Searcher(index, embedder)
    texts = [json.loads(line)["text"] for line in args.queries.read_text(encoding="utf-8").splitlines() if line.strip()]
    rounds = []
    for number in range(args.rounds):
        queries = [Query.of(t) for t in texts[number * ROUND : (number + 1) * ROUND]]
        queries = [q.with_vector(embedder.encode_query(q.text)) for q in queries]
        for query in queries[:20]:  # warm both
            with_it.answer(query, k=10)
            without.answer(query, k=10)
        times: dict[str, list[float]] = {"without": [], "with": []}
        for query in queries:
            for name, searcher in (("without", without), ("with", with_it)):
                start = time.perf_counter()
                searcher.answer(query, k=10)
                times[name].append((time.perf_counter() - start) * 1000)
        p50 = {name: round(float(np.median(t)), 2) for name, t in times.items()}
        rounds.append({**p50, "added": round(p50["with"] - p50["without"], 2)})
        print(f"round {number + 1}: without {p50['without']} ms, with {p50['with']} ms, +{rounds[-1]['added']} ms")
    args.out.write_text(json.dumps(rounds, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
