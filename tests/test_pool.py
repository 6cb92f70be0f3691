"""``--workers N``: searches answered by real search processes behind a real uvicorn server on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from bayqa.config import Settings
from bayqa.embedding import Embedder
from bayqa.service import Service
from tests.conftest import LiveServer

QUESTIONS = [
    "When did the Hong Kong-Zhuhai-Macao Bridge open?",
    "Northern Metropolis San Tin Technopole",
    "How many chapters does the Outline Development Plan have?",
    "talent",
]


def wait_for_processes(http: httpx.Client, count: int, seconds: float = 120) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        resp = http.get("/health")
        if resp.status_code == 200 and resp.json()["search_processes"] == count:
            return resp.json()
        time.sleep(0.1)
    raise AssertionError(f"the search processes did not come up: {resp.status_code} {resp.text}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.fixture(scope="module")
def writable(tmp_path_factory: pytest.TempPathFactory, shipped_settings: Settings) -> Settings:
    """A copy of the shipped corpus and its index that this module may change."""
    base = tmp_path_factory.mktemp("pool")
    shutil.copytree(shipped_settings.corpus, base / "corpus")
    shutil.copytree(shipped_settings.index, base / "index")
    return Settings(corpus=base / "corpus", index=base / "index")


@pytest.fixture(scope="module")
def pooled(writable: Settings, embedder: Embedder) -> Iterator[tuple[LiveServer, Service, object]]:
    from bayqa.api.app import create_app

    service = Service(writable, embedder)
    service.load()
    app = create_app(service, search_processes=2)
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        wait_for_processes(http, 2)
        pool = app.state.search_pool
        yield server, service, pool


def test_search_processes_answer_like_the_server_process(pooled, shipped_service: Service) -> None:
    from bayqa.api.searching import search_response
    from bayqa.api.schemas import SearchRequest

    server, _, pool = pooled
    assert len(pool.pids) == 2 and os.getpid() not in pool.pids
    with httpx.Client(base_url=server.url, timeout=60) as http:
        for q in QUESTIONS:
            got = http.get("/search", params={"q": q, "k": 5})
            assert got.status_code == 200
            here = search_response(shipped_service, SearchRequest(q=q, k=5)).model_dump(mode="json")
            body = got.json()
            assert [r["chunk_id"] for r in body["results"]] == [r["chunk_id"] for r in here["results"]]
            assert [r["answer"] for r in body["results"]] == [r["answer"] for r in here["results"]]
            assert body["confidence"] == here["confidence"]
        bad = http.post("/search", json={"q": "talent", "doc_ids": ["nope.md"]})
        assert bad.status_code == 422 and "nope.md" in bad.json()["detail"]
        empty = http.get("/search", params={"q": "   "})
        assert empty.status_code == 422 and "empty" in empty.json()["detail"]


def test_concurrent_searches_spread_over_both_processes(pooled) -> None:
    server, _, pool = pooled
    before = {pid: cpu_seconds(pid) for pid in pool.pids}
    statuses: list[int] = []

    def client(offset: int) -> None:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            for i in range(15):
                statuses.append(http.get("/search", params={"q": QUESTIONS[(offset + i) % len(QUESTIONS)]}).status_code)

    with ThreadPoolExecutor(4) as clients:
        list(clients.map(client, range(4)))
    assert statuses == [200] * 60
    used = {pid: cpu_seconds(pid) - before[pid] for pid in before}
    assert min(used.values()) > 0.25 * max(used.values()), used  # both did a fair share of the work


def test_a_search_after_an_update_sees_it(pooled) -> None:
    server, service, _ = pooled
    (service.settings.corpus / "zz_pool_note.md").write_text(
        "# Pool note\n\nThe Lantau Tomorrow Vision artificial islands are planned for about 1,000 hectares of reclaimed land.\n",
        encoding="utf-8",
    )
    service.update()  # what a write job does: build, then switch this server to the new generation
    with httpx.Client(base_url=server.url, timeout=60) as http:
        body = http.get("/search", params={"q": "Lantau Tomorrow Vision artificial islands hectares", "k": 3}).json()
    assert body["generation"] == service.searcher.index.generation
    assert body["results"][0]["doc_id"] == "zz_pool_note.md"


def test_a_killed_search_process_is_replaced(pooled) -> None:
    server, _, pool = pooled
    victim = pool.pids[0]
    os.kill(victim, signal.SIGKILL)
    with httpx.Client(base_url=server.url, timeout=60) as http:
        # the first search sent to the dead process is answered by the other one
        assert [http.get("/search", params={"q": q}).status_code for q in QUESTIONS * 2] == [200] * 8
        wait_for_processes(http, 2)
        assert victim not in pool.pids
        assert http.get("/search", params={"q": QUESTIONS[0]}).status_code == 200


def test_a_search_before_any_process_is_ready_is_refused(writable: Settings) -> None:
    import asyncio

    from bayqa.api.pool import SearchPool, SearchProcessLost

    pool = SearchPool(writable, 2)  # not started: no process has loaded the index
    with pytest.raises(SearchProcessLost, match="try again"):
        asyncio.run(asyncio.wait_for(pool.search('{"q": "bridge"}', None), timeout=5))  # refused, not left waiting
    with pytest.raises(ValueError):
        SearchPool(writable, 0)
