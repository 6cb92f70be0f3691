"""How long does a live update take? Prints figures and writes them as JSON.

For the shipped corpus and for a larger corpus grown from BEIR SciFact abstracts (one .txt file per
abstract), it builds the index once, then times adding one document, changing it and removing it:
each step is what an update job does (compare the folder with the index, embed what changed, write a
generation, switch) plus loading the new generation into a running service. Then it does the same
over HTTP against a real server (POST, PUT, DELETE /documents, waiting for each job) while reader
threads keep searching, and counts the readers' requests and errors.

    python scripts/bench_updates.py --abstracts 4000 --workdir /tmp/bench --out bench-updates.json

With ``--workdir`` the corpora and indexes are kept, so a second run skips the long first build.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from api.app import create_app
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


TOKEN = "bench-token"


def over_http(service: Service, readers: int = 3) -> dict:
    """Add, replace and delete one document through the API while readers search; client-side timings."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(service), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    while not server.started:
        time.sleep(0.05)
    stop = threading.Event()
    counts = {"requests": 0, "errors": 0}
    error_samples: list[str] = []

    def reader() -> None:
        with httpx.Client(base_url=url, timeout=60) as c:
            while not stop.is_set():
                try:
                    resp = c.get("/search", params={"q": "cross-boundary data pilot in Qianhai", "k": 5})
                    ok = resp.status_code == 200
                except httpx.HTTPError as exc:
                    ok, resp = False, exc
                counts["requests"] += 1
                if not ok:
                    counts["errors"] += 1
                    error_samples.append(str(getattr(resp, "text", resp))[:200])

    threads = [threading.Thread(target=reader) for _ in range(readers)]
    for t in threads:
        t.start()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    steps = {}
    with httpx.Client(base_url=url, timeout=120, headers=auth) as c:
        calls = {
            "add": lambda: c.post("/documents", files={"file": ("zz_http_pilot.txt", NEW_DOC.encode())}),
            "replace": lambda: c.put("/documents/zz_http_pilot.txt", files={"file": ("x.txt", (NEW_DOC + " Nansha too.").encode())}),
            "delete": lambda: c.delete("/documents/zz_http_pilot.txt"),
        }
        for step, call in calls.items():
            started = time.perf_counter()
            job = call().json()
            while job["state"] not in ("done", "failed"):
                time.sleep(0.02)
                job = c.get(f"/jobs/{job['id']}").json()
            steps[step] = {"seconds_until_done": round(time.perf_counter() - started, 3), "state": job["state"],
                           "chunks_embedded": (job["outcome"] or {}).get("chunks_embedded"), "error": job["error"]}
    stop.set()
    for t in threads:
        t.join()
    server.should_exit = True
    return {"steps": steps, "reader_requests": counts["requests"], "reader_errors": counts["errors"],
            "error_samples": error_samples[:5]}


def measure(name: str, corpus: Path, index: Path, embedder: Embedder) -> dict:
    service = Service(Settings(corpus=corpus, index=index, api_token=TOKEN), embedder)
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
    http = over_http(service)
    for step, figures in http["steps"].items():
        print(f"[{name}] HTTP {step:>8}: {figures['state']} {figures['seconds_until_done']:.2f} s from request to job done", flush=True)
    print(f"[{name}] readers during the HTTP updates: {http['reader_requests']} searches, {http['reader_errors']} errors", flush=True)
    documents = len(first.added) + len(first.unchanged) + len(first.changed)
    return {"documents": documents, "chunks": first.chunks_total, "initial_build_seconds": initial, "updates": steps, "http": http}


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
    parser.add_argument("--scifact", type=Path, default=ROOT.parent / "shared" / "beir" / "scifact" / "corpus.jsonl")
    parser.add_argument("--out", type=Path, default=Path("bench-updates.json"))
    parser.add_argument("--workdir", type=Path, help="keep corpora and indexes here (reused by the next run)")
    args = parser.parse_args()
    embedder = Embedder()
    results = {}
    with tempfile.TemporaryDirectory(prefix="bayqa-bench-") as tmp:
        base = args.workdir or Path(tmp)
        if not (base / "shipped").exists():
            shutil.copytree(ROOT / "corpus", base / "shipped")
        results["shipped"] = measure("shipped", base / "shipped", base / "shipped-index", embedder)
        if args.abstracts:
            if not args.scifact.exists():
                print(f"bench: error: {args.scifact} not found", file=sys.stderr)
                return 2
            if not (base / "large").exists():
                grow_corpus(args.scifact, base / "large", args.abstracts)
            results["large"] = measure("large", base / "large", base / "large-index", embedder)
    args.out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
