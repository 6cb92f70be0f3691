"""Updates while serving: generations, the write lock, jobs, crash safety and several processes."""

from __future__ import annotations

import os
import stat
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from filelock import FileLock

from bayqa.api.app import create_app
from bayqa.corpus import (
    NotInCorpus, Unsupported, check_upload, document_path, remove_stale_uploads, safe_file_name, write_file,
)
from bayqa.embedding import Embedder
from bayqa.indexing import build
from bayqa.store import LOCK_FILE, IndexBusy, IndexStore
from bayqa.jobs import JobFailed, Jobs
from tests.conftest import LiveServer, free_port, stop_processes, wait_for_health
from tests.test_index import DOCS, make_corpus, service_for


def generated_docs(count: int) -> dict[str, str]:
    """Documents of about three chunks each, different enough to be told apart."""
    return {
        f"district_{n:03d}.txt": f"District report {n}\n\n" + " ".join(
            f"District {n} plans {m * n % 97} new schools, {m + n} clinics and a {n % 7 + m}-kilometre cycle lane in phase {m}."
            for m in range(24)
        )
        for n in range(count)
    }


def test_a_loaded_generation_keeps_answering_after_its_folder_is_pruned(tmp_path: Path, embedder: Embedder) -> None:
    service = service_for(tmp_path, embedder)
    service.build()
    old = service.load()
    corpus = service.settings.corpus
    for n in range(2):
        (corpus / f"extra{n}.txt").write_text(f"Extra note {n} about the Hetao park.", encoding="utf-8")
        service.build()
    assert not (tmp_path / "index" / old.index.generation).exists(), "two builds later the first generation is pruned"
    assert "55 km" in old.index.document_text("bridge.md")
    assert old.search("How long is the bridge to Macao?", k=1)[0].chunk.doc_id == "bridge.md"
    assert service.refresh() and service.searcher.index.generation == IndexStore(tmp_path / "index").current_generation()


def test_an_unswitched_generation_is_removed_and_the_live_one_kept(tmp_path: Path, embedder: Embedder) -> None:
    service = service_for(tmp_path, embedder)
    first = service.build().generation
    (service.settings.corpus / "a.txt").write_text("Qianhai tax note.", encoding="utf-8")
    store = IndexStore(service.settings.index)

    def die(_: Path) -> None:
        raise RuntimeError("killed before the switch")

    from bayqa.documents import load_corpus

    with pytest.raises(RuntimeError):
        build(store, load_corpus(service.settings.corpus).documents, embedder, service.chunk_settings(), before_switch=die)
    assert store.current_generation() == first
    seen: list[tuple[int, int]] = []
    report = service.build(on_progress=lambda done, total: seen.append((done, total)))
    gens = sorted(p.name for p in (tmp_path / "index").glob("gen-*"))
    assert gens == sorted([first, report.generation]), "the orphan goes, the generation readers may hold stays"
    # progress counts the passage, then its sentences, against one total
    assert report.chunks_embedded == 1 and seen[0] == (1, seen[-1][1]) and seen[-1][0] == seen[-1][1] > 1


def test_one_writer_at_a_time_across_processes(tmp_path: Path, embedder: Embedder) -> None:
    service = service_for(tmp_path, embedder)
    service.build()
    (service.settings.corpus / "b.txt").write_text("Shenzhen Bay Port note.", encoding="utf-8")
    lock = FileLock(str(tmp_path / "index" / LOCK_FILE), thread_local=False)  # what another process's build holds
    with lock:
        with pytest.raises(IndexBusy, match="another process is updating"):
            service.build()
        threading.Timer(0.5, lock.release).start()
        started = time.monotonic()
        report = service.build(wait=30)
    assert report.added == ("b.txt",) and time.monotonic() - started >= 0.4


def test_jobs_report_progress_failure_and_survive_restart(tmp_path: Path) -> None:
    jobs = Jobs(tmp_path / "jobs.sqlite")
    jobs.start()
    try:
        def ok(progress):
            progress(1, 2)
            progress(2, 2)
            return {"n": 1}

        def bad(progress):
            raise JobFailed("the file vanished")

        done = jobs.wait(jobs.submit("reindex", None, ok).id, 10)
        failed = jobs.wait(jobs.submit("add", "x.txt", bad).id, 10)
    finally:
        jobs.stop()
    assert done.state == "done" and done.outcome == {"n": 1} and (done.done, done.total) == (2, 2)
    assert failed.state == "failed" and failed.error == "the file vanished" and failed.document == "x.txt"
    assert Jobs(tmp_path / "jobs.sqlite").get(done.id) == done, "another process sees the same record"


def test_upload_names_and_contents_are_checked(tmp_path: Path) -> None:
    assert safe_file_name("../../etc/passwd.txt") == "passwd.txt"
    assert safe_file_name("C:\\Users\\x\\plan 2024.md") == "plan 2024.md"
    assert safe_file_name("深圳 规划.PDF") == "深圳 规划.pdf"
    assert safe_file_name("a<b>|c.html") == "a_b__c.html"
    for bad in ("noext", ".txt", "x.exe", "README.md", "../"):
        with pytest.raises(Unsupported):
            safe_file_name(bad)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (tmp_path / "outside.txt").write_text("x")
    (corpus / "link.txt").symlink_to(tmp_path / "outside.txt")
    for bad_id in ("../outside.txt", "/etc/passwd.txt", "a/../../x.txt", ".hidden/x.txt", "link.txt", "x.exe"):
        with pytest.raises(NotInCorpus):
            document_path(corpus, bad_id)
    assert document_path(corpus, "sub/plan.md") == corpus / "sub" / "plan.md"
    zh = "粤港澳大湾区发展规划纲要提出，深圳与香港共同建设国际科技创新中心，推动河套深港科技创新合作区发展。" * 3
    check_upload(zh.encode("gb18030"), "zh.txt", 1000)  # legacy encodings are text too
    with pytest.raises(Unsupported, match="binary"):
        check_upload(b"\x00\x01\x02binary", "a.md", 1000)
    with pytest.raises(Unsupported, match="no text"):
        check_upload(b"  \n\n ", "a.md", 1000)
    long_name = safe_file_name("深" * 300 + ".md")  # 900 bytes of UTF-8: cut to what a file system holds
    assert long_name.endswith(".md") and len(long_name.encode()) <= 200 and set(long_name[:-3]) == {"深"}
    for bad_id in ("深" * 100 + ".md", "a\ud800.md"):  # 300 bytes; a lone surrogate
        with pytest.raises(NotInCorpus):
            document_path(corpus, bad_id)


def test_files_are_written_whole_and_leftovers_cleaned(tmp_path: Path) -> None:
    target = tmp_path / "corpus" / "plan.md"
    write_file(target, b"# Plan", replace=False)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644, "an upload is readable like a copied file, not private to the server"
    target.chmod(0o640)
    write_file(target, b"# Plan v2", replace=True)
    assert target.read_bytes() == b"# Plan v2" and sorted(p.name for p in target.parent.iterdir()) == ["plan.md"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o640, "a replaced file keeps its permissions"
    left = target.parent / ".upload-dead.tmp"  # as left by a process killed mid-write
    left.write_bytes(b"half")
    os.utime(left, (time.time() - 7200, time.time() - 7200))
    fresh = target.parent / ".upload-busy.tmp"
    fresh.write_bytes(b"being written")
    assert remove_stale_uploads(target.parent) == [left] and fresh.exists()


def test_serve_watch_follows_the_folder(tmp_path: Path, embedder: Embedder) -> None:
    service = service_for(tmp_path, embedder, {"bridge.md": DOCS["bridge.md"]})
    service.build()
    service.load()
    corpus = service.settings.corpus

    def wait_for(predicate, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, "the watcher did not pick up the change"
            time.sleep(0.2)

    with LiveServer(create_app(service, watch=True)) as server:
        ids = lambda: {d["id"] for d in httpx.get(f"{server.url}/documents").json()["documents"]}  # noqa: E731
        time.sleep(0.5)  # let the watcher start
        (corpus / "sub").mkdir()
        (corpus / "sub" / "port.md").write_text("# Port\n\nShenzhen Bay Port co-location since 2007.", encoding="utf-8")
        (corpus / ".draft.md").write_text("# hidden draft", encoding="utf-8")
        wait_for(lambda: "sub/port.md" in ids())
        assert ".draft.md" not in ids()
        (corpus / "sub" / "port.md").unlink()
        wait_for(lambda: "sub/port.md" not in ids())


def _bayqa(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "bayqa.cli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "HF_HUB_OFFLINE": "1", **env})


@pytest.mark.slow
def test_a_build_killed_while_embedding_leaves_the_old_index_answering(tmp_path: Path, embedder: Embedder) -> None:
    service = service_for(tmp_path, embedder)
    old = service.build().generation
    make_corpus(service.settings.corpus, generated_docs(30))
    env = {"BAYQA_CORPUS": str(service.settings.corpus), "BAYQA_INDEX": str(service.settings.index)}
    build = _bayqa("index", env=env)
    assert build.stderr is not None
    output = ""
    deadline = time.monotonic() + 120
    while not re.search(r"embedding passages:\s+\d+%.*\| ?64/", output):  # the first slice is embedded, the rest is not
        assert time.monotonic() < deadline and build.poll() is None, f"the build did not start embedding: {output}"
        output += build.stderr.read(1)
    assert build.poll() is None, "the build finished before it could be killed; give it more to embed"
    build.send_signal(signal.SIGKILL)
    build.wait(30)

    store = IndexStore(service.settings.index)
    assert store.current_generation() == old
    service.load()
    assert service.search("How long is the bridge to Macao?", k=1)[0].chunk.doc_id == "bridge.md"
    assert "district_000.txt" not in service.searcher.index.documents

    again = subprocess.run([sys.executable, "-m", "bayqa.cli", "index"], capture_output=True, text=True, timeout=300,
                           env={**os.environ, "HF_HUB_OFFLINE": "1", **env})
    assert again.returncode == 0, again.stderr
    assert "30 added" in again.stdout and "3 unchanged" in again.stdout
    assert service.refresh() and len(service.searcher.index.documents) == 33
    assert not list(Path(service.settings.index).glob("*.partial"))


@pytest.mark.slow
def test_two_server_processes_follow_the_new_generation(tmp_path: Path, embedder: Embedder) -> None:
    service = service_for(tmp_path, embedder)
    service.build()
    env = {"BAYQA_CORPUS": str(service.settings.corpus), "BAYQA_INDEX": str(service.settings.index),
           "BAYQA_API_TOKEN": "two-procs"}
    ports = [free_port(), free_port()]
    servers = [_bayqa("serve", "--port", str(port), env=env) for port in ports]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        deadline = time.monotonic() + 120
        for url, proc in zip(urls, servers):
            wait_for_health(url, proc, deadline)
        auth = {"Authorization": "Bearer two-procs"}
        doc = b"Hetao park\n\nThe Hetao Shenzhen-Hong Kong park covers 3.89 square kilometres."
        job = httpx.post(f"{urls[0]}/documents", files={"file": ("hetao.txt", doc)}, headers=auth).json()
        state = {}
        while time.monotonic() < deadline:
            state = httpx.get(f"{urls[1]}/jobs/{job['id']}").json()  # the other process reports the job too
            if state["state"] in ("done", "failed"):
                break
            time.sleep(0.1)
        assert state["state"] == "done", state
        generation = state["outcome"]["generation"]
        switched = time.monotonic()
        while {httpx.get(f"{url}/health").json()["generation"] for url in urls} != {generation}:
            assert time.monotonic() - switched < 3, "a process did not switch within 3 s"
            time.sleep(0.1)
        for url in urls:
            top = httpx.get(f"{url}/search", params={"q": "How large is the Hetao park?", "k": 1}).json()["results"]
            assert top[0]["doc_id"] == "hetao.txt"

        job = httpx.delete(f"{urls[1]}/documents/hetao.txt", headers=auth).json()
        while (state := httpx.get(f"{urls[0]}/jobs/{job['id']}").json())["state"] not in ("done", "failed"):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        switched = time.monotonic()
        while any("hetao.txt" in {d["id"] for d in httpx.get(f"{url}/documents").json()["documents"]} for url in urls):
            assert time.monotonic() - switched < 3, "a process still serves the deleted document"
            time.sleep(0.1)
    finally:
        stop_processes(servers)
