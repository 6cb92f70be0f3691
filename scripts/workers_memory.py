"""Memory of `bayqa serve` and its search processes: start a server on an index with `--workers N`, search it from 8
client threads, then sum PSS (/proc/PID/smaps_rollup) over the server and every process below it. Prints the
figures as JSON and writes them to OUT.

    PYTHONPATH=src python scripts/workers_memory.py INDEX_DIR CORPUS_DIR QUERIES.jsonl WORKERS OUT.json [--searches 400]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import httpx

PORT = 18765
CLIENTS = 8


def tree(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid] + [p for child in children for p in tree(int(child))]


def rollup(pid: int) -> dict[str, float]:
    lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]
    return {key.strip(): int(value.split()[0]) / 1024 for key, value in (line.split(":") for line in lines)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("index")
    parser.add_argument("corpus")
    parser.add_argument("queries", type=Path)
    parser.add_argument("workers", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--searches", type=int, default=400)
    args = parser.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "BAYQA_RECONCILE": "false"}
    command = [sys.executable, "-m", "bayqa.cli", "serve", "--index", args.index, "--corpus", args.corpus,
               "--port", str(PORT), "--workers", str(args.workers)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ready = args.workers if args.workers > 1 else None
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"http://127.0.0.1:{PORT}/health", timeout=2)
                if health.status_code == 200 and health.json().get("search_processes") == ready:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            raise SystemExit("the server did not get ready in 10 minutes")
        texts = [json.loads(line)["text"] for line in args.queries.read_text(encoding="utf-8").splitlines() if line.strip()][:100]

        def client(number: int) -> None:
            connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
            for i in range(args.searches // CLIENTS):
                connection.request("GET", "/search?" + urllib.parse.urlencode({"q": texts[(number * 13 + i) % len(texts)], "k": 10}))
                response = connection.getresponse()
                response.read()
                assert response.status == 200, response.status

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        time.sleep(1)
        figures = [rollup(pid) for pid in tree(server.pid)]
        result = {
            "workers": args.workers, "processes": len(figures), "pss_mb": round(sum(f["Pss"] for f in figures), 1),
            "per_process_pss_mb": [round(f["Pss"], 1) for f in figures],
            "anonymous_pss_mb": round(sum(f.get("Pss_Anon", 0) for f in figures), 1),
            "file_pss_mb": round(sum(f.get("Pss_File", 0) for f in figures), 1),
        }
        print(json.dumps(result))
        args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)


if __name__ == "__main__":
    main()
