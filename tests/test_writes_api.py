"""Live updates over HTTP: upload, replace, delete, reindex and jobs, on a real server with the real model."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from bayqa.api.app import create_app
from bayqa.config import Settings
from bayqa.embedding import Embedder
from bayqa.service import Service
from tests.conftest import LiveServer
from tests.helpers import make_pdf
from tests.test_index import DOCS, make_corpus

TOKEN = "test-token-4f1c"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LIMIT_MB = 0.05  # 52,428 bytes, so the too-large case stays small

LOOP_DOC = (
    "Lok Ma Chau Loop\n\n"
    + "\n\n".join(
        f"Section {n}. The Hong Kong-Shenzhen Innovation and Technology Park in the Lok Ma Chau Loop hosts "
        f"laboratory number {n} for biomedical research, with wet labs, data centres and talent housing."
        for n in range(60)
    )
)
LOOP_QUESTION = "What is built in the Lok Ma Chau Loop innovation park?"


@pytest.fixture(scope="module")
def writable(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[tuple[LiveServer, Service]]:
    base = tmp_path_factory.mktemp("writes")
    corpus = make_corpus(base / "corpus", DOCS)
    service = Service(Settings(corpus=corpus, index=base / "index", api_token=TOKEN, max_upload_mb=LIMIT_MB), embedder)
    service.build()
    service.load()
    with LiveServer(create_app(service)) as server:
        yield server, service


@pytest.fixture()
def api(writable: tuple[LiveServer, Service]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=writable[0].url, timeout=60) as c:
        yield c


def finished(client: httpx.Client, job: dict, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.get(f"/jobs/{job['id']}").json()
        if state["state"] in ("done", "failed"):
            return state
        time.sleep(0.1)
    raise AssertionError(f"job {job['id']} did not finish in {timeout} s")


def upload(client: httpx.Client, name: str, data: bytes, method: str = "POST", path: str = "/documents", headers=AUTH):
    return client.request(method, path, files={"file": (name, data)}, headers=headers)


def top_docs(client: httpx.Client, question: str, k: int = 5) -> list[str]:
    return [r["doc_id"] for r in client.get("/search", params={"q": question, "k": k}).json()["results"]]


def test_writes_are_off_without_a_configured_token(client: httpx.Client) -> None:
    resp = upload(client, "x.txt", b"hello")
    assert resp.status_code == 403 and "BAYQA_API_TOKEN" in resp.json()["detail"]
    assert client.post("/reindex").status_code == 403
    assert client.delete("/documents/01_outline_development_plan.md").status_code == 403


def test_missing_or_wrong_token_is_401(api: httpx.Client) -> None:
    missing = upload(api, "x.txt", b"hello", headers={})
    assert missing.status_code == 401 and "Bearer" in missing.json()["detail"]
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = upload(api, "x.txt", b"hello", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "not the server's" in wrong.json()["detail"]
    assert api.delete("/documents/bridge.md", headers={"Authorization": "Basic abc"}).status_code == 401
    assert api.get("/search", params={"q": "bridge"}).status_code == 200, "reads stay open"


def test_upload_replace_delete_cycle(api: httpx.Client, writable: tuple[LiveServer, Service]) -> None:
    corpus = writable[1].settings.corpus
    text = "Nansha ferry\n\nThe Nansha ferry terminal runs 14 sailings a day to Hong Kong airport's SkyPier."
    resp = upload(api, "nansha_ferry.txt", text.encode())
    assert resp.status_code == 202 and resp.headers["location"] == f"/jobs/{resp.json()['id']}"
    job = finished(api, resp.json())
    assert job["state"] == "done", job["error"]
    assert job["kind"] == "add" and job["document"] == "nansha_ferry.txt"
    assert job["outcome"]["added"] == ["nansha_ferry.txt"] and job["outcome"]["chunks_embedded"] == 1
    assert job["outcome"]["unchanged"] == len(DOCS)
    assert (corpus / "nansha_ferry.txt").read_text(encoding="utf-8") == text
    assert top_docs(api, "How many ferry sailings from Nansha to SkyPier?")[0] == "nansha_ferry.txt"
    assert upload(api, "nansha_ferry.txt", b"again").status_code == 409
    duplicate = upload(api, "ferry_copy.txt", text.encode())
    assert duplicate.status_code == 409 and "identical to nansha_ferry.txt" in duplicate.json()["detail"]

    new_text = "Nansha ferry\n\nSince March the Nansha ferry terminal runs 22 sailings a day to SkyPier."
    replaced = finished(api, upload(api, "anything.txt", new_text.encode(), "PUT", "/documents/nansha_ferry.txt").json())
    assert replaced["state"] == "done" and replaced["outcome"]["changed"] == ["nansha_ferry.txt"]
    assert replaced["outcome"]["chunks_embedded"] == 1
    assert "22 sailings" in api.get("/documents/nansha_ferry.txt").json()["text"]

    deleted = api.delete("/documents/nansha_ferry.txt", headers=AUTH)
    assert deleted.status_code == 202
    job = finished(api, deleted.json())
    assert job["state"] == "done" and job["outcome"]["removed"] == ["nansha_ferry.txt"]
    assert job["outcome"]["chunks_embedded"] == 0
    assert "nansha_ferry.txt" not in top_docs(api, "How many ferry sailings from Nansha to SkyPier?", k=20)
    assert api.get("/documents/nansha_ferry.txt").status_code == 404
    assert not (corpus / "nansha_ferry.txt").exists()
    assert api.delete("/documents/nansha_ferry.txt", headers=AUTH).status_code == 404
    assert upload(api, "x.txt", b"text", "PUT", "/documents/nansha_ferry.txt").status_code == 404


def test_pdf_upload_is_indexed(api: httpx.Client) -> None:
    pdf = make_pdf(["Shekou port handles cruise ships at the Prince Bay terminal."], title="Shekou cruise")
    job = finished(api, upload(api, "shekou.pdf", pdf).json())
    assert job["state"] == "done" and job["outcome"]["added"] == ["shekou.pdf"]
    assert api.get("/documents/shekou.pdf").json()["pages"] == 1


def test_bad_uploads_are_refused(api: httpx.Client, writable: tuple[LiveServer, Service]) -> None:
    corpus = writable[1].settings.corpus
    before = sorted(p.name for p in corpus.iterdir())
    too_large = upload(api, "big.txt", b"a" * 60_000)
    assert too_large.status_code == 413 and "BAYQA_MAX_UPLOAD_MB" in too_large.json()["detail"]
    png = upload(api, "photo.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    assert png.status_code == 415 and "PNG" in png.json()["detail"]
    binary = upload(api, "data.txt", bytes(range(1, 32)) * 40)
    assert binary.status_code == 415 and "binary" in binary.json()["detail"]
    fake_pdf = upload(api, "report.pdf", b"just some text pretending")
    assert fake_pdf.status_code == 415 and "not a PDF" in fake_pdf.json()["detail"]
    not_html = upload(api, "page.html", b"no markup at all here")
    assert not_html.status_code == 415 and "HTML" in not_html.json()["detail"]
    exe = upload(api, "tool.exe", b"MZ....")
    assert exe.status_code == 415 and "unsupported file type" in exe.json()["detail"]
    empty = upload(api, "empty.txt", b"")
    assert empty.status_code == 422
    no_field = api.post("/documents", files={"other": ("a.txt", b"hi")}, headers=AUTH)
    assert no_field.status_code == 422 and "'file'" in no_field.json()["detail"]
    assert api.delete("/documents/../outside.txt", headers=AUTH).status_code == 404
    assert api.delete("/documents/%2E%2E/outside.txt", headers=AUTH).status_code == 404
    assert sorted(p.name for p in corpus.iterdir()) == before, "a refused upload leaves no file behind"


def test_traversal_names_are_stripped_to_a_plain_name(api: httpx.Client, writable: tuple[LiveServer, Service]) -> None:
    corpus = writable[1].settings.corpus
    resp = upload(api, "../../escape.txt", b"Escape attempt\n\nA file that tried to leave the corpus folder.")
    assert resp.status_code == 202
    job = finished(api, resp.json())
    assert job["state"] == "done" and job["document"] == "escape.txt"
    assert (corpus / "escape.txt").exists()
    assert not list(corpus.parent.glob("escape.txt")) and not list(corpus.parent.parent.glob("escape.txt"))
    windows = upload(api, "..\\..\\win.txt", b"Windows style path in the name.")
    assert windows.status_code == 202 and windows.json()["document"] == "win.txt"
    finished(api, windows.json())


def test_reindex_picks_up_the_folder(api: httpx.Client, writable: tuple[LiveServer, Service]) -> None:
    corpus = writable[1].settings.corpus
    (corpus / "dropped.md").write_text("# Dropped\n\nA file copied straight into the folder.", encoding="utf-8")
    job = finished(api, api.post("/reindex", headers=AUTH).json())
    assert job["state"] == "done" and job["outcome"]["added"] == ["dropped.md"]
    again = finished(api, api.post("/reindex", headers=AUTH).json())
    assert again["outcome"]["added"] == [] and again["outcome"]["chunks_embedded"] == 0
    assert api.get("/jobs/0000").status_code == 404


def test_readers_see_no_errors_and_the_new_document_only_after_the_switch(api: httpx.Client, writable) -> None:
    server, _ = writable
    old_generation = api.get("/health").json()["generation"]
    stop = threading.Event()
    seen: list[tuple[str, bool]] = []
    errors: list[str] = []

    def reader() -> None:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            while not stop.is_set():
                try:
                    resp = c.get("/search", params={"q": LOOP_QUESTION, "k": 3})
                    if resp.status_code != 200:
                        errors.append(f"{resp.status_code} {resp.text}")
                        continue
                    body = resp.json()
                    seen.append((body["generation"], any(r["doc_id"] == "loop.txt" for r in body["results"])))
                except httpx.HTTPError as exc:
                    errors.append(repr(exc))

    readers = [threading.Thread(target=reader) for _ in range(3)]
    for t in readers:
        t.start()
    try:
        job = finished(api, upload(api, "loop.txt", LOOP_DOC.encode()).json())
        after_done = len(seen)
        time.sleep(0.5)
    finally:
        stop.set()
        for t in readers:
            t.join()
    assert job["state"] == "done" and job["outcome"]["chunks_embedded"] > 5
    new_generation = job["outcome"]["generation"]
    assert errors == []
    assert not any(found for generation, found in seen if generation == old_generation), "the new document is not in the old generation"
    assert all(found for generation, found in seen if generation == new_generation)
    assert {g for g, _ in seen[after_done + 3:]} == {new_generation}, "after the job is done, readers get the new generation"
    assert len({g for g, _ in seen}) == 2 and len(seen) > 10
