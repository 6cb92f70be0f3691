"""Index updates run as jobs: accepted at once, done one at a time by a single worker thread.

Job records live in a small SQLite file in the index folder, so every server process over that folder
(replicas of ``bayqa serve``) can report on any job, whichever process accepted it. Each process
runs its own jobs; the index write lock makes builds of different processes wait for each other.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import secrets
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

log = logging.getLogger("bayqa.jobs")

#: What a job's work gets: call it with (done, total) as it goes.
Progress = Callable[[int, int], None]
#: A job's work: does the update and returns its outcome (JSON-able); raises JobFailed when it did not work out.
Work = Callable[[Progress], dict[str, Any]]

STATES = ("queued", "running", "done", "failed")
PROGRESS_EVERY = 0.5  # seconds between two progress writes
KEEP_JOBS = 1000  # records kept; older ones are removed when a process starts


class JobFailed(Exception):
    """The job could not do what was asked; the message says why and what to do."""


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    document: str | None
    state: str
    done: int
    total: int
    created_at: str
    started_at: str | None
    finished_at: str | None
    outcome: dict[str, Any] | None
    error: str | None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class Jobs:
    """The job queue of one process, with records shared through ``path``; with ``read_only`` (a read-only server),
    only the records of the writer's jobs, read and never written."""

    def __init__(self, path: Path, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._queue: queue.Queue[tuple[str, Work] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._host = socket.gethostname()
        if read_only:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                """CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, kind TEXT, document TEXT, state TEXT,
                   done INTEGER, total INTEGER, created_at TEXT, started_at TEXT, finished_at TEXT, outcome TEXT,
                   error TEXT, host TEXT, pid INTEGER)"""
            )

    def _connect(self) -> sqlite3.Connection:
        if self.read_only:
            return sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
        return sqlite3.connect(self.path, timeout=30)

    def _no_records(self) -> bool:
        """A read-only reader before the writer made the records: there are none yet."""
        return self.read_only and not self.path.exists()

    def _update(self, job_id: str, **values: Any) -> None:
        columns = ", ".join(f"{name} = ?" for name in values)
        with self._connect() as db:
            db.execute(f"UPDATE jobs SET {columns} WHERE id = ?", (*values.values(), job_id))

    def start(self, rerun: Callable[[str, str | None], Work] | None = None) -> None:
        """Start the worker. Jobs left unfinished by a process of this machine that has died are run again here with
        ``rerun(kind, document)`` (or, without it, marked failed): their change may be on disk but not in the index."""
        self._take_orphans(rerun)
        self._thread = threading.Thread(target=self._work, name="bayqa-jobs", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30) -> None:
        """Finish the job in hand (queued ones are dropped and marked failed) and stop the worker."""
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(timeout)
        self._thread = None

    def submit(self, kind: str, document: str | None, work: Work) -> Job:
        job = self.record(kind, document)
        self.enqueue(job.id, work)
        return job

    def record(self, kind: str, document: str | None) -> Job:
        """Write a queued job's record, to be ``enqueue``d (or ``discard``ed) once the change it follows is made."""
        job_id = secrets.token_hex(8)
        with self._connect() as db:
            db.execute(
                "INSERT INTO jobs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (job_id, kind, document, "queued", 0, 0, _now(), None, None, None, None, self._host, os.getpid()),
            )
        job = self.get(job_id)
        assert job is not None
        return job

    def enqueue(self, job_id: str, work: Work) -> None:
        self._queue.put((job_id, work))

    def discard(self, job_id: str) -> None:
        """Forget a recorded job whose change could not be made."""
        with self._connect() as db:
            db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def get(self, job_id: str) -> Job | None:
        if self._no_records():
            return None
        with self._connect() as db:
            row = db.execute(
                "SELECT id, kind, document, state, done, total, created_at, started_at, finished_at, outcome, error "
                "FROM jobs WHERE id = ?", (job_id,),
            ).fetchone()
        if row is None:
            return None
        return Job(*row[:9], json.loads(row[9]) if row[9] else None, row[10])

    def counts(self) -> dict[str, int]:
        """How many job records are in each state (for the metrics)."""
        if self._no_records():
            return dict.fromkeys(STATES, 0)
        with self._connect() as db:
            found = dict(db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall())
        return {state: int(found.get(state, 0)) for state in STATES}

    def wait(self, job_id: str, timeout: float) -> Job | None:
        """The job once it has finished (or as it is when ``timeout`` runs out); for the CLI and tests."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.get(job_id)
            if job is None or job.state in ("done", "failed") or time.monotonic() > deadline:
                return job
            time.sleep(0.05)

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                break
            self._run(*item)
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is not None:
                self._update(item[0], state="failed", finished_at=_now(), error="the server stopped before this job ran; submit it again")

    def _run(self, job_id: str, work: Work) -> None:
        self._update(job_id, state="running", started_at=_now())
        last = 0.0

        def progress(done: int, total: int) -> None:
            nonlocal last
            if done >= total or time.monotonic() - last >= PROGRESS_EVERY:
                last = time.monotonic()
                self._update(job_id, done=done, total=total)

        try:
            outcome = work(progress)
        except JobFailed as exc:
            self._update(job_id, state="failed", finished_at=_now(), error=str(exc))
        except Exception as exc:  # a bug or an I/O failure: the index is untouched, the job says so
            log.exception("job %s failed", job_id)
            self._update(job_id, state="failed", finished_at=_now(),
                         error=f"the update failed ({type(exc).__name__}: {exc}); the index was not changed")
        else:
            self._update(job_id, state="done", finished_at=_now(), outcome=json.dumps(outcome, ensure_ascii=False))

    def _take_orphans(self, rerun: Callable[[str, str | None], Work] | None) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM jobs WHERE id NOT IN (SELECT id FROM jobs ORDER BY created_at DESC LIMIT ?)", (KEEP_JOBS,))
            rows = db.execute("SELECT id, kind, document, pid FROM jobs WHERE state IN ('queued', 'running') AND host = ? "
                              "ORDER BY created_at", (self._host,)).fetchall()
        for job_id, kind, document, pid in rows:
            if pid == os.getpid() or _alive(pid):
                continue
            if rerun is None:
                self._update(job_id, state="failed", finished_at=_now(),
                             error="the server process running this job stopped; the index kept its previous content")
                continue
            with self._connect() as db:  # claimed only if no other process restarting meanwhile took it first
                claimed = db.execute("UPDATE jobs SET state = 'queued', pid = ?, started_at = NULL WHERE id = ? AND pid = ?",
                                     (os.getpid(), job_id, pid)).rowcount
            if claimed:
                log.info("job %s (%s %s) was cut off by a stop; running it again", job_id, kind, document or "")
                self.enqueue(job_id, rerun(kind, document))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
