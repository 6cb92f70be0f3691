"""The generations of an index folder: which one is live (CURRENT), the write lock, the atomic switch, pruning.

A build writes a whole new generation beside the live one as ``gen-….partial``, flushes it to disk, renames it,
and only then replaces ``CURRENT``: a crash at any moment leaves ``CURRENT`` naming a complete generation.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from filelock import FileLock, Timeout

from bayqa.store.manifest import CURRENT_FILE, LOCK_FILE, MANIFEST_FILE, IndexBusy

PARTIAL = ".partial"  # the suffix of a generation being written


def current_generation(root: Path) -> str | None:
    """The live generation's name (None without one, or if CURRENT names no complete generation)."""
    try:
        name = (root / CURRENT_FILE).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return name if name and (root / name / MANIFEST_FILE).exists() else None


#: A generation's name: ``gen-<UTC date>T<time>-<hex>``; the time has microseconds in all but the oldest indexes.
GENERATION_NAME = r"gen-\d{8}T\d{6}(\d{6})?-[0-9a-f]+"


def generation_order(name: str) -> str:
    """``name`` as it sorts by when the generation was made: a later generation's is greater. Names made before they
    had microseconds count as made at the start of their second."""
    if re.fullmatch(GENERATION_NAME, name) and len(name.split("-")[1]) == len("20260101T000000"):
        date, rest = name.split("-", 2)[1:]
        return f"gen-{date}000000-{rest}"
    return name


def new_generation_name() -> str:
    """Names sort by the time they were made, so the older of two generations is the smaller name."""
    # Microseconds, so names sort in the order builds finished even within one second (pruning relies on it).
    return f"gen-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S%f')}-{secrets.token_hex(3)}"


@contextmanager
def write_lock(root: Path, wait: float = 0) -> Iterator[None]:
    """Hold the folder's write lock, waiting up to ``wait`` seconds for another build (IndexBusy if it does not end)."""
    root.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(root / LOCK_FILE))
    try:
        lock.acquire(timeout=wait)
    except Timeout as exc:
        raise IndexBusy(f"another process is updating the index in {root}; try again when it has finished") from exc
    try:
        yield
    finally:
        lock.release()


def switch(root: Path, generation: str) -> None:
    """Make ``generation`` the live one: CURRENT is replaced by a rename, which a crash cannot leave half done."""
    tmp = root / f"{CURRENT_FILE}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(generation + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, root / CURRENT_FILE)
    fsync_dir(root)


def generation_before(root: Path, live: str | None) -> list[str]:
    """The newest generation older than ``live``: a process that has not switched yet may still load it."""
    older = [p.name for p in complete_generations(root) if live is not None and p.name < live]
    return older[-1:]


def remove_old_generations(root: Path, keep: set[str | None]) -> None:
    """Everything but ``keep``: older generations and any that a crash left unswitched."""
    for path in complete_generations(root):
        if path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)


def remove_partial_generations(root: Path) -> None:
    """Left by a build that died; safe to remove only while holding the write lock."""
    for path in root.glob(f"gen-*{PARTIAL}"):
        shutil.rmtree(path, ignore_errors=True)


def complete_generations(root: Path) -> list[Path]:
    """The complete generation folders, oldest first."""
    return sorted(p for p in root.glob("gen-*") if p.is_dir() and not p.name.endswith(PARTIAL))


def fsync_tree(folder: Path) -> None:
    """Flush every file under ``folder``, and the folders themselves, to disk."""
    for path in folder.iterdir():
        if path.is_dir():
            fsync_tree(path)
            continue
        with open(path, "rb") as fh:
            os.fsync(fh.fileno())
    fsync_dir(folder)


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new file in ``folder`` survive a power cut."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
