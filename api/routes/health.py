"""``GET /health`` (ready once the index is loaded) and ``GET /metrics`` (Prometheus)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

from bayqa.api.pool import SearchPool
from bayqa.api.schemas import Health
from bayqa.jobs import Jobs
from bayqa.metrics import StateCollector
from bayqa.service import Service


def health_router(service: Service, pool: SearchPool | None, jobs: Jobs) -> APIRouter:
    router = APIRouter()

    @router.get("/health", response_model=Health, responses={503: {"model": Health}}, summary="Ready once the index is loaded")
    def health() -> JSONResponse:
        processes = pool.ready if pool is not None else None
        read_only = service.settings.read_only
        if not service.ready or processes == 0:
            loading = Health(status="loading", search_processes=processes, read_only=read_only, store=service.settings.store)
            return JSONResponse(loading.model_dump(), status_code=503)
        return JSONResponse(Health.from_index(service.index, processes, read_only, service.settings.store).model_dump())

    state_registry = CollectorRegistry()
    state_registry.register(StateCollector(lambda: index_state(service), jobs.counts))

    @router.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        """Prometheus text format: the process's counters and histograms, then the index and job states."""
        return Response(generate_latest(REGISTRY) + generate_latest(state_registry), media_type=CONTENT_TYPE_LATEST)

    return router


def index_state(service: Service) -> dict[str, object] | None:
    """What the metrics say of the live generation; None while none is loaded."""
    if not service.ready:
        return None
    index = service.index
    return {"generation": index.generation, "model": index.manifest.model, "documents": len(index.documents),
            "passages": index.manifest.chunks}
