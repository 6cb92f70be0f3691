"""HTTP tests against a real uvicorn server on 127.0.0.1 serving the shipped corpus."""

import httpx
import pytest

from bayqa.query import Query
from bayqa.terms import is_mostly_chinese, terms
from tests.conftest import LiveServer


def test_health_reports_ready(client: httpx.Client) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ready" and body["documents"] == 7 and body["chunks"] > 50


def test_search_get_returns_ranked_passages(client: httpx.Client) -> None:
    resp = client.get("/search", params={"q": "When did the Hong Kong-Zhuhai-Macao Bridge open?", "k": 3})
    assert resp.status_code == 200
    body = resp.json()
    assert body["query"] == "When did the Hong Kong-Zhuhai-Macao Bridge open?" and body["k"] == 3
    results = body["results"]
    assert len(results) == 3 and results[0]["doc_id"] == "03_infrastructure_connectivity.md"
    top = results[0]
    assert set(top) >= {"rank", "score", "doc_id", "title", "headings", "section", "page", "chunk_id", "text", "start", "end", "answer",
                        "matches"}
    assert top["answer"] and top["start"] <= top["answer"]["start"] < top["answer"]["end"] <= top["end"]
    doc = client.get(f"/documents/{top['doc_id']}").json()
    assert doc["text"][top["start"]:top["end"]] == top["text"]
    assert doc["text"][top["answer"]["start"]:top["answer"]["end"]] == top["answer"]["text"]


@pytest.mark.parametrize(
    ("question", "term", "word"),
    [("When did the Hong Kong-Zhuhai-Macao Bridge open?", "open", "Opening"), ("河套合作区的总面积是多少？", "总面", "总面")],
)
def test_results_say_where_the_question_terms_matched(client: httpx.Client, question: str, term: str, word: str) -> None:
    results = client.get("/search", params={"q": question, "k": 5}).json()["results"]
    seen: dict[str, set[str]] = {}
    for r in results:
        doc = client.get(f"/documents/{r['doc_id']}").json()["text"]
        assert [m["start"] for m in r["matches"]] == sorted(m["start"] for m in r["matches"])
        for m in r["matches"]:
            asked = (*terms(question), *Query.of(question).translated)  # English passages match the dictionary's English
            # and Chinese ones an English question's names by their characters ("Hong Kong": 香港, bayqa.sounds)
            spelt = is_mostly_chinese(m["term"]) and not is_mostly_chinese(question)
            assert r["start"] <= m["start"] < m["end"] <= r["end"] and (m["term"] in asked or spelt)
            assert terms(doc[m["start"]:m["end"]]) == [m["term"]]  # the offsets hold the word the term was made of
            seen.setdefault(m["term"], set()).add(doc[m["start"]:m["end"]])
    assert word in seen[term]
    assert not {"did", "the", "的", "是多", "多少"} & seen.keys()  # stop words and particles never match


def test_search_post_matches_get(client: httpx.Client) -> None:
    q = "Northern Metropolis San Tin Technopole"
    get = client.get("/search", params={"q": q, "k": 4}).json()
    post = client.post("/search", json={"q": q, "k": 4}).json()
    assert [r["chunk_id"] for r in get["results"]] == [r["chunk_id"] for r in post["results"]]


def test_search_filter_by_document(client: httpx.Client) -> None:
    body = client.get("/search", params=[("q", "talent"), ("doc", "05_qianhai_cooperation_zone.md")]).json()
    assert body["results"] and {r["doc_id"] for r in body["results"]} == {"05_qianhai_cooperation_zone.md"}
    bad = client.post("/search", json={"q": "talent", "doc_ids": ["nope.md"]})
    assert bad.status_code == 422 and "nope.md" in bad.json()["detail"]


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"q": ""}, "empty"),
        ({"q": "   \t "}, "empty"),
        ({"q": "x" * 1001}, "limit is 1000"),
        ({"q": "bridge", "k": 0}, "k:"),
        ({"q": "bridge", "k": 101}, "k:"),
        ({"q": "bridge", "k": "ten"}, "k:"),
        ({}, "q:"),
    ],
)
def test_search_validation_errors_are_readable_422s(client: httpx.Client, params: dict, needle: str) -> None:
    resp = client.get("/search", params=params)
    assert resp.status_code == 422
    assert needle in resp.json()["detail"]


@pytest.mark.parametrize("body", [{}, {"q": "ok", "k": 500}, [1, 2], {"q": None}])
def test_post_validation_errors(client: httpx.Client, body: object) -> None:
    resp = client.post("/search", json=body)
    assert resp.status_code == 422 and resp.json()["detail"]


def test_post_with_broken_json_is_422(client: httpx.Client) -> None:
    resp = client.post("/search", content=b"{not json", headers={"content-type": "application/json"})
    assert resp.status_code == 422


def test_documents_list_and_detail(client: httpx.Client) -> None:
    listing = client.get("/documents").json()
    ids = [d["id"] for d in listing["documents"]]
    assert "11_hetao_brief_zh.md" in ids and "README.md" not in ids and len(ids) == 7
    zh = client.get("/documents/11_hetao_brief_zh.md").json()
    assert zh["title"].startswith("政策简报") and zh["kind"] == "markdown" and zh["chunks"] == len(zh["passages"])
    for p in zh["passages"]:
        assert 0 <= p["start"] < p["end"] <= len(zh["text"])


def test_unknown_document_is_404(client: httpx.Client) -> None:
    resp = client.get("/documents/no/such/file.md")
    assert resp.status_code == 404 and "no document" in resp.json()["detail"]


def test_unknown_route_is_json_404(client: httpx.Client) -> None:
    resp = client.get("/nope")
    assert resp.status_code == 404 and resp.json()["detail"]


def test_page_and_openapi_are_served(client: httpx.Client) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "<form" in page.text
    assert "/search" in client.get("/openapi.json").json()["paths"]
    assert client.get("/docs").status_code == 200


def test_health_is_503_until_the_index_is_loaded(tmp_path, embedder) -> None:
    from bayqa.api.app import create_app
    from bayqa.config import Settings
    from bayqa.service import Service

    service = Service(Settings(corpus=tmp_path / "c", index=tmp_path / "i"), embedder)
    server = LiveServer(create_app(service))
    server.thread.start()
    try:
        for _ in range(200):
            try:
                resp = httpx.get(f"{server.url}/health", timeout=2)
                break
            except httpx.TransportError:
                import time

                time.sleep(0.05)
        assert resp.status_code == 503 and resp.json()["status"] == "loading"
        search = httpx.get(f"{server.url}/search", params={"q": "bridge"}, timeout=5)
        assert search.status_code == 503 and "loading" in search.json()["detail"]
    finally:
        server.__exit__(None, None, None)


def test_search_modes_and_confidence(client: httpx.Client) -> None:
    q = "What is the document number of the State Council's 2012 reply on Qianhai?"
    default = client.get("/search", params={"q": q, "k": 3}).json()
    assert default["mode"] == "hybrid" and 0.0 <= default["confidence"]["score"] <= 1.0
    assert default["confidence"]["low"] is False and default["confidence"]["check"] is None  # no verifier configured
    assert default["confidence"]["missing"] is None
    keyword = client.post("/search", json={"q": q, "k": 3, "mode": "keyword"}).json()
    assert keyword["mode"] == "keyword" and keyword["results"][0]["doc_id"] == "05_qianhai_cooperation_zone.md"
    answer = keyword["results"][0]["answer"]
    assert answer is not None and "No. 58" in answer["text"]
    off_topic = client.get("/search", params={"q": "best chocolate cookie recipe", "mode": "dense"}).json()
    assert off_topic["confidence"]["low"] is True and off_topic["results"]
    fare = client.get("/search", params={"q": "How much does a ticket on the Express Rail Link to West Kowloon cost?"}).json()
    assert fare["confidence"]["low"] is True and fare["confidence"]["missing"] == "amount"
    bad = client.get("/search", params={"q": q, "mode": "fuzzy"})
    assert bad.status_code == 422 and "mode" in bad.json()["detail"]


@pytest.mark.parametrize("slots", [1, 3])
def test_searches_run_at_most_search_slots_at_once(shipped_service, monkeypatch, slots: int) -> None:
    import threading
    import time

    import bayqa.api.app
    import bayqa.api.routes.search
    from bayqa.search import Searcher

    running, most = 0, 0
    lock = threading.Lock()
    answer = Searcher.answer

    def counted(self, *args, **kwargs):  # the real search, held a little so that concurrent ones overlap
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            time.sleep(0.05)
            return answer(self, *args, **kwargs)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(bayqa.api.routes.search, "search_slots", lambda: slots)
    monkeypatch.setattr(Searcher, "answer", counted)
    statuses: list[int] = []
    with LiveServer(bayqa.api.app.create_app(shipped_service)) as server:
        def ask(i: int) -> None:
            with httpx.Client(base_url=server.url, timeout=30) as http:
                statuses.append(http.get("/search", params={"q": f"bridge {i}", "k": 2}).status_code)

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert statuses == [200] * 6
    assert most == slots  # never more at once, and the limit is reached: six requests were waiting


def test_the_cli_prints_the_passages_the_api_returns(shipped_service) -> None:
    from bayqa.api.schemas import PassageOut
    from bayqa.cli import passage_json

    hits = shipped_service.search("When did the Hong Kong-Zhuhai-Macao Bridge open?", k=5)
    assert any(h.answer is not None for h in hits)
    assert [passage_json(h) for h in hits] == [PassageOut.from_hit(h).model_dump() for h in hits]
