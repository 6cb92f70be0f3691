"""Write routes: upload, replace and delete documents, reindex, and follow the resulting jobs.

Each write checks the bearer token, changes the corpus folder (uploads are checked and written
atomically), and queues an update job that re-indexes what changed; the call answers 202 with the job
at once. ``GET /jobs/{id}`` is open, like the other reads.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.schemas import ErrorOut, JobOut
from bayqa.corpus import (
    AlreadyExists, NotInCorpus, TooLarge, Unsupported, UploadError, check_upload, document_path, remove_file,
    safe_file_name, staged,
)
from bayqa.documents import content_hash
from bayqa.jobs import Job, Jobs
from bayqa.service import Service
from bayqa.updates import update_work
from bayqa.watch import watch_corpus

log = logging.getLogger("bayqa.api")
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


def _status_of(exc: UploadError) -> int:
    for kind, status in ((TooLarge, 413), (Unsupported, 415), (AlreadyExists, 409), (NotInCorpus, 404)):
        if isinstance(exc, kind):
            return status
    return 422


def write_router(service: Service, jobs: Jobs) -> APIRouter:
    """The write endpoints of one service; every write is a job run by ``jobs``."""
    settings = service.settings
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

    def update_job(kind: str, doc_id: str | None) -> Job:
        return jobs.submit(kind, doc_id, update_work(service, kind, doc_id))

    def accepted(job: Job) -> JSONResponse:
        return JSONResponse(JobOut.model_validate(job.as_dict()).model_dump(), status_code=202,
                            headers={"Location": f"/jobs/{job.id}"})

    async def read_upload(request: Request) -> tuple[str, bytes]:
        limit = int(settings.max_upload_mb * 1024 * 1024)
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

    def store(doc_id: str, data: bytes, replace: bool) -> Job:
        """Check and write the file, then queue its update (in a worker thread: the checks read the whole file).

        The job's record is written before the file is put in place and dropped if that fails, so a failure leaves
        neither; a crash between the two leaves a record that the next start runs again (see Jobs.start).
        """
        path = document_path(settings.corpus, doc_id)
        if replace and not path.is_file():
            raise NotInCorpus(f"no document {doc_id!r} in the corpus folder; add it with POST /documents")
        check_upload(data, doc_id, int(settings.max_upload_mb * 1024 * 1024))
        digest = content_hash(data)
        if not replace and service.ready:
            same = [d.id for d in service.searcher.index.documents.values() if d.content_hash == digest]
            if same:
                raise AlreadyExists(f"the file is identical to {same[0]}, which is already indexed; nothing to add")
        kind = "replace" if replace else "add"
        with staged(path, data) as commit:
            job = jobs.record(kind, doc_id)
            with discarded_on_failure(job):
                commit(replace)
        jobs.enqueue(job.id, update_work(service, kind, doc_id, uploaded=digest))
        return job

    def remove(doc_id: str) -> Job:
        path = document_path(settings.corpus, doc_id)
        job = jobs.record("delete", doc_id)
        with discarded_on_failure(job):
            remove_file(path)
        jobs.enqueue(job.id, update_work(service, "delete", doc_id))
        return job

    @contextmanager
    def discarded_on_failure(job: Job) -> Iterator[None]:
        try:
            yield
        except BaseException:
            try:
                jobs.discard(job.id)
            except Exception:  # the disk that failed the change may fail this too: the next start runs the job
                log.exception("could not drop the record of job %s", job.id)
            raise

    async def guarded(call, *args: Any) -> Job:
        try:
            return await run_in_threadpool(call, *args)
        except UploadError as exc:
            raise HTTPException(_status_of(exc), str(exc)) from exc

    @router.post("/documents", status_code=202, response_model=JobOut, responses=_ERRORS, openapi_extra=_UPLOAD_BODY,
                 dependencies=[Depends(require_token)], summary="Upload a document (multipart field 'file') and index it")
    async def add_document(request: Request) -> JSONResponse:
        filename, data = await read_upload(request)
        try:
            doc_id = safe_file_name(filename)
        except UploadError as exc:
            raise HTTPException(_status_of(exc), str(exc)) from exc
        return accepted(await guarded(store, doc_id, data, False))

    @router.put("/documents/{doc_id:path}", status_code=202, response_model=JobOut, responses=_ERRORS,
                openapi_extra=_UPLOAD_BODY, dependencies=[Depends(require_token)], summary="Replace a document")
    async def replace_document(doc_id: str, request: Request) -> JSONResponse:
        _, data = await read_upload(request)
        return accepted(await guarded(store, doc_id, data, True))

    @router.delete("/documents/{doc_id:path}", status_code=202, response_model=JobOut, responses=_ERRORS,
                   dependencies=[Depends(require_token)], summary="Remove a document from the corpus and the index")
    async def delete_document(doc_id: str) -> JSONResponse:
        return accepted(await guarded(remove, doc_id))

    @router.post("/reindex", status_code=202, response_model=JobOut, responses=_ERRORS,
                 dependencies=[Depends(require_token)], summary="Pick up whatever changed in the corpus folder")
    def reindex() -> JSONResponse:
        return accepted(update_job("reindex", None))

    @router.get("/jobs/{job_id}", response_model=JobOut, responses={404: {"model": ErrorOut}}, summary="State of an update job")
    def job(job_id: str) -> JobOut:
        found = jobs.get(job_id)
        if found is None:
            raise HTTPException(404, f"no job {job_id!r}; job ids come from the write calls")
        return JobOut.model_validate(found.as_dict())

    return router


def watch_folder(service: Service, jobs: Jobs, stop: threading.Event) -> None:
    """For ``bayqa serve --watch``: queue an update job per batch of folder changes, unless one is still waiting.

    Changes made while no server was watching are picked up by the job every server runs at start.
    """
    pending: str | None = None

    def changed(ids: list[str]) -> None:
        nonlocal pending
        waiting = jobs.get(pending) if pending else None
        if waiting is None or waiting.state != "queued":
            pending = jobs.submit("watch", None, update_work(service, "watch")).id

    try:
        watch_corpus(service.settings.corpus, changed, stop)
    except Exception:
        logging.getLogger("bayqa.watch").exception("watching %s stopped; restart the server to watch again", service.settings.corpus)
