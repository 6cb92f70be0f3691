"""Write routes: upload, replace and delete documents, reindex, and follow the resulting jobs.

Each write checks the bearer token, reads the upload, and hands it to bayqa.writes, which changes the corpus folder
and queues the update job; the call answers 202 with the job at once. ``GET /jobs/{id}`` is open, like the other reads.
A read-only server answers every write with 405, naming the writer, and still reports on jobs.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from bayqa.api.errors import REFUSED_WRITE
from bayqa.api.schemas import ErrorOut, JobOut
from bayqa.jobs import Job, Jobs
from bayqa.writes import Writer

UPLOAD_FIELD = "file"
MULTIPART_SLACK = 64 * 1024  # bytes of multipart framing allowed on top of the file size limit

_bearer = HTTPBearer(auto_error=False, description="BAYQA_API_TOKEN of the server")
_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": [UPLOAD_FIELD],
            "properties": {UPLOAD_FIELD: {"type": "string", "format": "binary", "description": "The document (.txt, .md, .html, .pdf)."}},
        }}},
    }
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (401, 403, 404, 409, 413, 415, 422)
}


def _accepted(job: Job) -> JSONResponse:
    return JSONResponse(JobOut.from_job(job).model_dump(), status_code=202, headers={"Location": f"/jobs/{job.id}"})


def write_router(writer: Writer) -> APIRouter:
    """The write endpoints over one Writer; every write is a job run by its queue."""
    settings = writer.service.settings
    router = APIRouter(tags=["writes"])

    def require_token(credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:
        token = settings.api_token.get_secret_value() if settings.api_token else ""
        if not token:
            raise HTTPException(403, "writes are disabled on this server: set BAYQA_API_TOKEN to a secret, restart it, "
                                     "and send 'Authorization: Bearer <that secret>' with each write")
        challenge = {"WWW-Authenticate": "Bearer"}
        if credentials is None:
            raise HTTPException(401, "this call changes the index: send 'Authorization: Bearer <BAYQA_API_TOKEN>'", challenge)
        if not secrets.compare_digest(credentials.credentials.encode(), token.encode()):
            raise HTTPException(401, "the bearer token is not the server's BAYQA_API_TOKEN", challenge)

    async def read_upload(request: Request) -> tuple[str, bytes]:
        limit = writer.upload_limit
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit + MULTIPART_SLACK:
            raise HTTPException(413, f"the upload is {int(length):,} bytes; the limit is {limit:,} (BAYQA_MAX_UPLOAD_MB)")
        async with request.form(max_files=1, max_fields=10) as form:
            upload = form.get(UPLOAD_FIELD)
            if not isinstance(upload, UploadFile):
                raise HTTPException(422, f"{UPLOAD_FIELD}: send the document as multipart/form-data field {UPLOAD_FIELD!r}")
            data = await upload.read(limit + 1)
        if len(data) > limit:
            raise HTTPException(413, f"the file is larger than the limit of {limit:,} bytes (BAYQA_MAX_UPLOAD_MB)")
        return upload.filename or "", data

    # The writes read and write whole files: they run on a worker thread, off the event loop.

    @router.post("/documents", status_code=202, response_model=JobOut, responses=_ERRORS, openapi_extra=_UPLOAD_BODY,
                 dependencies=[Depends(require_token)], summary="Upload a document (multipart field 'file') and index it")
    async def add_document(request: Request) -> JSONResponse:
        filename, data = await read_upload(request)
        return _accepted(await run_in_threadpool(writer.add, filename, data))

    @router.put("/documents/{doc_id:path}", status_code=202, response_model=JobOut, responses=_ERRORS,
                openapi_extra=_UPLOAD_BODY, dependencies=[Depends(require_token)], summary="Replace a document")
    async def replace_document(doc_id: str, request: Request) -> JSONResponse:
        _, data = await read_upload(request)
        return _accepted(await run_in_threadpool(writer.replace, doc_id, data))

    @router.delete("/documents/{doc_id:path}", status_code=202, response_model=JobOut, responses=_ERRORS,
                   dependencies=[Depends(require_token)], summary="Remove a document from the corpus and the index")
    async def delete_document(doc_id: str) -> JSONResponse:
        return _accepted(await run_in_threadpool(writer.delete, doc_id))

    @router.post("/reindex", status_code=202, response_model=JobOut, responses=_ERRORS,
                 dependencies=[Depends(require_token)], summary="Pick up whatever changed in the corpus folder")
    def reindex() -> JSONResponse:
        return _accepted(writer.update("reindex"))

    return router


def job_router(jobs: Jobs) -> APIRouter:
    """``GET /jobs/{id}``: the records are shared by every server over the index folder, so any of them answers."""
    router = APIRouter(tags=["writes"])

    @router.get("/jobs/{job_id}", response_model=JobOut, responses={404: {"model": ErrorOut}}, summary="State of an update job")
    def job(job_id: str) -> JobOut:
        found = jobs.get(job_id)
        if found is None:
            raise HTTPException(404, f"no job {job_id!r}; job ids come from the write calls")
        return JobOut.from_job(found)

    return router


READ_ONLY_MESSAGE = "this server is read-only; send writes to the writer (bayqa serve without --read-only)"


def refused_write_router() -> APIRouter:
    """The write endpoints of a read-only server (``bayqa serve --read-only``): each answers 405, naming the writer."""
    router = APIRouter()

    def refuse() -> None:
        raise HTTPException(405, READ_ONLY_MESSAGE)

    for path, method in (("/documents", "POST"), ("/documents/{doc_id:path}", "PUT"), ("/documents/{doc_id:path}", "DELETE"),
                         ("/reindex", "POST")):
        router.add_api_route(path, refuse, methods=[method], name=REFUSED_WRITE, include_in_schema=False)
    return router
