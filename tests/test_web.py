"""The web page in a real headless Chromium (Debian's, driven by Playwright) against real uvicorn servers.

Three servers: the shipped corpus (session fixture), a small corpus with a document full of markup, and an empty
index (the only way a real server answers with no passages). Route interception stands in only for what a real
server cannot produce on demand: a 500/502, a request held open to see the loading state.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, quote, urlparse

import httpx
import pytest

from bayqa.config import Settings
from bayqa.embedding import Embedder
from bayqa.service import Service
from tests.conftest import ROOT, LiveServer

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"]
SCREENSHOTS = ROOT / "test-output"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
BRIDGE_Q = "When did the Hong Kong-Zhuhai-Macao Bridge open?"

MARKUP_NOTE = """Quoted markup <b>bold</b> in a title
Some policy notices quote web markup verbatim. This notice quotes a script tag:
<script>window.__bayqaInjected = true</script>
and an image tag with a handler: <img src=x onerror="window.__bayqaInjected = true">.
A reader must see these tags as plain text, never run them.
"""
FERRIES = """# Cross-boundary ferries

Ferries link Shekou in Shenzhen with Hong Kong International Airport and Macao. The SkyPier service lets air
passengers transfer without passing Hong Kong immigration.
"""

expect.set_options(timeout=15_000)


def shown(text: str) -> str:
    """Markdown document text as the page displays it: emphasis markers and heading hashes left out."""
    return re.sub(r"^#{1,6}[ \t]+", "", re.sub(r"(\*\*|__)(?=\S)([^\n]*?\S)\1", r"\2", text), flags=re.MULTILINE)


def marked(result: dict, start: int, end: int) -> list[str]:
    """The words the page should bold in the part [start, end) of a result: the server's matches of the question's
    terms there, overlapping or touching ones joined (Chinese terms are overlapping pairs of characters)."""
    ranges: list[list[int]] = []
    for m in result["matches"]:
        if start <= m["start"] and m["end"] <= end:
            if ranges and m["start"] <= ranges[-1][1]:
                ranges[-1][1] = max(ranges[-1][1], m["end"])
            else:
                ranges.append([m["start"], m["end"]])
    return [shown(result["text"][s - result["start"]:e - result["start"]]) for s, e in ranges]


def bolded(page, selector: str) -> list[list[str]]:
    return page.locator(selector).evaluate_all("els => els.map(e => [...e.querySelectorAll('strong.term')].map(s => s.textContent))")


def _search_is_settled(page) -> None:
    expect(page.locator("#status")).not_to_have_class(re.compile(r"\bloading\b"))


def search(page, question: str) -> None:
    """Type a question into the box and press Enter, as a user would."""
    page.fill("#q", question)
    page.press("#q", "Enter")
    _search_is_settled(page)


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlparse(url).query)


def is_search_request(url: str) -> bool:
    return urlparse(url).path == "/search"


@pytest.fixture(scope="module")
def browser() -> Iterator:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed; `make browser` installs it")
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def _new_page(browser, viewport: dict) -> Iterator:
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture()
def page(browser) -> Iterator:
    yield from _new_page(browser, DESKTOP)


@pytest.fixture()
def phone_page(browser) -> Iterator:
    yield from _new_page(browser, PHONE)


def _serve_corpus(base: Path, files: dict[str, str], embedder: Embedder) -> Iterator[LiveServer]:
    from bayqa.api.app import create_app

    corpus = base / "corpus"
    corpus.mkdir()
    for name, text in files.items():
        (corpus / name).write_text(text, encoding="utf-8")
    service = Service(Settings(corpus=corpus, index=base / "index"), embedder)
    service.build()
    service.load()
    with LiveServer(create_app(service)) as server:
        yield server


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[LiveServer]:
    yield from _serve_corpus(tmp_path_factory.mktemp("web-small"), {"markup_note.txt": MARKUP_NOTE, "ferries.md": FERRIES}, embedder)


@pytest.fixture(scope="module")
def empty_server(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[LiveServer]:
    yield from _serve_corpus(tmp_path_factory.mktemp("web-empty"), {}, embedder)


def test_question_shows_ranked_results_with_the_answer_highlighted(page, live_server: LiveServer) -> None:
    api = httpx.get(f"{live_server.url}/search", params={"q": BRIDGE_Q, "k": 10}, timeout=30).json()["results"]
    page.goto(live_server.url + "/")
    search(page, BRIDGE_Q)

    results = page.locator("ol.results > li.result")
    expect(results).to_have_count(len(api))
    assert [results.nth(i).get_attribute("data-chunk") for i in range(len(api))] == [r["chunk_id"] for r in api]
    top = results.first
    assert top.get_attribute("data-doc") == "03_infrastructure_connectivity.md"
    expect(top.locator(".result-title")).to_have_text(api[0]["title"])
    assert "**" in api[0]["answer"]["text"], "the top answer is Markdown source with emphasis"
    expect(top.locator("mark.answer")).to_have_text(shown(api[0]["answer"]["text"]))
    expect(top.locator(".passage")).to_have_text(shown(api[0]["text"]))
    expect(top.locator(".score")).to_have_text(f"score {api[0]['score']:.3f}")
    expect(page.locator(".answer-box .answer-text")).to_have_text(shown(api[0]["answer"]["text"]))
    # the bold words are where the server matched the question's terms: whole words ("open" -> "Opening")
    expect(page.locator(".answer-box strong.term", has_text=re.compile(r"^Opening$"))).to_have_count(1)
    assert bolded(page, "li.result .passage") == [marked(r, r["start"], r["end"]) for r in api]
    assert bolded(page, ".answer-box .answer-text") == [marked(api[0], api[0]["answer"]["start"], api[0]["answer"]["end"])]
    assert sum(map(len, bolded(page, "li.result .passage"))) > 20
    expect(page.locator("#status")).to_contain_text(f"{len(api)} passages")
    assert query_of(page.url)["q"] == [BRIDGE_Q]
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "web-results-desktop.png"))


def test_url_carries_the_query_through_reload_back_and_forward(page, live_server: LiveServer) -> None:
    first_q, second_q = "Northern Metropolis San Tin Technopole", "Qianhai modern service industry"
    page.goto(f"{live_server.url}/?q={quote(first_q)}")
    _search_is_settled(page)
    first_chunks = page.locator("li.result").evaluate_all("els => els.map(e => e.dataset.chunk)")
    assert first_chunks and page.input_value("#q") == first_q

    page.reload()
    _search_is_settled(page)
    assert page.locator("li.result").evaluate_all("els => els.map(e => e.dataset.chunk)") == first_chunks

    search(page, second_q)
    assert query_of(page.url)["q"] == [second_q]
    second_chunks = page.locator("li.result").evaluate_all("els => els.map(e => e.dataset.chunk)")
    assert second_chunks != first_chunks

    page.go_back()
    expect(page.locator("#q")).to_have_value(first_q)
    expect(page.locator("li.result").first).to_have_attribute("data-chunk", first_chunks[0])
    page.go_forward()
    expect(page.locator("#q")).to_have_value(second_q)
    expect(page.locator("li.result").first).to_have_attribute("data-chunk", second_chunks[0])


def test_passage_link_opens_the_document_scrolled_to_and_marked_at_the_passage(page, live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/?q={quote(BRIDGE_Q)}")
    _search_is_settled(page)
    top = page.locator("li.result").first
    doc_id = top.get_attribute("data-doc")
    top.locator("a.result-link").click()

    mark = page.locator("mark#passage")
    expect(mark).to_be_visible()
    hit = httpx.get(f"{live_server.url}/search", params={"q": BRIDGE_Q, "k": 1}, timeout=30).json()["results"][0]
    doc = httpx.get(f"{live_server.url}/documents/{doc_id}", timeout=30).json()
    assert query_of(page.url)["read"] == [doc_id]
    expect(mark).to_have_text(shown(doc["text"][hit["start"]:hit["end"]]))
    expect(mark.locator("mark.answer")).to_have_text(shown(hit["answer"]["text"]))
    expect(page.locator(".doc-text")).to_have_text(re.compile(re.escape(shown(doc["text"][-200:])) + r"\s*$"))
    shown_text = page.locator(".doc-text").inner_text()
    assert "## 3. The Hong Kong" in doc["text"] and "3. The Hong Kong" in shown_text and "## " not in shown_text and "**" not in shown_text
    expect(mark).to_be_in_viewport()
    assert page.evaluate("window.scrollY") > 0, "the passage is further down; the page should have scrolled to it"
    assert page.evaluate("document.activeElement.id") == "passage"
    page.screenshot(path=str(SCREENSHOTS / "web-reader-desktop.png"))

    page.get_by_role("link", name="← Back").click()
    expect(page.locator("li.result").first).to_have_attribute("data-chunk", hit["chunk_id"])


def test_empty_question_shows_a_hint_and_asks_nothing(page, live_server: LiveServer) -> None:
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if is_search_request(r.url) else None)
    page.goto(live_server.url + "/")
    page.fill("#q", "   ")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#status")).to_have_text("Type a question first.")
    expect(page.locator("li.result")).to_have_count(0)
    expect(page.locator(".examples a")).to_have_count(3)
    assert page.evaluate("document.activeElement.id") == "q"
    assert not asked


def test_server_errors_are_shown_in_words(page, small_server: LiveServer) -> None:
    page.goto(small_server.url + "/?q=" + "x" * 1001)
    expect(page.locator(".error-box")).to_contain_text("HTTP 422")
    expect(page.locator(".error-box")).to_contain_text("the limit is 1000")

    page.route(is_search_request, lambda route: route.fulfill(
        status=500, content_type="application/json", body='{"detail": "internal error; the server log has the details"}'))
    page.goto(small_server.url + "/")
    search(page, "ferries to the airport")
    box = page.get_by_role("alert")
    expect(box).to_contain_text("The search failed (HTTP 500)")
    expect(box).to_contain_text("internal error; the server log has the details")
    expect(page.locator("#status")).to_have_text("")

    page.unroute(is_search_request)
    page.route(is_search_request, lambda route: route.fulfill(status=502, content_type="text/html", body="<h1>Bad gateway</h1>"))
    page.get_by_role("button", name="Try again").click()
    expect(page.get_by_role("alert")).to_contain_text("The search failed (HTTP 502)")
    expect(page.locator("#view h1")).to_have_count(0)

    page.unroute(is_search_request)
    page.get_by_role("button", name="Try again").click()
    expect(page.locator("li.result").first).to_have_attribute("data-doc", "ferries.md")


def test_loading_state_is_shown_while_the_server_works(page, live_server: LiveServer) -> None:
    held: list = []
    page.route(is_search_request, lambda route: held.append(route))
    page.goto(live_server.url + "/")
    page.fill("#q", BRIDGE_Q)
    page.press("#q", "Enter")
    expect(page.locator("#status")).to_have_text("Searching…")
    expect(page.locator("#view")).to_have_attribute("aria-busy", "true")
    while not held:
        page.wait_for_timeout(20)
    held[0].continue_()
    expect(page.locator("li.result").first).to_have_attribute("data-doc", "03_infrastructure_connectivity.md")
    expect(page.locator("#view")).not_to_have_attribute("aria-busy", "true")


def test_no_results_state_from_an_empty_index(page, empty_server: LiveServer) -> None:
    page.goto(empty_server.url + "/")
    search(page, "Northern Metropolis")
    expect(page.locator("#status")).to_have_text("No passages found for “Northern Metropolis”.")
    page.locator("#view").get_by_role("link", name="what is indexed").click()
    expect(page.locator("#status")).to_have_text("No documents are indexed yet.")
    assert query_of(page.url)["view"] == ["documents"]


def test_markup_in_documents_and_questions_is_shown_as_text(page, small_server: LiveServer) -> None:
    page.goto(small_server.url + "/")
    search(page, "a notice that quotes a script tag")
    top = page.locator("li.result").first
    assert top.get_attribute("data-doc") == "markup_note.txt"
    expect(top.locator(".passage")).to_contain_text("<script>window.__bayqaInjected = true</script>")
    expect(top.locator(".result-title")).to_have_text("Quoted markup <b>bold</b> in a title")
    assert top.locator("script, img, b").count() == 0

    top.locator("a.result-link").click()
    expect(page.locator(".doc-text")).to_contain_text('<img src=x onerror="window.__bayqaInjected = true">')
    assert page.locator(".doc-text script, .doc-text img").count() == 0

    sneaky = '<img src=x onerror="window.__bayqaQuery = 1"> ferries'
    page.goto(f"{small_server.url}/?q={quote(sneaky)}")
    _search_is_settled(page)
    expect(page.locator("#status")).to_contain_text(sneaky)
    page.wait_for_timeout(200)
    assert page.evaluate("[window.__bayqaInjected, window.__bayqaQuery]") == [None, None]
    assert page.locator("img").count() == 0


def test_keyboard_only_search_and_open(page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    for _ in range(4):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "q":
            break
    assert page.evaluate("document.activeElement.id") == "q", "the search box should be among the first stops"
    page.keyboard.type(BRIDGE_Q)
    page.keyboard.press("Enter")
    _search_is_settled(page)
    expect(page.locator("li.result")).to_have_count(10)

    for _ in range(8):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('result-link')"):
            break
    focused = page.evaluate("[document.activeElement.classList.contains('result-link'), getComputedStyle(document.activeElement).outlineStyle]")
    assert focused == [True, "solid"], "the first result link is reachable by Tab and shows a focus ring"
    page.keyboard.press("Enter")
    expect(page.locator("mark#passage")).to_be_focused()


def test_documents_view_lists_the_index_and_filters_a_search(page, live_server: LiveServer) -> None:
    listing = httpx.get(f"{live_server.url}/documents", timeout=30).json()["documents"]
    page.goto(live_server.url + "/")
    page.get_by_role("navigation").get_by_role("link", name="Documents").click()
    rows = page.locator("table.documents tbody tr")
    expect(rows).to_have_count(len(listing))
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.doc)") == [d["id"] for d in listing]
    assert rows.evaluate_all("rs => rs.map(r => Number(r.querySelector('.num').textContent))") == [d["chunks"] for d in listing]
    expect(page.locator("#status")).to_have_text(f"{len(listing)} documents indexed, {sum(d['chunks'] for d in listing)} passages.")

    qianhai = "05_qianhai_cooperation_zone.md"
    page.locator(f'tr[data-doc="{qianhai}"]').get_by_role("link", name=re.compile("^Search in")).click()
    expect(page.locator("#doc")).to_have_value(qianhai)
    expect(page.locator("#q")).to_be_focused()
    search(page, "talent")
    assert query_of(page.url)["doc"] == [qianhai]
    docs = page.locator("li.result").evaluate_all("els => els.map(e => e.dataset.doc)")
    assert docs and set(docs) == {qianhai}


def test_phone_width_with_chinese_and_long_text(phone_page, live_server: LiveServer) -> None:
    page = phone_page
    page.goto(live_server.url + "/")
    question = "河套深港科技创新合作区的定位是什么？"
    search(page, question)
    expect(page.locator("li.result").first).to_have_attribute("data-doc", "11_hetao_brief_zh.md")
    api = httpx.get(f"{live_server.url}/search", params={"q": question, "k": 10}, timeout=30).json()["results"]
    assert bolded(page, "li.result .passage") == [marked(r, r["start"], r["end"]) for r in api]
    assert "河套深港科技创新合作区" in bolded(page, "li.result .passage")[0]  # its overlapping pairs, joined
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "web-results-phone.png"))

    search(page, "Qianhai " + "x" * 400)
    expect(page.locator("li.result")).not_to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    page.goto(live_server.url + "/?view=documents")
    expect(page.locator("table.documents tbody tr")).to_have_count(7)
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    page.screenshot(path=str(SCREENSHOTS / "web-documents-phone.png"))


def test_search_mode_is_sent_and_shown(page, live_server: LiveServer) -> None:
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if is_search_request(r.url) else None)
    page.goto(live_server.url + "/")
    page.locator("#options summary").click()
    page.select_option("#mode", "keyword")
    search(page, BRIDGE_Q)
    assert query_of(page.url)["mode"] == ["keyword"]
    assert query_of(sent[-1])["mode"] == ["keyword"]
    expect(page.locator("#status")).to_contain_text("keyword search")
    expect(page.locator("li.result")).not_to_have_count(0)


def test_low_confidence_answer_is_flagged(page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/")
    search(page, "What is the best recipe for chocolate chip cookies?")
    expect(page.locator(".low-confidence")).to_be_visible()
    expect(page.locator(".answer-box")).to_have_count(0)
    expect(page.locator("li.result")).not_to_have_count(0)
    expect(page.locator(".low-reason")).to_have_count(0)
    search(page, "How much does a ticket on the Express Rail Link to West Kowloon cost?")
    expect(page.locator(".low-reason")).to_have_text(
        "The question asks for an amount of money, and none of the top passages gives one."
    )
    search(page, "What will the population of the Greater Bay Area be in 2090?")
    expect(page.locator(".low-reason")).to_have_text("The question names a year that none of the top passages mentions.")
    search(page, "What is the minimum pay for talent in Zhuhai?")
    expect(page.locator(".low-reason")).to_have_text("The question names a place or body that none of the top passages mentions.")
    search(page, BRIDGE_Q)
    expect(page.locator(".low-confidence")).to_have_count(0)
    expect(page.locator(".answer-box")).to_be_visible()
