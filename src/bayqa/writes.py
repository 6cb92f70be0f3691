"""Writes to the corpus folder, each followed by the update job that indexes it.

A write checks what it was given, changes the folder (an upload is written whole, at once) and queues a job that
brings the index in line (bayqa.updates); it returns the job at once. The HTTP write routes and the folder watcher
go through here, and a server runs its jobs from here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from bayqa.corpus import (
    AlreadyExists, NotInCorpus, check_upload, document_path, remove_file, remove_stale_uploads, safe_file_name, staged,
)
from bayqa.documents import content_hash
from bayqa.jobs import Job, Jobs
from bayqa.service import Service
from bayqa.updates import update_work

JOBS_FILE = "jobs.sqlite"  # in the index folder, shared by every server process over it
log = logging.getLogger("bayqa.writes")


class Writer:
    """The writes of one service, and the job queue (``jobs``) that runs their updates."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.jobs = Jobs(service.settings.index / JOBS_FILE)

    @property
    def upload_limit(self) -> int:
        """The largest file accepted, in bytes (BAYQA_MAX_UPLOAD_MB)."""
        return int(self.service.settings.max_upload_mb * 1024 * 1024)

    def start(self) -> None:
        """Run jobs: first again those a stopped process left cut off, then one that picks up what changed in the
        folder while no server ran."""
        self.jobs.start(rerun=lambda kind, document: update_work(self.service, kind, document))
        remove_stale_uploads(self.service.settings.corpus)
        if self.service.settings.reconcile:
            self.update("reconcile")

    def stop(self) -> None:
        self.jobs.stop()

    def update(self, kind: str) -> Job:
        """Queue a job that indexes whatever changed in the folder (``kind``: reindex, watch or reconcile)."""
        return self.jobs.submit(kind, None, update_work(self.service, kind))

    def add(self, file_name: str, data: bytes) -> Job:
        """Add an uploaded file under a safe form of its name; UploadError if it cannot be taken as it is."""
        return self._store(safe_file_name(file_name), data, replace=False)

    def replace(self, doc_id: str, data: bytes) -> Job:
        """Put ``data`` in place of document ``doc_id``, which must be in the folder."""
        return self._store(doc_id, data, replace=True)

    def delete(self, doc_id: str) -> Job:
        """Remove document ``doc_id`` from the folder (NotInCorpus if it is not there); the job drops it from the index."""
        path = document_path(self.service.settings.corpus, doc_id)
        job = self.jobs.record("delete", doc_id)
        with self._discarded_on_failure(job):
            remove_file(path)
        self.jobs.enqueue(job.id, update_work(self.service, "delete", doc_id))
        return job

    def indexed_copy_of(self, digest: str) -> str | None:
        """The id of an indexed document with content hash ``digest``, if there is one."""
        if not self.service.ready:
            return None
        return next((d.id for d in self.service.index.documents.values() if d.content_hash == digest), None)

    def _store(self, doc_id: str, data: bytes, replace: bool) -> Job:
        """Check and write the file, then queue its update (the checks read the whole file: call it off the event loop).

        The job's record is written before the file is put in place and dropped if that fails, so a failure leaves
        neither; a crash between the two leaves a record that the next start runs again (see Jobs.start).
        """
        path = document_path(self.service.settings.corpus, doc_id)
        if replace and not path.is_file():
            raise NotInCorpus(f"no document {doc_id!r} in the corpus folder; add it with POST /documents")
        check_upload(data, doc_id, self.upload_limit)
        digest = content_hash(data)
        same = None if replace else self.indexed_copy_of(digest)
        if same is not None:
            raise AlreadyExists(f"the file is identical to {same}, which is already indexed; nothing to add")
        kind = "replace" if replace else "add"
        with staged(path, data) as commit:
            job = self.jobs.record(kind, doc_id)
            with self._discarded_on_failure(job):
                commit(replace)
        self.jobs.enqueue(job.id, update_work(self.service, kind, doc_id, uploaded=digest))
        return job

    @contextmanager
    def _discarded_on_failure(self, job: Job) -> Iterator[None]:
        try:
            yield
        except BaseException:
            try:
                self.jobs.discard(job.id)
            except Exception:  # the disk that failed the change may fail this too: the next start runs the job
                log.exception("could not drop the record of job %s", job.id)
            raise
