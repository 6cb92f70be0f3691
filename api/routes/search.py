"""``GET /search`` and ``POST /search``: a question in, ranked passages with their answers out."""

from __future__ import annotations

import os

import anyio
from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel

from bayqa.api.errors import NOT_READY_RETRY_SECONDS
from bayqa.api.pool import SearchPool
from bayqa.api.schemas import GENERATION, MIN_GENERATION, Mode, SearchRequest, SearchResponse
from bayqa.api.searching import search_response
from bayqa.metrics import record_search
from bayqa.service import Service


def search_slots() -> int:
    """How many searches one server process without search processes runs at once: as many as it has cores.

    Most of a search holds the GIL, so more threads than cores only queue for it and pass it back and forth;
    ``--workers N`` (api/pool.py) goes past one core.
    """
    return len(os.sched_getaffinity(0))


def _json(model: BaseModel) -> Response:
    """The model as JSON, serialized once by pydantic: returned as the model, FastAPI would validate it a second
    time and encode it with the slower standard json module."""
    return Response(model.model_dump_json(), media_type="application/json")


def search_router(service: Service, pool: SearchPool | None) -> APIRouter:
    """The search routes of one service; with ``pool``, its search processes run the searches."""
    router = APIRouter()
    searches = anyio.CapacityLimiter(search_slots())

    async def searched(body: SearchRequest) -> Response:
        """The search and its JSON in a search process, or on a worker thread here, at most ``search_slots`` at a time
        (the others wait their turn)."""
        if pool is None:
            answer = await anyio.to_thread.run_sync(lambda: search_response(service, body), limiter=searches)
            record_search(answer.mode, answer.confidence.low)
            return _json(answer)
        if body.min_generation is not None:  # this process first, so that it hands the search processes a recent enough one
            await anyio.to_thread.run_sync(service.reach, body.min_generation)
        status, content = await pool.search(body.model_dump_json(), service.index.generation)
        if status == 200:
            record_search(body.mode, b'"low":true' in content)
        headers = {"Retry-After": str(NOT_READY_RETRY_SECONDS)} if status == 503 else None
        return Response(content, status_code=status, media_type="application/json", headers=headers)

    @router.get("/search", response_model=SearchResponse, summary="Ask a question (query string)")
    async def search_get(
        q: str = Query(..., min_length=1, description="The question."),
        k: int = Query(10, ge=1, le=100, description="How many passages to return."),
        doc: list[str] | None = Query(None, description="Only search this document (repeatable)."),
        mode: Mode = Query("hybrid", description="Ranking: hybrid (default), dense or keyword."),
        min_generation: str | None = Query(None, pattern=GENERATION, description=MIN_GENERATION),
    ) -> Response:
        return await searched(SearchRequest(q=q, k=k, doc_ids=doc, mode=mode, min_generation=min_generation))

    @router.post("/search", response_model=SearchResponse, summary="Ask a question (JSON body)")
    async def search_post(body: SearchRequest) -> Response:
        return await searched(body)

    return router
