"""The FastAPI app: parse the request, call bayqa, shape the response. No retrieval logic lives here."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from pathlib import Path

import anyio
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route as StarletteRoute

from api.schemas import (
    ChunkRef, ConfidenceOut, DocumentDetail, DocumentList, DocumentOut, ErrorOut, Health, Mode, PassageOut,
    SearchRequest, SearchResponse,
)
from api.pool import SearchPool, SearchProcessLost
from api.middleware import RequestLayer
from api.writes import watch_folder, write_router
from bayqa.corpus import remove_stale_uploads
from bayqa.jobs import Jobs
from bayqa.errors import disk_full, storage_message
from bayqa.metrics import StateCollector, record_search
from bayqa.query import QuestionError, check_question
from bayqa.search import Hit
from bayqa.service import NotReady, Service
from bayqa.updates import update_work

STATIC = Path(__file__).parent / "static"
REFRESH_SECONDS = 1.0
log = logging.getLogger("bayqa.api")


class ApiError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        self.status = status
        self.detail = detail


def _passage(hit: Hit) -> PassageOut:
    return PassageOut.model_validate(hit.as_dict())


def _json(model: BaseModel) -> Response:
    """The model as JSON, serialized once by pydantic. Returned as the model, FastAPI would validate it a second
    time and encode it with the standard json module: 1.2 ms against 0.08 ms for ten passages (measured)."""
    return Response(model.model_dump_json(), media_type="application/json")


def _field_name(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "request"


def _message(error: dict) -> str:
    if error.get("type") == "string_too_short" and (error.get("ctx") or {}).get("min_length") == 1:
        return "is empty; send a value"
    return str(error.get("msg", "invalid"))


def search_response(service: Service, body: SearchRequest) -> SearchResponse:
    """One search, validated against the index it runs on; ApiError says what was wrong with the request."""
    try:
        question = check_question(body.q, service.settings.max_question_chars)
    except QuestionError as exc:
        raise ApiError(422, f"q: {exc}") from exc
    searcher = service.searcher
    doc_ids = frozenset(body.doc_ids) if body.doc_ids else None
    if doc_ids:
        unknown = sorted(doc_ids - set(searcher.index.documents))
        if unknown:
            raise ApiError(422, f"doc_ids: unknown document(s) {', '.join(unknown)}; see GET /documents")
    started = time.perf_counter()
    answers = searcher.answer(question, k=body.k, max_per_doc=service.settings.max_per_doc, doc_ids=doc_ids, mode=body.mode)
    return SearchResponse(
        query=question, k=body.k, mode=answers.mode, took_ms=round((time.perf_counter() - started) * 1000, 2),
        generation=searcher.index.generation, confidence=ConfidenceOut(**asdict(answers.confidence)),
        results=[_passage(h) for h in answers.hits],
    )


def search_json(service: Service, request_json: str) -> tuple[int, bytes]:
    """The HTTP status and JSON body of one search (what a search process of ``--workers N`` sends back)."""
    try:
        return 200, search_response(service, SearchRequest.model_validate_json(request_json)).model_dump_json().encode()
    except ApiError as exc:
        status, detail = exc.status, exc.detail
    except NotReady as exc:
        status, detail = 503, str(exc)
    except Exception:
        log.exception("unexpected error in a search")
        status, detail = 500, "internal error; the server log has the details"
    return status, ErrorOut(detail=detail).model_dump_json().encode()


def search_slots() -> int:
    """How many searches one server process without search processes runs at once: as many as it has cores.

    Most of a search holds the GIL, so more threads than cores only queue for it and pass it back and forth.
    Measured at 100k passages with 8 connections from wrk, on 2 cores: one process running searches on FastAPI's
    40 threads answered 241 q/s with a p95 of 56 ms; two at a time, 319 q/s and 30 ms. ``--workers N`` (api/pool.py)
    goes past one core.
    """
    return len(os.sched_getaffinity(0))


def create_app(service: Service, *, watch: bool = False, search_processes: int = 0) -> FastAPI:
    """The app for one Service; it keeps following the index folder's live generation.

    With ``watch``, changes in the corpus folder are indexed as they happen. With ``search_processes``, searches run
    in that many processes of their own (see api/pool.py) instead of on this process's threads.
    """
    searches = anyio.CapacityLimiter(search_slots())
    pool = SearchPool(service.settings, search_processes) if search_processes else None
    jobs = Jobs(service.settings.index / "jobs.sqlite")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        thread = threading.Thread(target=follow_index, args=(service, stop), name="bayqa-index-follower", daemon=True)
        thread.start()
        if pool is not None:
            pool.start()
        jobs.start(rerun=lambda kind, document: update_work(service, kind, document))
        remove_stale_uploads(service.settings.corpus)
        # Changes made while no server ran (or cut off by a crash) are picked up without anyone asking.
        jobs.submit("reconcile", None, update_work(service, "reconcile"))
        if watch:
            threading.Thread(target=watch_folder, args=(service, jobs, stop), name="bayqa-watch", daemon=True).start()
        yield
        stop.set()
        jobs.stop()
        if pool is not None:
            pool.close()

    app = FastAPI(
        title="bayqa",
        description="Question-answering search over Greater Bay Area policy documents.",
        version="1",
        lifespan=lifespan,
        responses={422: {"model": ErrorOut}, 503: {"model": ErrorOut}},
    )

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status)

    @app.exception_handler(NotReady)
    async def _not_ready(request: Request, exc: NotReady) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "2"})

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        messages = [f"{_field_name(tuple(e.get('loc', ())))}: {_message(e)}" for e in exc.errors()]
        return JSONResponse({"detail": "; ".join(messages)}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 400:  # the framework's word for a body it could not read (JSON, multipart): a 422 here
            return JSONResponse({"detail": f"request: the body could not be read ({exc.detail}); send valid "
                                           "JSON, or multipart/form-data for uploads"}, status_code=422)
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(app, request))
        return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code, headers=headers or None)

    @app.exception_handler(OSError)
    @app.exception_handler(sqlite3.Error)
    async def _storage(request: Request, exc: Exception) -> JSONResponse:
        log.error("storage error on %s %s: %s", request.method, request.url.path, exc)
        folders = (service.settings.corpus, service.settings.index)
        full = disk_full(exc, folders)
        return JSONResponse({"detail": storage_message(exc, folders)}, status_code=507 if full else 503,
                            headers=None if full else {"Retry-After": "5"})

    async def searched(body: SearchRequest) -> Response:
        """The search and its JSON in a search process, or on a worker thread here, at most ``search_slots`` at a time
        (the others wait their turn)."""
        if pool is None:
            answer = await anyio.to_thread.run_sync(lambda: search_response(service, body), limiter=searches)
            record_search(answer.mode, answer.confidence.low)
            return _json(answer)
        try:
            status, content = await pool.search(body.model_dump_json(), service.searcher.index.generation)
        except SearchProcessLost as exc:
            return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "2"})
        if status == 200:
            record_search(body.mode, b'"low":true' in content)
        headers = {"Retry-After": "2"} if status == 503 else None
        return Response(content, status_code=status, media_type="application/json", headers=headers)

    @app.get("/search", response_model=SearchResponse, summary="Ask a question (query string)")
    async def search_get(
        q: str = Query(..., min_length=1, description="The question."),
        k: int = Query(10, ge=1, le=100, description="How many passages to return."),
        doc: list[str] | None = Query(None, description="Only search this document (repeatable)."),
        mode: Mode = Query("hybrid", description="Ranking: hybrid (default), dense or keyword."),
    ) -> Response:
        return await searched(SearchRequest(q=q, k=k, doc_ids=doc, mode=mode))

    @app.post("/search", response_model=SearchResponse, summary="Ask a question (JSON body)")
    async def search_post(body: SearchRequest) -> Response:
        return await searched(body)

    @app.get("/documents", response_model=DocumentList, summary="What is indexed")
    def documents() -> DocumentList:
        index = service.searcher.index
        return DocumentList(generation=index.generation, documents=[DocumentOut(**asdict(d)) for d in index.documents.values()])

    @app.get("/documents/{doc_id:path}", response_model=DocumentDetail, responses={404: {"model": ErrorOut}}, summary="One document")
    def document(doc_id: str) -> DocumentDetail:
        index = service.searcher.index
        info = index.documents.get(doc_id)
        text = index.document_text(doc_id) if info else None
        if info is None or text is None:
            raise ApiError(404, f"no document {doc_id!r} in the index; GET /documents lists them")
        passages = [
            ChunkRef(chunk_id=c.id, start=c.start, end=c.end, headings=list(c.headings), page=c.page)
            for c in (index.chunks[r] for r in index.rows_by_doc.get(doc_id, []))
        ]
        return DocumentDetail(**asdict(info), text=text, passages=passages)

    @app.get("/health", response_model=Health, responses={503: {"model": Health}}, summary="Ready once the index is loaded")
    def health() -> JSONResponse:
        processes = pool.ready if pool is not None else None
        if not service.ready or processes == 0:
            return JSONResponse(Health(status="loading", search_processes=processes).model_dump(), status_code=503)
        index = service.searcher.index
        return JSONResponse(
            Health(status="ready", generation=index.generation, documents=len(index.documents),
                   chunks=index.manifest.chunks, model=index.manifest.model, search_processes=processes).model_dump()
        )

    state_registry = CollectorRegistry()
    state_registry.register(StateCollector(lambda: index_state(service), jobs.counts))

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        """Prometheus text format: the process's counters and histograms, then the index and job states."""
        return Response(generate_latest(REGISTRY) + generate_latest(state_registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/", include_in_schema=False)
    def home() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    app.state.search_pool = pool
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    # Live updates: write routes (bearer token) and job status; see api/writes.py.
    app.include_router(write_router(service, jobs))
    app.add_middleware(RequestLayer)
    return app


def allowed_methods(app: FastAPI, request: Request) -> list[str]:
    """Every method some route takes at this path (each route of a path holds only its own)."""
    methods: set[str] = set()
    for route in _routes(app.router.routes):
        if route.methods and route.matches(request.scope)[0] != Match.NONE:
            methods |= set(route.methods)
    return sorted(methods | ({"HEAD"} if "GET" in methods else set()))


def _routes(routes: list) -> Iterator[StarletteRoute]:
    """The app's routes, with those of included routers (which FastAPI keeps behind one entry each)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _routes(included.routes)
        elif isinstance(route, StarletteRoute):
            yield route


def index_state(service: Service) -> dict[str, object] | None:
    if not service.ready:
        return None
    index = service.searcher.index
    return {"generation": index.generation, "model": index.manifest.model, "documents": len(index.documents),
            "passages": index.manifest.chunks}


def follow_index(service: Service, stop: threading.Event) -> None:
    """Load the index if needed, then pick up new generations written by any process."""
    while not stop.is_set():
        try:
            service.refresh()
        except Exception:  # a half-deleted or mismatched generation: keep serving the old one, retry later
            log.exception("could not load the newest index generation; still serving the previous one")
        stop.wait(REFRESH_SECONDS)
