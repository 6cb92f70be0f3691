"""Several servers over one index folder: one writer and read-only servers (``bayqa serve --read-only``).

Fast tests (fake encoder, servers in this process): a read-only server refuses writes with 405 and writes nothing to
the folder; ``min_generation`` loads a newer generation first or answers 503; a job reports its generation. The
integration test runs a writer and two read-only servers as processes with the real model, searched by 8 clients
while documents come and go.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from bayqa import service as service_module
from bayqa.api.app import create_app
from bayqa.api.routes.writes import READ_ONLY_MESSAGE
from bayqa.config import Settings
from bayqa.jobs import Jobs
from bayqa.service import Service
from bayqa.writes import JOBS_FILE
from tests.conftest import FakeEncoder, LiveServer, free_port, stop_processes, wait_for_health
from tests.test_index import DOCS, make_corpus

TOKEN = "replica-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
FUTURE = "gen-29991231T235959999999-ffffff"


def folder_state(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` with its size and modification time, but the log and shared-memory files of the job
    records, which SQLite makes and updates for any reader of a database in WAL mode."""
    gc.collect()  # connections of this process's own records, closed (and their log checkpointed) now
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in root.rglob("*") if p.is_file() and not p.name.endswith(("-shm", "-wal"))}


@pytest.fixture()
def folder(tmp_path: Path) -> Settings:
    settings = Settings(corpus=make_corpus(tmp_path / "corpus", DOCS), index=tmp_path / "index", api_token=TOKEN)
    Service(settings, FakeEncoder()).build()  # type: ignore[arg-type]
    return settings


def read_only_server(settings: Settings) -> LiveServer:
    service = Service(settings.model_copy(update={"read_only": True}), FakeEncoder())  # type: ignore[arg-type]
    service.refresh()
    return LiveServer(create_app(service))


def finished(client: httpx.Client, job: dict, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while (state := client.get(f"/jobs/{job['id']}").json())["state"] not in ("done", "failed"):
        assert time.monotonic() < deadline, f"job {job['id']} did not finish in {timeout} s"
        time.sleep(0.05)
    return state


def test_a_read_only_server_refuses_writes_naming_the_writer_and_writes_nothing(folder: Settings) -> None:
    job = Jobs(folder.index / JOBS_FILE).record("reindex", None)  # a writer's job, on record in the shared file
    before = folder_state(folder.index)
    with read_only_server(folder) as server, httpx.Client(base_url=server.url, timeout=30) as api:
        upload = {"file": ("ferry.txt", b"Ferry\n\nThe ferry sails at noon.")}
        for method, path, kwargs, allow in (("POST", "/documents", {"files": upload}, "GET, HEAD"),
                                            ("PUT", "/documents/tax.md", {"files": upload}, "GET, HEAD"),
                                            ("DELETE", "/documents/tax.md", {}, "GET, HEAD"),
                                            ("POST", "/reindex", {}, "")):
            refused = api.request(method, path, headers=AUTH, **kwargs)
            assert refused.status_code == 405, (method, path)
            assert refused.json() == {"detail": READ_ONLY_MESSAGE} and refused.headers["allow"] == allow, (method, path)
        assert api.request("PATCH", "/documents/tax.md").headers["allow"] == "GET, HEAD", "refusals take no method"
        health = api.get("/health").json()
        assert health["status"] == "ready" and health["read_only"] is True
        assert api.get("/search", params={"q": "bridge"}).status_code == 200
        assert api.get(f"/jobs/{job.id}").json()["state"] == "queued", "the writer's jobs are reported here too"
        assert api.get("/jobs/nope").status_code == 404
        assert "/reindex" not in api.get("/openapi.json").json()["paths"]
    assert (folder.corpus / "tax.md").exists() and folder_state(folder.index) == before, "nothing written, no lock taken"


def test_a_read_only_server_with_no_index_yet_reports_no_jobs(tmp_path: Path) -> None:
    settings = Settings(corpus=tmp_path / "corpus", index=tmp_path / "index", read_only=True)
    app = create_app(Service(settings, FakeEncoder()))  # type: ignore[arg-type]
    from fastapi.testclient import TestClient

    with TestClient(app) as api:
        assert api.get("/health").status_code == 503 and api.get("/health").json()["read_only"] is True
        assert api.get("/jobs/abc").status_code == 404
    assert not (tmp_path / "index").exists(), "a read-only server makes nothing"


def test_min_generation_loads_a_newer_generation_first_or_answers_503(folder: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service_module, "REFRESH_SECONDS", 3600.0)  # the server's own follower stays out of the way
    writer = Service(folder, FakeEncoder())  # type: ignore[arg-type]
    with read_only_server(folder) as server, httpx.Client(base_url=server.url, timeout=30) as api:
        first = api.get("/health").json()["generation"]
        assert api.get("/search", params={"q": "bridge", "min_generation": first}).json()["generation"] == first
        (folder.corpus / "ferry.txt").write_text("Ferry\n\nThe Nansha ferry sails at noon.", encoding="utf-8")
        second = writer.build().generation
        assert second is not None and second > first and api.get("/health").json()["generation"] == first
        for answer in (api.get("/search", params={"q": "ferry", "min_generation": second}),
                       api.post("/search", json={"q": "ferry", "min_generation": second, "doc_ids": ["ferry.txt"]})):
            assert answer.status_code == 200 and answer.json()["generation"] == second, answer.text
        assert api.get("/health").json()["generation"] == second, "loaded for the search, and kept"
        behind = api.get("/search", params={"q": "ferry", "min_generation": FUTURE})
        assert behind.status_code == 503 and behind.headers["retry-after"] == "2"
        assert FUTURE in behind.json()["detail"] and second in behind.json()["detail"]
        for bad in ("latest", "gen-2026", f"{second}/../x"):
            assert api.get("/search", params={"q": "ferry", "min_generation": bad}).status_code == 422
            assert api.post("/search", json={"q": "ferry", "min_generation": bad}).status_code == 422


def test_a_job_reports_the_generation_that_holds_its_write(folder: Settings) -> None:
    writer = Service(folder, FakeEncoder())  # type: ignore[arg-type]
    writer.refresh()
    with LiveServer(create_app(writer)) as server, httpx.Client(base_url=server.url, timeout=30) as api:
        queued = api.post("/documents", files={"file": ("ferry.txt", b"Ferry\n\nThe ferry sails at noon.")}, headers=AUTH).json()
        assert queued["generation"] is None
        done = finished(api, queued)
        assert done["state"] == "done" and done["generation"] == done["outcome"]["generation"] == writer.index.generation
        assert "ferry.txt" in writer.store.open().documents


# -- a writer and two read-only servers, as processes, with the real model


@dataclass
class Observed:
    """What the clients saw: errors, and for each answer the generation and documents."""

    errors: list[str] = field(default_factory=list)
    answers: list[tuple[float, str, frozenset[str], str]] = field(default_factory=list)  # (asked at, generation, docs, url)
    lock: threading.Lock = field(default_factory=threading.Lock)


def start_server(*args: str, settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "BAYQA_CORPUS": str(settings.corpus), "BAYQA_INDEX": str(settings.index),
           "BAYQA_API_TOKEN": TOKEN}
    with open(log, "wb") as out:  # a file: a pipe nobody reads fills up and stalls the server
        return subprocess.Popen([sys.executable, "-m", "bayqa.cli", "serve", *args], stdout=out, stderr=out, env=env)


@pytest.fixture()
def replicas(tmp_path: Path, shipped_settings: Settings) -> Iterator[tuple[Settings, list[str]]]:
    import shutil

    settings = Settings(corpus=shutil.copytree(shipped_settings.corpus, tmp_path / "corpus"),
                        index=shutil.copytree(shipped_settings.index, tmp_path / "index"))
    ports = [free_port() for _ in range(3)]
    processes = [start_server("--port", str(ports[0]), settings=settings, log=tmp_path / "writer.log")]
    processes += [start_server("--read-only", "--port", str(port), settings=settings, log=tmp_path / f"replica{n}.log")
                  for n, port in enumerate(ports[1:])]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        deadline = time.monotonic() + 180
        for url, process in zip(urls, processes):
            wait_for_health(url, process, deadline, lambda: "\n".join(log.read_text(errors="replace")[-1000:]
                                                                      for log in tmp_path.glob("*.log")))
        yield settings, urls
    finally:
        stop_processes(processes)


QUESTIONS = ("How long is the ferry crossing to Nansha?", "When does the Hetao night market open?",
             "How much rent does Hong Kong pay for its port area at Shenzhen Bay?", "What does the ferry timetable say?")
FERRY = b"Nansha ferry timetable\n\nThe Nansha ferry crossing takes 75 minutes; the first ferry leaves at 07:30."
MARKET = b"Hetao night market\n\nThe Hetao night market opens at 19:00 on Fridays and Saturdays."


@pytest.mark.slow
def test_a_writer_and_two_read_only_servers_serve_every_write_to_eight_clients(replicas: tuple[Settings, list[str]]) -> None:
    settings, urls = replicas
    writer, read_only = urls[0], urls[1:]
    assert [httpx.get(f"{url}/health").json()["read_only"] for url in urls] == [False, True, True]
    seen = Observed()
    latest = {"generation": httpx.get(f"{writer}/health").json()["generation"]}  # the newest done job's, for the clients
    stop = threading.Event()

    def client(number: int) -> None:
        with httpx.Client(timeout=60) as http:
            turn = number
            while not stop.is_set():
                url, question = urls[turn % 3], QUESTIONS[turn % len(QUESTIONS)]
                turn += 1
                wanted, asked = latest["generation"], time.monotonic()
                try:
                    answer = http.get(f"{url}/search", params={"q": question, "k": 10, "min_generation": wanted})
                except httpx.HTTPError as exc:
                    with seen.lock:
                        seen.errors.append(f"{url}: {exc!r}")
                    continue
                with seen.lock:
                    if answer.status_code != 200:
                        seen.errors.append(f"{url} {answer.status_code}: {answer.text[:200]}")
                        continue
                    body = answer.json()
                    if body["generation"] < wanted:
                        seen.errors.append(f"{url} answered from {body['generation']}, older than {wanted}")
                    seen.answers.append((asked, body["generation"], frozenset(r["doc_id"] for r in body["results"]), url))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    deletions: list[tuple[str, str, float]] = []  # (document, generation without it, when its job finished)
    lags: list[float] = []
    try:
        with httpx.Client(base_url=writer, timeout=60, headers=AUTH) as api:
            steps = [("POST", "/documents", {"files": {"file": ("ferry.txt", FERRY)}}, None),
                     ("POST", "/documents", {"files": {"file": ("market.txt", MARKET)}}, None),
                     ("DELETE", "/documents/ferry.txt", {}, "ferry.txt"),
                     ("PUT", "/documents/market.txt", {"files": {"file": ("market.txt", MARKET + b" Closed in July.")}}, None),
                     ("DELETE", "/documents/market.txt", {}, "market.txt")]
            for method, path, kwargs, deleted in steps:
                done = finished(api, api.request(method, path, **kwargs).json(), timeout=120)
                assert done["state"] == "done", done
                generation = latest["generation"] = done["generation"]  # searches asked from now on ask for it
                finished_at = time.monotonic()
                if deleted:
                    deletions.append((deleted, generation, finished_at))
                for url in read_only:  # without min_generation: each follows the folder by itself
                    while httpx.get(f"{url}/health", timeout=10).json()["generation"] < generation:
                        assert time.monotonic() - finished_at < 10, f"{url} did not load {generation}"
                        time.sleep(0.02)
                    lags.append(time.monotonic() - finished_at)
                time.sleep(0.5)  # searches go on against the new generation for a while
    finally:
        stop.set()
        for thread in threads:
            thread.join(120)
    print(f"replicas: {len(seen.answers)} answers, lags {[round(l, 2) for l in lags]}")
    assert not seen.errors, seen.errors[:5]
    assert len(seen.answers) > 50 and {url for *_, url in seen.answers} == set(urls)
    assert max(lags) <= 2.0, f"a read-only server took {max(lags):.2f} s to serve a new generation"
    for document, generation, finished_at in deletions:
        late = [a for a in seen.answers if a[1] >= generation or a[0] >= finished_at]
        assert late and not [a for a in late if document in a[2]], f"{document} returned after its deletion"
    assert any("ferry.txt" in docs for _, _, docs, url in seen.answers if url in read_only), "the added document is served"
