"""The FastAPI app: the routers of each feature (api/routes), the error answers (api/errors.py), the request layer
(api/middleware.py) and the web page. No retrieval logic lives here."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from bayqa.api.errors import install_error_handlers
from bayqa.api.middleware import RequestLayer
from bayqa.api.pool import SearchPool
from bayqa.api.routes.documents import document_router
from bayqa.api.routes.health import health_router
from bayqa.api.routes.search import search_router
from bayqa.api.routes.writes import job_router, refused_write_router, write_router
from bayqa.api.schemas import ErrorOut
from bayqa.jobs import Jobs
from bayqa.service import Service, follow_index
from bayqa.watch import watch_folder
from bayqa.writes import JOBS_FILE, Writer

STATIC = Path(__file__).parent / "static"


def create_app(service: Service, *, watch: bool = False, search_processes: int = 0) -> FastAPI:
    """The app for one Service; it keeps following the index folder's live generation.

    With ``watch``, changes in the corpus folder are indexed as they happen. With ``search_processes``, searches run
    in that many processes of their own (see api/pool.py) instead of on this process's threads. A service whose settings
    say ``read_only`` serves searches and documents only, and answers writes with 405.
    """
    pool = SearchPool(service.settings, search_processes) if search_processes else None
    read_only = service.settings.read_only
    if read_only and watch:
        raise ValueError("a read-only server cannot watch the corpus folder: the writer does")
    # A read-only server never writes to the index folder: no writer, no jobs of its own, no reconciliation.
    writer = None if read_only else Writer(service)
    jobs = writer.jobs if writer is not None else Jobs(service.settings.index / JOBS_FILE, read_only=True)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        threading.Thread(target=follow_index, args=(service, stop), name="bayqa-index-follower", daemon=True).start()
        if pool is not None:
            pool.start()
        if writer is not None:
            writer.start()
        if watch and writer is not None:
            threading.Thread(target=watch_folder, args=(writer, stop), name="bayqa-watch", daemon=True).start()
        yield
        stop.set()
        if writer is not None:
            writer.stop()
        if pool is not None:
            pool.close()

    app = FastAPI(
        title="bayqa",
        description="Question-answering search over Greater Bay Area policy documents.",
        version="1",
        lifespan=lifespan,
        responses={422: {"model": ErrorOut}, 503: {"model": ErrorOut}},
    )
    install_error_handlers(app, (service.settings.corpus, service.settings.index))
    app.include_router(search_router(service, pool))
    app.include_router(document_router(service))
    app.include_router(health_router(service, pool, jobs))

    @app.get("/", include_in_schema=False)
    def home() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    app.state.search_pool = pool
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # Live updates: write routes (bearer token), or on a read-only server their refusals; job status. api/routes/writes.py
    app.include_router(write_router(writer) if writer is not None else refused_write_router())
    app.include_router(job_router(jobs))
    app.add_middleware(RequestLayer)
    return app
