"""What the HTTP API answers for each error, in one place: the library's errors, storage errors, the framework's own.

Every error body is ``{"detail": "..."}`` (ErrorOut): what was wrong and what to do about it.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route as StarletteRoute

from bayqa.corpus import AlreadyExists, NotInCorpus, TooLarge, Unsupported, UploadError
from bayqa.errors import disk_full, storage_message
from bayqa.query import QuestionError, UnknownDocuments
from bayqa.service import NotReady
from bayqa.signals import StoreUnavailable

#: The name of the routes of a read-only server that stand where the writes are: they answer 405, and take no method
#: in the Allow header of a 405.
REFUSED_WRITE = "refused_write"
NOT_READY_RETRY_SECONDS = 2  # the index loads, or a search process starts, within seconds
STORAGE_RETRY_SECONDS = 5
_UPLOAD_STATUS = ((TooLarge, 413), (Unsupported, 415), (AlreadyExists, 409), (NotInCorpus, 404))
log = logging.getLogger("bayqa.api")


@dataclass(frozen=True)
class Failure:
    status: int
    detail: str
    headers: dict[str, str] | None = None

    def response(self) -> JSONResponse:
        return JSONResponse({"detail": self.detail}, status_code=self.status, headers=self.headers)


def failure(exc: BaseException) -> Failure | None:
    """The answer to a library error the client can act on; None for any other exception."""
    if isinstance(exc, NotReady):
        return Failure(503, str(exc), {"Retry-After": str(NOT_READY_RETRY_SECONDS)})
    if isinstance(exc, StoreUnavailable):
        return Failure(503, str(exc), {"Retry-After": str(STORAGE_RETRY_SECONDS)})
    if isinstance(exc, QuestionError):
        return Failure(422, f"q: {exc}")
    if isinstance(exc, UnknownDocuments):
        return Failure(422, f"doc_ids: {exc}; see GET /documents")
    if isinstance(exc, UploadError):
        return Failure(next((status for kind, status in _UPLOAD_STATUS if isinstance(exc, kind)), 422), str(exc))
    return None


def install_error_handlers(app: FastAPI, folders: tuple[Path, ...]) -> None:
    """Answer each error as above; a storage error under ``folders`` is a 507 when the disk is full, else a 503."""

    async def library_error(request: Request, exc: Exception) -> JSONResponse:
        found = failure(exc)
        assert found is not None, exc  # registered only for the kinds ``failure`` knows
        return found.response()

    async def storage_error(request: Request, exc: Exception) -> JSONResponse:
        log.error("storage error on %s %s: %s", request.method, request.url.path, exc)
        full = disk_full(exc, folders)
        headers = None if full else {"Retry-After": str(STORAGE_RETRY_SECONDS)}
        return Failure(507 if full else 503, storage_message(exc, folders), headers).response()

    for kind in (NotReady, StoreUnavailable, QuestionError, UnknownDocuments, UploadError):
        app.add_exception_handler(kind, library_error)
    for kind in (OSError, sqlite3.Error):
        app.add_exception_handler(kind, storage_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    messages = [f"{_field_name(tuple(e.get('loc', ())))}: {_message(e)}" for e in exc.errors()]
    return JSONResponse({"detail": "; ".join(messages)}, status_code=422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 400:  # the framework's word for a body it could not read (JSON, multipart): a 422 here
        return JSONResponse({"detail": f"request: the body could not be read ({exc.detail}); send valid "
                                       "JSON, or multipart/form-data for uploads"}, status_code=422)
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request.app, request))
    return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code, headers=headers or None)


def _field_name(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "request"


def _message(error: dict) -> str:
    if error.get("type") == "string_too_short" and (error.get("ctx") or {}).get("min_length") == 1:
        return "is empty; send a value"
    return str(error.get("msg", "invalid"))


def allowed_methods(app: FastAPI, request: Request) -> list[str]:
    """Every method some route takes at this path (each route of a path holds only its own; the refused writes of a
    read-only server take none)."""
    methods: set[str] = set()
    for route in _routes(app.router.routes):
        if route.name == REFUSED_WRITE:
            continue
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
