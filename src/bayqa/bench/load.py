"""HTTP load: ``bayqa serve`` in child processes, searched by Python client threads and by ``wrk``, with the CPU time
and memory those processes used, read from /proc."""

from __future__ import annotations

import http.client
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bayqa.bench.plan import Plan
from bayqa.bench.timing import percentiles


def peak_rss_mb(pid: int) -> float | None:
    """Peak resident memory of a process and its child processes (the workers of ``serve --workers N``)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        peak = 0
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1])
    except OSError:
        return None
    return round(peak / 1024 + sum(peak_rss_mb(int(c)) or 0.0 for c in children), 1)


def pss_mb(pid: int) -> float | None:
    """Memory of a process and its child processes as the kernel shares it out (PSS, /proc/PID/smaps_rollup): a page
    that n processes map (the index files they map read-only, libraries) counts 1/n in each, so the sum counts it
    once, where peak resident memory counts it in every process."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    except OSError:
        return None
    own = next((int(line.split()[1]) for line in rollup if line.startswith("Pss:")), 0)
    return round(own / 1024 + sum(pss_mb(int(c)) or 0.0 for c in children), 1)


def cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU time (user and system) used so far by a process, and by its child processes together (the search
    processes of ``serve --workers N``), from /proc; (0, 0) where it cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0, 0.0
    fields = stat[stat.rindex(")") + 2 :].split()  # after the command name, which may hold spaces
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime and stime, fields 14 and 15
    return own, sum(sum(cpu_seconds(int(child))) for child in children)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_latency(url: str, questions: Sequence[str], requests: int, clients: int) -> dict[str, float]:
    """``requests`` GET /search calls spread over ``clients`` threads, each with its own keep-alive connection.

    The client is the standard library's ``http.client``: on the server's cores, the load generator's own work
    counts in every figure, and httpx spends more CPU per request than the standard library.
    """
    address = urllib.parse.urlsplit(url)
    per_client = max(1, requests // clients)
    samples: list[float] = []
    lock = threading.Lock()

    def client(offset: int) -> None:
        connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=60)
        mine = []
        try:
            for i in range(per_client):
                path = "/search?" + urllib.parse.urlencode({"q": questions[(offset + i) % len(questions)], "k": 10})
                started = time.perf_counter()
                connection.request("GET", path)
                response = connection.getresponse()
                body = response.read()
                if response.status != 200:
                    raise RuntimeError(f"GET {path} answered {response.status}: {body[:300]!r}")
                mine.append((time.perf_counter() - started) * 1000)
        finally:
            connection.close()
        with lock:
            samples.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(c * 7,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return percentiles(samples) | {"clients": clients, "qps": round(len(samples) / elapsed, 1)}


_WRK_SCRIPT = """
local paths = {%s}
local turn = 0
request = function()
  turn = turn + 1
  return wrk.format("GET", paths[(turn %% #paths) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("bayqa-wrk %%d %%d %%.3f %%.3f %%.3f\\n", summary.requests, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""


def wrk_latency(url: str, questions: Sequence[str], seconds: int, connections: int, server_pid: int) -> dict[str, Any] | None:
    """The same questions from ``wrk`` over ``connections`` keep-alive connections for ``seconds``, if wrk is installed,
    and the CPU time each search cost the server process, its search processes and wrk (what bounds the queries/s
    when they share the cores).

    wrk is written in C and runs on one thread, so the load generator takes little of the cores the server shares
    with it, far less than the Python client of ``http_latency``.
    """
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    paths = ", ".join(f'"/search?{urllib.parse.urlencode({"q": q, "k": 10})}"' for q in questions)  # URL-encoded: no quotes
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "search.lua"
        script.write_text(_WRK_SCRIPT % paths, encoding="utf-8")
        server_before, client_before = cpu_seconds(server_pid), resource.getrusage(resource.RUSAGE_CHILDREN)
        run = subprocess.run([wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
                             capture_output=True, text=True, timeout=seconds + 60)
        server_after, client_after = cpu_seconds(server_pid), resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((l for l in run.stdout.splitlines() if l.startswith("bayqa-wrk ")), None)
    if run.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed: {run.stderr.strip() or run.stdout.strip()}")
    requests, errors, p50, p95, p99 = line.split()[1:]
    per_search = 1000 / max(1, int(requests))
    client = (client_after.ru_utime + client_after.ru_stime) - (client_before.ru_utime + client_before.ru_stime)
    cpu = {"server": round((server_after[0] - server_before[0]) * per_search, 2),
           "search_processes": round((server_after[1] - server_before[1]) * per_search, 2),
           "wrk": round(client * per_search, 2)}
    return {"p50": float(p50), "p95": float(p95), "p99": float(p99), "n": int(requests), "errors": int(errors),
            "clients": connections, "qps": round(int(requests) / seconds, 1), "cpu_ms_per_search": cpu}


class Server:
    """``bayqa serve`` as a child process on a free port, so its memory is its own."""

    def __init__(self, index: Path, corpus: Path, model: str, workers: int = 1) -> None:
        self.port = free_port()
        self.workers = workers
        self.url = f"http://127.0.0.1:{self.port}"
        # The collections are built from replicas in memory, not from the corpus folder: a start-up reconciliation
        # would re-index them from the folder while the bench measures.
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "BAYQA_MODEL": model, "BAYQA_RECONCILE": "false"}
        # Its log goes to a file: a pipe nobody reads fills up after some hundred access lines and stalls the server.
        self.log = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bayqa.cli", "serve", "--index", str(index), "--corpus", str(corpus),
             "--port", str(self.port), "--workers", str(workers)],
            env=env, stdout=subprocess.DEVNULL, stderr=self.log, text=True,
        )

    def __enter__(self) -> Server:
        import httpx

        deadline = time.monotonic() + 180
        expected = self.workers if self.workers > 1 else None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"bayqa serve exited: {self.log.read()[-2000:]}")
            try:
                health = httpx.get(f"{self.url}/health", timeout=2)
                if health.status_code == 200 and health.json().get("search_processes") == expected:
                    return self  # with --workers N, once every search process has loaded the index
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError("bayqa serve did not become ready within 180 s")

    def __exit__(self, *exc: object) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def http_figures(
    plan: Plan, index: Path, corpus: Path, model: str, questions: Sequence[str], largest: bool, log: Callable[[str], None]
) -> dict[str, Any]:
    """Latency and memory of ``bayqa serve`` on ``index``: one process with 1 and 8 clients; at the largest size also
    8 ``wrk`` connections, and the same against ``--workers 2``."""
    figures: dict[str, Any] = {}
    log("HTTP latency (1 and 8 clients)")
    with Server(index, corpus, model) as server:
        figures["http_1_client_ms"] = http_latency(server.url, questions, plan.http_requests // 2, 1)
        figures["http_8_clients_ms"] = http_latency(server.url, questions, plan.http_requests, 8)
        figures["server_peak_mb"] = peak_rss_mb(server.process.pid)
        figures["server_pss_mb"] = pss_mb(server.process.pid)
        if largest:
            figures["wrk_8_connections_ms"] = wrk_latency(server.url, questions, plan.wrk_seconds, 8, server.process.pid)
    if not largest:
        return figures
    log("HTTP latency, 8 clients, serve --workers 2")
    with Server(index, corpus, model, workers=2) as server:
        http_latency(server.url, questions, plan.http_requests // 4, 8)  # each search process's first searches are slow
        figures["http_8_clients_2_workers_ms"] = http_latency(server.url, questions, plan.http_requests, 8)
        figures["server_2_workers_peak_mb"] = peak_rss_mb(server.process.pid)
        figures["server_2_workers_pss_mb"] = pss_mb(server.process.pid)
        figures["wrk_8_connections_2_workers_ms"] = wrk_latency(server.url, questions, plan.wrk_seconds, 8, server.process.pid)
    return figures
