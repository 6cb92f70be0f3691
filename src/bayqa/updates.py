"""What an update job does: re-index the corpus folder, switch this process, and check the result.

The HTTP write routes and the folder watcher queue the same work, so both finish only once this
process serves the new generation (a deleted document is then gone from its answers).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from bayqa.corpus import document_path, remove_if_unchanged
from bayqa.documents import DocumentError
from bayqa.indexing import BuildReport
from bayqa.jobs import JobFailed, Progress, Work
from bayqa.service import Service
from bayqa.store import IndexStoreError

KINDS = ("add", "replace", "delete", "reindex", "watch", "reconcile")


def outcome(report: BuildReport, generation: str) -> dict[str, Any]:
    """A build report as a job outcome: lists of what changed, a count of what did not."""
    data = asdict(report)
    data.update(generation=generation, unchanged=len(report.unchanged), seconds=round(report.seconds, 3))
    data.pop("notes")
    return data


def update_work(service: Service, kind: str, doc_id: str | None = None, uploaded: str | None = None) -> Work:
    """The job for one write of ``kind`` (one of KINDS) on document ``doc_id``.

    An added file that cannot be indexed (it fails to parse, or is over a parse limit) is taken out of the corpus
    folder again when it still holds the upload (content hash ``uploaded``), so a failed add leaves the folder as
    it was and the same name can be posted again.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown update kind {kind!r}")

    def work(progress: Progress) -> dict[str, Any]:
        try:
            report = service.update(on_progress=progress)
        except (IndexStoreError, DocumentError) as exc:
            raise JobFailed(str(exc)) from exc
        index = service.index
        if kind in ("add", "replace") and doc_id not in index.documents:
            problems = "; ".join(p for p in report.problems if str(doc_id) in p) or "it is no longer in the corpus folder"
            if kind == "add" and uploaded is not None and remove_if_unchanged(document_path(service.settings.corpus, doc_id), uploaded):
                problems += "; the file was taken out of the corpus folder again"
            raise JobFailed(f"{doc_id} could not be indexed: {problems}")
        if kind == "delete" and doc_id in index.documents:
            raise JobFailed(f"{doc_id} is still in the index: the file was put back before the update ran")
        return outcome(report, index.generation)

    return work
