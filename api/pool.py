"""Searches in separate processes: how ``bayqa serve --workers N`` uses more than one core.

Most of a search holds Python's GIL, so one process answers about one core's worth of searches. With ``--workers N``
the server process keeps HTTP, the web page, writes and jobs, and hands each search to one of N search processes.
Each of them holds the model and the live index and runs one search at a time; a search goes to whichever process is
free, first come first served, so the work stays even however the clients' connections arrive.

Splitting by connection (uvicorn's own worker processes) was measured and dropped: the keep-alive connections of a
client can all land on one worker, which then does all the work while the others idle; processes fed from one queue
share the work whatever the connections do (docs/experiments.md has the runs).
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

from bayqa.api.searching import search_json
from bayqa.config import Settings
from bayqa.service import NotReady, Service, follow_index

log = logging.getLogger("bayqa.api")
#: How long the server waits before starting a search process again after one stopped, so a process that cannot
#: start (out of memory, a broken model) is retried without spinning.
RESPAWN_DELAY_SECONDS = 1.0
#: The variable that tells the forkserver of search processes which models to load (bayqa.api.warm), as JSON of
#: these settings.
WARM_MODELS = "BAYQA_SEARCH_PROCESS_MODELS"
WARM_SETTINGS = ("model", "backend", "multilingual", "cache")
#: A process that has not said "ready" within this long is given up and started again.
START_TIMEOUT_SECONDS = 600.0


class SearchProcessLost(NotReady):
    """No search process could answer (none is running yet, or the one that had the search stopped); try again.

    Answered like NotReady: a 503 with Retry-After."""


@dataclass(eq=False)
class _Process:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    pid: int = field(init=False)

    def __post_init__(self) -> None:
        self.pid = self.process.pid or 0


#: A search waiting for a process: the message to send, where its reply goes, and whether it was sent to a process
#: that stopped before answering (it is tried once more on another one).
_Request = tuple[tuple[str, "str | None"], asyncio.Future, asyncio.AbstractEventLoop, bool]


class SearchPool:
    """N search processes over one index folder, fed from one queue.

    Each process has a thread here that takes the next search from the queue, sends it, and waits for the reply; it
    goes on to the next search without waiting for the event loop, which keeps the processes busy (handing each
    search over through the event loop left them idle part of the time).
    """

    def __init__(self, settings: Settings, processes: int) -> None:
        if processes < 1:
            raise ValueError("a search pool needs at least one process")
        self.settings = settings
        self.size = processes
        self._requests: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._live: set[_Process] = set()
        self._lock = threading.Lock()
        self._closed = threading.Event()

    @property
    def ready(self) -> int:
        """How many search processes have loaded the index and take searches."""
        with self._lock:
            return len(self._live)

    @property
    def pids(self) -> list[int]:
        with self._lock:
            return sorted(p.pid for p in self._live)

    def start(self) -> None:
        """Start every process; each takes searches once it has loaded the index (a few seconds)."""
        for _ in range(self.size):
            self._spawn_in_background(delay=0.0)

    async def search(self, request_json: str, generation: str | None) -> tuple[int, bytes]:
        """The status and JSON body of one search, from the first free process.

        ``generation`` is the one this server serves: a search process behind it loads it first, so a search made
        after an update (by this server) never sees the index as it was before.
        """
        if not self.ready:
            raise SearchProcessLost("no search process is running yet; try again in a few seconds")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[int, bytes]] = loop.create_future()
        self._requests.put(((request_json, generation), future, loop, False))
        return await future

    def close(self) -> None:
        """Stop every process (they only read the index, so nothing is lost)."""
        self._closed.set()
        with self._lock:
            workers, self._live = list(self._live), set()
        for _ in workers:
            self._requests.put(None)
        for worker in workers:
            worker.process.terminate()
        for worker in workers:
            worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=5)

    def _dispatch(self, worker: _Process) -> None:
        """Feed one process from the queue until it stops or the pool closes."""
        while (request := self._requests.get()) is not None:
            message, future, loop, retried = request
            try:
                worker.conn.send(message)
                reply: tuple[int, bytes] = worker.conn.recv()
            except (EOFError, OSError):
                others = self.ready - 1
                if retried or not others:
                    _reply(loop, future, SearchProcessLost("a search process stopped while answering; try again"))
                else:
                    self._requests.put((message, future, loop, True))
                self._lost(worker)
                return
            _reply(loop, future, reply)
        worker.conn.close()

    def _lost(self, worker: _Process) -> None:
        with self._lock:
            self._live.discard(worker)
        worker.conn.close()
        worker.process.join(timeout=1)
        if self._closed.is_set():
            return
        log.error("search process %s stopped (exit code %s); starting another", worker.pid, worker.process.exitcode)
        self._spawn_in_background(delay=RESPAWN_DELAY_SECONDS)

    def _spawn_in_background(self, delay: float) -> None:
        threading.Thread(target=self._spawn, args=(delay,), name="bayqa-search-start", daemon=True).start()

    def _spawn(self, delay: float) -> None:
        """Start one process and queue it once it is ready; if it fails to start, try again until the pool closes."""
        while not self._closed.wait(delay):
            delay = RESPAWN_DELAY_SECONDS
            worker = self._start_one()
            if worker is None:
                continue
            with self._lock:
                if not self._closed.is_set():
                    self._live.add(worker)
                    threading.Thread(target=self._dispatch, args=(worker,), name="bayqa-search-feed", daemon=True).start()
                    return
            worker.process.kill()
            return

    def _start_one(self) -> _Process | None:
        """A started process that said "ready", or None (it was stopped)."""
        context = _context(self.settings)
        ours, theirs = context.Pipe()
        searcher_settings = self.settings.model_copy(update={"api_token": None})  # search processes never write
        process = context.Process(target=serve_searches, args=(searcher_settings, theirs), name="bayqa-search", daemon=True)
        process.start()
        theirs.close()
        worker = _Process(process, ours)
        try:
            if ours.poll(START_TIMEOUT_SECONDS) and ours.recv() == "ready":
                return worker
        except (EOFError, OSError):
            pass
        log.error("search process %s did not start (exit code %s); trying again", worker.pid, process.exitcode)
        process.kill()
        process.join(timeout=5)
        ours.close()
        return None


def _context(settings: Settings) -> multiprocessing.context.BaseContext:
    """Search processes are forked from a fresh process (a forkserver, never this server: a fork would copy its threads
    and locks) that has imported bayqa and loaded the models (bayqa.api.warm), so they share those pages. It is told
    the models through a variable of its own: the settings' own variables would change what later processes read."""
    os.environ[WARM_MODELS] = json.dumps({name: str(getattr(settings, name)) for name in WARM_SETTINGS if getattr(settings, name) is not None})
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["bayqa.api.pool", "bayqa.api.warm"])
    return context


def _reply(loop: asyncio.AbstractEventLoop, future: asyncio.Future, outcome: object) -> None:
    """Hand a reply (or the error) to the request waiting on the server's event loop, from a feeding thread."""
    try:
        loop.call_soon_threadsafe(_settle, future, outcome)
    except RuntimeError:  # the loop has closed: the server is shutting down and nobody waits any more
        pass


def _settle(future: asyncio.Future, outcome: object) -> None:
    if future.done():  # the client went away and the request was cancelled
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


def serve_searches(settings: Settings, conn: Connection) -> None:
    """A search process: load the live index, say "ready", then answer searches until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the server stops us itself
    from bayqa.api import warm  # already imported by the forkserver: its models

    shared = warm.EMBEDDER if warm.EMBEDDER is not None and warm.EMBEDDER.model_id == settings.model else None
    service = Service(settings, shared)
    stop = threading.Event()
    threading.Thread(target=follow_index, args=(service, stop), name="bayqa-index-follower", daemon=True).start()
    while not service.ready:
        time.sleep(0.05)
    service.embedder  # loaded now, not during the first search
    conn.send("ready")
    while True:
        try:
            request_json, generation = conn.recv()
        except (EOFError, OSError):
            return
        if generation is not None and generation != service.index.generation:
            try:
                service.refresh()
            except Exception:  # the follower thread logs and retries; serve what is loaded
                log.exception("could not load generation %s", generation)
        conn.send(search_json(service, request_json))
