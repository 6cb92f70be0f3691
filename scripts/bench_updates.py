"""How long does a live update take? Prints figures and writes them as JSON.

For the shipped corpus and for a larger corpus grown from BEIR SciFact abstracts (one .txt file per
abstract), it builds the index once, then times adding one document, changing it and removing it:
each step is what an update job does (compare the folder with the index, embed what changed, write a
generation, switch) plus loading the new generation into a running service.

    python scripts/bench_updates.py --abstracts 4000 --out bench-updates.json
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bayqa.config import Settings
from bayqa.embedding import Embedder
from bayqa.service import Service

ROOT = Path(__file__).resolve().parents[1]
NEW_DOC = (
    "Cross-boundary data pilot\n\nThe Qianhai pilot lets approved firms move customer data between Shenzhen and "
    "Hong Kong under a standard contract, with a security assessment for sensitive categories."
)


def timed_update(service: Service) -> dict:
    started = time.perf_counter()
    report = service.build()
    built = time.perf_counter()
    service.load()
    done = time.perf_counter()
    return {
        "build_seconds": round(built - started, 3), "load_seconds": round(done - built, 3),
        "total_seconds": round(done - started, 3), "chunks_embedded": report.chunks_embedded,
        "chunks_total": report.chunks_total,
    }


def measure(name: str, corpus: Path, index: Path, embedder: Embedder) -> dict:
    service = Service(Settings(corpus=corpus, index=index), embedder)
    started = time.perf_counter()
    first = service.build()
    initial = round(time.perf_counter() - started, 3)
    service.load()
    print(f"[{name}] initial build: {first.chunks_total} chunks of {len(first.added)} documents in {initial:.1f} s", flush=True)
    steps = {}
    target = corpus / "zz_new_pilot.txt"
    target.write_text(NEW_DOC, encoding="utf-8")
    steps["add"] = timed_update(service)
    target.write_text(NEW_DOC + "\n\nFrom 2025 the pilot also covers Nansha.", encoding="utf-8")
    steps["change"] = timed_update(service)
    target.unlink()
    steps["remove"] = timed_update(service)
    steps["nothing_changed"] = timed_update(service)
    for step, figures in steps.items():
        print(f"[{name}] {step:>15}: {figures['total_seconds']:.2f} s "
              f"(build {figures['build_seconds']:.2f} s, load {figures['load_seconds']:.2f} s, "
              f"{figures['chunks_embedded']} of {figures['chunks_total']} chunks embedded)", flush=True)
    return {"documents": len(first.added), "chunks": first.chunks_total, "initial_build_seconds": initial, "updates": steps}


def grow_corpus(source: Path, target: Path, count: int) -> None:
    target.mkdir(parents=True)
    with source.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            if n >= count:
                break
            record = json.loads(line)
            (target / f"scifact_{record['_id']}.txt").write_text(f"{record['title']}\n\n{record['text']}", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--abstracts", type=int, default=4000, help="SciFact abstracts in the large corpus (0: skip it)")
    parser.add_argument("--scifact", type=Path, default=Path("/work/shared/beir/scifact/corpus.jsonl"))
    parser.add_argument("--out", type=Path, default=Path("bench-updates.json"))
    args = parser.parse_args()
    embedder = Embedder()
    results = {}
    with tempfile.TemporaryDirectory(prefix="bayqa-bench-") as tmp:
        base = Path(tmp)
        shutil.copytree(ROOT / "corpus", base / "shipped")
        results["shipped"] = measure("shipped", base / "shipped", base / "shipped-index", embedder)
        if args.abstracts:
            if not args.scifact.exists():
                print(f"bench: error: {args.scifact} not found", file=sys.stderr)
                return 2
            grow_corpus(args.scifact, base / "large", args.abstracts)
            results["large"] = measure("large", base / "large", base / "large-index", embedder)
    args.out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
