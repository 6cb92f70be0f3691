"""Shared fixtures: one real model per session, a real index of the shipped corpus, a real uvicorn server, and a
fake encoder for the fast tier. Tiers (see tests/README.md) are marked here from what each test uses."""

from __future__ import annotations

import shutil
import signal
import subprocess
import zlib
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import httpx
import numpy as np
import pytest
import uvicorn

from bayqa.config import Settings
from bayqa.embedding import Embedder
from bayqa.service import Service

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_CORPUS = ROOT / "corpus"
#: Fixtures that load the real model: a test using any of them belongs to the integration tier.
REAL_MODEL_FIXTURES = {"embedder", "shipped_settings", "shipped_service", "live_server", "client"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its tier: browser (the page in Chromium), integration (the real model), or neither (fast)."""
    for item in items:
        if item.path.name == "test_web.py":
            item.add_marker(pytest.mark.browser)
        if item.path.name == "test_web.py" or REAL_MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


class FakeEncoder:
    """A stand-in for the embedding model in fast tests of code that does not care about meaning: a text's vector is
    the normalized sum of one random vector per word, seeded by the word, so the same text gets the same vector and
    texts sharing words are close."""

    model_id = "fake/hashed-words"
    dimension = 16
    max_tokens = 256

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        return np.array([self._vector(t) for t in texts], dtype=np.float32).reshape(-1, self.dimension)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    def encode_with_spans(self, texts: list[str], spans: list, batch_size: int = 32) -> tuple[np.ndarray, list[np.ndarray]]:
        pooled = [self.encode([" ".join(t[a:b] for a, b in parts) for parts in s]) for t, s in zip(texts, spans)]
        return self.encode(texts), pooled

    def _vector(self, text: str) -> np.ndarray:
        total = np.zeros(self.dimension)
        for word in text.lower().split():
            total += np.random.default_rng(zlib.crc32(word.encode())).standard_normal(self.dimension)
        norm = np.linalg.norm(total)
        return total / norm if norm else total


@pytest.fixture(scope="session")
def fake_encoder() -> FakeEncoder:
    return FakeEncoder()


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture(scope="session")
def shipped_settings(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    """A copy of the shipped corpus with its index built once for the session (read-only for tests)."""
    base = tmp_path_factory.mktemp("shipped")
    shutil.copytree(SHIPPED_CORPUS, base / "corpus")
    settings = Settings(corpus=base / "corpus", index=base / "index")
    Service(settings, embedder).build()
    return settings


@pytest.fixture(scope="session")
def shipped_service(shipped_settings: Settings, embedder: Embedder) -> Service:
    service = Service(shipped_settings, embedder)
    service.load()
    return service


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """A real uvicorn server on 127.0.0.1 in a background thread."""

    def __init__(self, app) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError("test server did not become ready within 60 s")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(shipped_service: Service) -> Iterator[LiveServer]:
    from bayqa.api.app import create_app

    with LiveServer(create_app(shipped_service)) as server:
        yield server


def client_of(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


@pytest.fixture()
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    yield from client_of(live_server)


def wait_for_health(url: str, process: subprocess.Popen, deadline: float, logs: Callable[[], str] = lambda: "") -> None:
    """Wait until a server process answers ``GET /health`` with 200; fail if it exits or ``deadline`` (a
    ``time.monotonic()``) passes first, with what ``logs`` gives."""
    while True:
        assert process.poll() is None and time.monotonic() < deadline, f"{url} did not start: {logs()}"
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)


def stop_processes(processes: Sequence[subprocess.Popen]) -> None:
    """Stop server processes as a service manager would (SIGTERM), killing any still running after 20 s."""
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
