"""``bayqa bench --updates``: how long a live update takes, directly and over HTTP while readers search.

For the corpus folder (BAYQA_CORPUS, default ./corpus) and for a larger corpus of SciFact abstracts (one .txt file
each), it builds the index once, then times adding one document, changing it and removing it: each step is what an
update job does (compare the folder with the index, embed what changed, write a generation, switch) plus loading
the new generation into the service. Then the same over HTTP against a real server (POST, PUT, DELETE /documents,
waiting for each job) while reader threads keep searching, counting the readers' requests and errors.
With ``--workdir`` the corpora and indexes are kept, so a second run skips the long first build.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from pydantic import SecretStr

from bayqa.api.app import create_app
from bayqa.bench.data import DataError, scifact_folder, write_abstracts
from bayqa.bench.load import free_port
from bayqa.bench.timing import Stopwatch
from bayqa.config import Settings
from bayqa.embedding import Embedder
from bayqa.service import Service

TOKEN = "bench-token"
NEW_DOC = (
    "Cross-boundary data pilot\n\nThe Qianhai pilot lets approved firms move customer data between Shenzhen and "
    "Hong Kong under a standard contract, with a security assessment for sensitive categories."
)


def timed_update(service: Service) -> dict[str, Any]:
    """One update of the index to the folder, then loading it: seconds for each, and the chunks embedded."""
    with Stopwatch() as build:
        report = service.build()
    with Stopwatch() as load:
        service.load()
    return {
        "build_seconds": round(build.seconds, 3), "load_seconds": round(load.seconds, 3),
        "total_seconds": round(build.seconds + load.seconds, 3), "chunks_embedded": report.chunks_embedded,
        "chunks_total": report.chunks_total,
    }


class Readers:
    """Threads that search without pause until stopped, counting their requests and errors."""

    def __init__(self, url: str, count: int) -> None:
        self.url = url
        self.requests = 0
        self.errors = 0
        self.error_samples: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._read) for _ in range(count)]

    def _read(self) -> None:
        with httpx.Client(base_url=self.url, timeout=60) as client:
            while not self._stop.is_set():
                try:
                    response = client.get("/search", params={"q": "cross-boundary data pilot in Qianhai", "k": 5})
                    problem = None if response.status_code == 200 else response.text
                except httpx.HTTPError as exc:
                    problem = str(exc)
                self.requests += 1
                if problem is not None:
                    self.errors += 1
                    self.error_samples.append(problem[:200])

    def __enter__(self) -> Readers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


def over_http(service: Service, readers: int = 3) -> dict[str, Any]:
    """Add, replace and delete one document through the API while readers search; client-side timings."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(service), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    while not server.started:
        time.sleep(0.05)
    steps = {}
    with Readers(url, readers) as reading, httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        calls = {
            "add": lambda: c.post("/documents", files={"file": ("zz_http_pilot.txt", NEW_DOC.encode())}),
            "replace": lambda: c.put("/documents/zz_http_pilot.txt", files={"file": ("x.txt", (NEW_DOC + " Nansha too.").encode())}),
            "delete": lambda: c.delete("/documents/zz_http_pilot.txt"),
        }
        for step, call in calls.items():
            with Stopwatch() as clock:
                job = call().json()
                while job["state"] not in ("done", "failed"):
                    time.sleep(0.02)
                    job = c.get(f"/jobs/{job['id']}").json()
            steps[step] = {"seconds_until_done": round(clock.seconds, 3), "state": job["state"],
                           "chunks_embedded": (job["outcome"] or {}).get("chunks_embedded"), "error": job["error"]}
    server.should_exit = True
    return {"steps": steps, "reader_requests": reading.requests, "reader_errors": reading.errors,
            "error_samples": reading.error_samples[:5]}


def measure(name: str, settings: Settings, embedder: Embedder) -> dict[str, Any]:
    """The first build of ``settings.corpus``, then each timed update, directly and over HTTP; printed as it goes."""
    service = Service(settings, embedder)
    with Stopwatch() as clock:
        first = service.build()
    initial = round(clock.seconds, 3)
    service.load()
    print(f"[{name}] initial build: {first.chunks_total} chunks of {len(first.added)} documents in {initial:.1f} s", flush=True)
    steps = {}
    target = settings.corpus / "zz_new_pilot.txt"
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


def main(settings: Settings, scifact: Path | None, abstracts: int, out: Path, workdir: Path | None = None) -> dict[str, Any]:
    """Both corpora measured (the SciFact one unless ``abstracts`` is 0), the JSON written to ``out``."""
    if not settings.corpus.is_dir():
        raise DataError(f"corpus folder {settings.corpus} does not exist; set BAYQA_CORPUS or run from the project folder")
    data = scifact_folder(scifact, files=("corpus.jsonl",)) if abstracts else None
    embedder = Service(settings).embedder
    results = {}
    with tempfile.TemporaryDirectory(prefix="bayqa-bench-") as tmp:
        base = workdir or Path(tmp)
        if not (base / "shipped").exists():
            shutil.copytree(settings.corpus, base / "shipped")
        results["shipped"] = measure("shipped", _at(settings, base / "shipped", base / "shipped-index"), embedder)
        if data is not None:
            if not (base / "large").exists():
                write_abstracts(data, base / "large", abstracts)
            results["large"] = measure("large", _at(settings, base / "large", base / "large-index"), embedder)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"wrote {out}")
    return results


def _at(settings: Settings, corpus: Path, index: Path) -> Settings:
    """The settings for one measured corpus, with the token the HTTP steps write with."""
    return settings.model_copy(update={"corpus": corpus, "index": index, "api_token": SecretStr(TOKEN)})
