"""The HTTP API's shapes and errors on a real uvicorn server, with the fake encoder: fast, and blind to meaning, so
these tests check what the API says and how, never which passage is best."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bayqa.api.app import create_app
from bayqa.api.schemas import DocumentDetail, DocumentList, ErrorOut, Health, JobOut, SearchResponse
from bayqa.config import Settings
from bayqa.service import Service
from tests.conftest import FakeEncoder, LiveServer, client_of
from tests.test_index import DOCS, make_corpus

TOKEN = "shapes-token"


@pytest.fixture(scope="module")
def fake_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    base = tmp_path_factory.mktemp("shapes")
    settings = Settings(corpus=make_corpus(base / "corpus", DOCS), index=base / "index", api_token=TOKEN)
    service = Service(settings, FakeEncoder())  # type: ignore[arg-type]
    service.build()
    service.load()
    with LiveServer(create_app(service)) as server:
        yield server


@pytest.fixture()
def api(fake_server: LiveServer) -> Iterator[httpx.Client]:
    yield from client_of(fake_server)


@pytest.mark.parametrize("mode", ["hybrid", "dense", "keyword"])
def test_a_search_answers_the_documented_shape(api: httpx.Client, mode: str) -> None:
    body = api.get("/search", params={"q": "When did the bridge open?", "k": 2, "mode": mode}).json()
    answer = SearchResponse.model_validate(body)
    assert answer.mode == mode and answer.k == 2 and len(answer.results) <= 2
    assert [r.rank for r in answer.results] == list(range(1, len(answer.results) + 1))
    for hit in answer.results:
        text = api.get(f"/documents/{hit.doc_id}").json()["text"]
        assert text[hit.start:hit.end] == hit.text, "offsets point into the document text"
        assert hit.answer is None or text[hit.answer.start:hit.answer.end] == hit.answer.text
    same = api.post("/search", json={"q": "When did the bridge open?", "k": 2, "mode": mode}).json()
    assert [r["chunk_id"] for r in same["results"]] == [r.chunk_id for r in answer.results]


def test_documents_health_and_jobs_have_their_shapes(api: httpx.Client) -> None:
    listing = DocumentList.model_validate(api.get("/documents").json())
    assert {d.id for d in listing.documents} == set(DOCS)
    detail = DocumentDetail.model_validate(api.get("/documents/bridge.md").json())
    assert detail.text and all(0 <= p.start < p.end <= len(detail.text) for p in detail.passages)
    health = Health.model_validate(api.get("/health").json())
    assert health.status == "ready" and health.model == FakeEncoder.model_id and health.documents == len(DOCS)
    job = api.post("/reindex", headers={"Authorization": f"Bearer {TOKEN}"})
    assert job.status_code == 202 and job.headers["location"] == f"/jobs/{job.json()['id']}"
    JobOut.model_validate(job.json())


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/search", {"params": {"q": "  "}}, 422),
        ("GET", "/search", {"params": {"q": "x", "k": 0}}, 422),
        ("POST", "/search", {"content": b"{not json", "headers": {"content-type": "application/json"}}, 422),
        ("POST", "/search", {"json": {"q": "x", "doc_ids": ["nope.md"]}}, 422),
        ("GET", "/documents/nope.md", {}, 404),
        ("GET", "/jobs/nope", {}, 404),
        ("DELETE", "/documents/bridge.md", {}, 401),
        ("PATCH", "/search", {}, 405),
        ("GET", "/no/such/route", {}, 404),
    ],
)
def test_errors_are_json_with_a_detail(api: httpx.Client, method: str, path: str, kwargs: dict, status: int) -> None:
    resp = api.request(method, path, **kwargs)
    assert resp.status_code == status
    assert ErrorOut.model_validate(resp.json()).detail
    assert resp.headers["x-request-id"]


def test_the_openapi_documents_every_route(api: httpx.Client) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    assert {"/search", "/documents", "/documents/{doc_id}", "/health", "/reindex", "/jobs/{job_id}"} <= set(paths)
    assert paths["/search"]["get"]["parameters"][0]["schema"].get("minLength") == 1


def test_a_boolean_is_not_a_count(api: httpx.Client) -> None:
    resp = api.post("/search", json={"q": "bridge", "k": True})
    assert resp.status_code == 422 and resp.json()["detail"].startswith("k:")
