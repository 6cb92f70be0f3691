"""Bounded parsing: each file is read in a worker process under a time and a memory limit, and what it
gives (or why it failed) is cached by content hash, so a build parses only new and changed files.

A hostile or broken file (a PDF whose pages share one huge compressed stream, an HTML file of millions of
empty tags) then costs one bounded parse, once: the worker is stopped at the limit, the file is reported
and skipped, and the failure is remembered for as long as the file stays the same.
"""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bayqa.documents import Content, DocumentError, Section, content_hash, read_content

#: Bump when a parser changes what it makes of a file, so cached results are made again.
PARSER_VERSION = 23
CACHE_FILE = "parsed.sqlite"
KEEP_UNSEEN_SECONDS = 24 * 3600.0  # entries of files no longer in the corpus are dropped after this


@dataclass(frozen=True)
class ParseLimits:
    seconds: float = 30.0
    memory_mb: int = 1024


def _content_json(content: Content) -> bytes:
    return zlib.compress(json.dumps(asdict(content), ensure_ascii=False).encode("utf-8"))


def _content_of(stored: bytes) -> Content:
    data = json.loads(zlib.decompress(stored))
    sections = tuple(Section(s["start"], s["end"], tuple(s["headings"]), s["page"], s.get("page_label")) for s in data["sections"])
    return Content(data["text"], sections, data["title"], data["pages"], tuple(tuple(pair) for pair in data.get("metadata", ())))


class ParseCache:
    """Parsed files by (parser version, kind, content hash) in one SQLite file; failures are kept with the limits
    they hit, so raising a limit tries the file again."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lookups: sqlite3.Connection | None = None
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS parsed (key TEXT PRIMARY KEY, content BLOB, error TEXT, reason TEXT, "
                       "limits TEXT, used REAL)")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """One connection, committed and closed at the end (sqlite3's own ``with`` only commits)."""
        db = sqlite3.connect(self.path, timeout=30)
        try:
            with db:
                yield db
        finally:
            db.close()

    @staticmethod
    def key(data: bytes, kind: str) -> str:
        return f"{PARSER_VERSION}:{kind}:{content_hash(data)}"

    def get(self, key: str, limits: ParseLimits) -> Content | DocumentError | None:
        """The cached result of ``key`` (``touch`` records its use: one write per build, not one per file)."""
        if self._lookups is None:  # one connection for a build's many look-ups, closed by ``close``
            self._lookups = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        row = self._lookups.execute("SELECT content, error, reason, limits FROM parsed WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        stored, error, reason, limited = row
        if error is None:
            return _content_of(stored)
        if limited and limited != _limits_key(limits):
            return None  # failed under other limits: try again under these
        return DocumentError(error, reason)

    def put(self, key: str, result: Content | DocumentError, limits: ParseLimits) -> None:
        if isinstance(result, Content):
            values = (key, _content_json(result), None, None, None, time.time())
        else:
            limited = _limits_key(limits) if result.reason in ("timeout", "memory") else None
            values = (key, None, str(result), result.reason, limited, time.time())
        with self._connect() as db:
            db.execute("INSERT OR REPLACE INTO parsed VALUES (?,?,?,?,?,?)", values)

    def close(self) -> None:
        if self._lookups is not None:
            self._lookups.close()
            self._lookups = None

    def touch(self, keys: set[str]) -> None:
        """Record that a build used ``keys`` now (what ``prune`` keeps)."""
        now = time.time()
        with self._connect() as db:
            db.executemany("UPDATE parsed SET used = ? WHERE key = ?", ((now, k) for k in keys))

    def prune(self, keep: set[str], unseen_for: float = KEEP_UNSEEN_SECONDS) -> int:
        """Drop entries not in ``keep`` that nobody used for ``unseen_for`` seconds; returns how many."""
        cutoff = time.time() - unseen_for
        with self._connect() as db:
            db.execute("CREATE TEMP TABLE keep (key TEXT PRIMARY KEY)")
            db.executemany("INSERT OR IGNORE INTO keep VALUES (?)", ((k,) for k in keep))
            return db.execute("DELETE FROM parsed WHERE used < ? AND key NOT IN (SELECT key FROM keep)", (cutoff,)).rowcount


def _limits_key(limits: ParseLimits) -> str:
    return f"{limits.seconds:g}s/{limits.memory_mb}MB"


def _serve(tasks: Connection, results: Connection, memory_mb: int) -> None:
    """The worker: parse what arrives until the pipe closes. Runs in its own process."""
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    while True:
        try:
            data, kind, name = tasks.recv()
        except EOFError:
            return
        try:
            result: Any = read_content(data, kind, name)
        except DocumentError as exc:
            result = ("error", str(exc), exc.reason)
        except MemoryError:
            result = ("error", f"{name}: reading it needed more than {memory_mb} MB of memory (BAYQA_PARSE_MEMORY_MB); "
                               "the file was skipped", "memory")
        except Exception as exc:  # a parser bug on a strange file: that file is skipped, the worker goes on
            result = ("error", f"{name}: could not be read ({type(exc).__name__}: {exc})", "unreadable")
        del data
        results.send(result)


class BoundedReader:
    """A ``Reader`` (see bayqa.documents) that parses in a worker process under ``limits`` and caches by content.

    Use as a context manager; the worker starts on the first file that is not cached and is replaced when it
    is stopped at a limit. ``durations`` collects the seconds of each parse actually done.
    """

    def __init__(self, cache: ParseCache | None, limits: ParseLimits) -> None:
        self.cache = cache
        self.limits = limits
        self.seen: set[str] = set()
        self.durations: list[float] = []
        self._read: dict[str, Content | DocumentError] = {}  # this reader's results: a build reads the folder twice
        self._worker: tuple[subprocess.Popen[bytes], Connection, Connection] | None = None

    def __enter__(self) -> BoundedReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop_worker()
        if self.cache is not None:
            self.cache.close()
            if self.seen:
                self.cache.touch(self.seen)

    def __call__(self, data: bytes, kind: str, name: str) -> Content:
        key = ParseCache.key(data, kind)
        self.seen.add(key)
        cached = self._read.get(key)
        if cached is None and self.cache is not None:
            cached = self.cache.get(key, self.limits)
        if cached is None:
            started = time.perf_counter()
            cached = self._parse(data, kind, name)
            self.durations.append(time.perf_counter() - started)
            if self.cache is not None:
                self.cache.put(key, cached, self.limits)
        self._read[key] = cached
        if isinstance(cached, DocumentError):
            raise DocumentError(_renamed(str(cached), name), cached.reason)
        return cached

    def _parse(self, data: bytes, kind: str, name: str) -> Content | DocumentError:
        _, to_worker, from_worker = self._start_worker()
        try:
            to_worker.send((data, kind, name))
            if from_worker.poll(self.limits.seconds):
                result = from_worker.recv()
                return DocumentError(result[1], result[2]) if isinstance(result, tuple) else result
        except (EOFError, OSError):
            self._stop_worker()
            return DocumentError(f"{name}: the reader stopped on this file (it may need more than {self.limits.memory_mb} MB "
                                 "of memory, BAYQA_PARSE_MEMORY_MB); the file was skipped", "memory")
        self._stop_worker()
        return DocumentError(f"{name}: reading it took longer than {self.limits.seconds:g} s (BAYQA_PARSE_SECONDS); "
                             "the file was skipped", "timeout")

    def _start_worker(self) -> tuple[subprocess.Popen[bytes], Connection, Connection]:
        """A fresh interpreter (not a fork of this process, whose threads and model it must not share), talking over
        two pipes."""
        if self._worker is None:
            task_r, task_w = os.pipe()
            result_r, result_w = os.pipe()
            process = subprocess.Popen(
                [sys.executable, "-m", "bayqa.parsing", str(task_r), str(result_w), str(self.limits.memory_mb)],
                pass_fds=(task_r, result_w), stdin=subprocess.DEVNULL,
            )
            os.close(task_r)
            os.close(result_w)
            self._worker = (process, Connection(task_w, readable=False), Connection(result_r, writable=False))
        return self._worker

    def _stop_worker(self) -> None:
        if self._worker is None:
            return
        process, to_worker, from_worker = self._worker
        self._worker = None
        to_worker.close()
        from_worker.close()
        try:
            process.wait(0.5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _renamed(message: str, name: str) -> str:
    """A cached failure's message under the name of the file it is now read for (same bytes, maybe another file)."""
    first, sep, rest = message.partition(": ")
    return f"{name}: {rest}" if sep else message


if __name__ == "__main__":  # the worker process of BoundedReader: python -m bayqa.parsing TASK_FD RESULT_FD MEMORY_MB
    _serve(Connection(int(sys.argv[1]), writable=False), Connection(int(sys.argv[2]), readable=False), int(sys.argv[3]))
