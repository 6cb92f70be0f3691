"""Shared fixtures: one real model per session, a real index of the shipped corpus, a real uvicorn server."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from bayqa.config import Settings
from bayqa.embedding import Embedder
from bayqa.service import Service

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_CORPUS = ROOT / "corpus"


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
    from api.app import create_app

    with LiveServer(create_app(shipped_service)) as server:
        yield server


@pytest.fixture()
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=30) as c:
        yield c
