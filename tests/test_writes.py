"""bayqa.writes without HTTP: what a write leaves behind when it is refused or fails, and the job it queues."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from bayqa.corpus import AlreadyExists, NotInCorpus, Unsupported
from bayqa.embedding import Embedder
from bayqa.service import Service
from bayqa.writes import Writer
from tests.test_index import DOCS, service_for


@pytest.fixture()
def writer(tmp_path: Path, embedder: Embedder) -> Writer:
    service = service_for(tmp_path, embedder)
    service.build()
    service.load()
    return Writer(service)  # its jobs are not started: a queued job stays queued


def folder(service: Service) -> list[str]:
    return sorted(p.relative_to(service.settings.corpus).as_posix() for p in service.settings.corpus.rglob("*") if p.is_file())


def no_jobs(writer: Writer) -> bool:
    return not any(writer.jobs.counts().values())


def test_an_accepted_add_writes_the_file_and_queues_its_job(writer: Writer) -> None:
    job = writer.add("sub/../ferry notes.txt", b"Ferry\n\nThe Nansha ferry runs 22 sailings a day.")
    assert (job.kind, job.document, job.state) == ("add", "ferry notes.txt", "queued")
    assert writer.jobs.get(job.id) == job
    assert "ferry notes.txt" in folder(writer.service)


def test_a_copy_of_an_indexed_document_is_refused_and_leaves_nothing(writer: Writer) -> None:
    before = folder(writer.service)
    with pytest.raises(AlreadyExists, match="identical to bridge.md, which is already indexed"):
        writer.add("bridge copy.md", DOCS["bridge.md"].encode())
    replaced = writer.replace("tax.md", DOCS["bridge.md"].encode())  # a replacement may hold any content
    assert replaced.kind == "replace" and (writer.service.settings.corpus / "tax.md").read_text() == DOCS["bridge.md"]
    assert folder(writer.service) == before and writer.jobs.counts()["queued"] == 1


def test_refused_writes_record_no_job(writer: Writer) -> None:
    with pytest.raises(Unsupported):
        writer.add("notes.exe", b"MZ")
    with pytest.raises(NotInCorpus, match="add it with POST /documents"):
        writer.replace("missing.md", b"# Missing\n\ntext")
    with pytest.raises(NotInCorpus):
        writer.delete("missing.md")
    assert no_jobs(writer)


def test_a_failed_change_drops_its_job_record(writer: Writer, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    before = folder(writer.service)
    monkeypatch.setattr(os, "link", full)
    with pytest.raises(OSError):
        writer.add("port.txt", b"Port\n\nShenzhen Bay Port runs co-located clearance.")
    monkeypatch.setattr(os, "unlink", full)
    with pytest.raises(OSError):
        writer.delete("bridge.md")
    assert no_jobs(writer), "the record is written first and dropped when the change fails"
    assert folder(writer.service) == before, "and the folder is as it was, with no temporary file left"
