"""The index's shared segments folder: generations name their segments in their manifests, so a segment is written
once and shared by every generation that keeps it, with no hard link (a network file system may have none).

A segment no generation names any more is deleted only once it has stayed so for a grace period: a slow process
(another server over the folder, a search process) may still be loading a generation that named it. When each
segment was first seen unnamed is recorded in ``segments/unreferenced.json``. Everything here changes the folder,
so it runs under the index's write lock.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from pathlib import Path

from bayqa.keyword import KeywordIndex
from bayqa.store.generations import PARTIAL, complete_generations, fsync_dir, fsync_tree
from bayqa.store.manifest import MANIFEST_FILE, SEGMENTS_FOLDER, SHARED_SEGMENTS
from bayqa.store.segments import KEYWORD_FOLDER

UNREFERENCED_FILE = "unreferenced.json"  # in the segments folder: {segment name: when it was first seen unnamed}
log = logging.getLogger("bayqa.store")


def segments_folder(root: Path) -> Path:
    """The shared segments folder of the index at ``root`` (made if missing)."""
    folder = root / SEGMENTS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def segment_names(root: Path) -> set[str]:
    """The complete segments in the shared folder."""
    folder = root / SEGMENTS_FOLDER
    if not folder.is_dir():
        return set()
    return {p.name for p in folder.iterdir() if p.is_dir() and not p.name.endswith(PARTIAL)}


def adopt(source: Path, rows: int, root: Path) -> None:
    """Move a segment of ``rows`` passages of a format 9 generation (inside its own folder) into the shared folder,
    keeping its name: its files hard-linked where the file system can, else copied, and its term counts stored by
    term as format 10 keeps them; complete on disk before it appears under its name."""
    target = segments_folder(root) / source.name
    if target.exists():  # adopted by a build that then died before its switch: complete, since it was renamed
        return
    partial = target.with_name(target.name + PARTIAL)
    shutil.rmtree(partial, ignore_errors=True)
    _link_or_copy(source, partial, skip=KEYWORD_FOLDER)
    KeywordIndex.load(source / KEYWORD_FOLDER, rows).save(partial / KEYWORD_FOLDER)
    fsync_tree(partial)
    os.replace(partial, target)
    fsync_dir(target.parent)


def _link_or_copy(source: Path, target: Path, skip: str) -> None:
    """Segment files are never changed once written, so a hard link is as safe as a copy, and free."""
    target.mkdir()
    for path in source.iterdir():
        if path.name == skip:
            continue
        try:
            os.link(path, target / path.name)
        except OSError:
            shutil.copy2(path, target / path.name)


def remove_partial_segments(root: Path) -> None:
    """Left by an adoption that died; safe to remove only while holding the write lock."""
    folder = root / SEGMENTS_FOLDER
    if folder.is_dir():
        for path in folder.glob(f"*{PARTIAL}"):
            shutil.rmtree(path, ignore_errors=True)


def referenced(root: Path) -> set[str] | None:
    """The segments named by some generation in the folder; None if a manifest cannot be read (then nothing may be
    deleted: its segments are unknown)."""
    names: set[str] = set()
    for generation in complete_generations(root):
        try:
            data = json.loads((generation / MANIFEST_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue  # removed meanwhile: names nothing any more
        except (OSError, ValueError) as exc:
            log.warning("segments are not collected: cannot read %s (%s)", generation / MANIFEST_FILE, exc)
            return None
        if int(data.get("format", 0)) >= SHARED_SEGMENTS:
            names.update(str(name) for name, _ in data["segments"])
    return names


def collect(root: Path, grace_seconds: float, now: float | None = None) -> list[str]:
    """Delete the segments that no generation has named for ``grace_seconds``, and note when the others that no
    generation names were first seen so; the names deleted."""
    named = referenced(root)
    if named is None:
        return []
    now = time.time() if now is None else now
    folder = root / SEGMENTS_FOLDER
    record = _read_record(folder)
    unnamed = segment_names(root) - named
    since = {name: record.get(name, now) for name in unnamed}
    deleted = sorted(name for name, first in since.items() if now - first >= grace_seconds)
    for name in deleted:
        shutil.rmtree(folder / name, ignore_errors=True)
        del since[name]
    if since != record:
        _write_record(folder, since)
    return deleted


def _read_record(folder: Path) -> dict[str, float]:
    try:
        data = json.loads((folder / UNREFERENCED_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):  # unreadable: start the grace period again, which only delays deletions
        return {}
    return {str(name): float(first) for name, first in data.items()}


def _write_record(folder: Path, since: dict[str, float]) -> None:
    if not folder.is_dir():
        return
    tmp = folder / f"{UNREFERENCED_FILE}.tmp"
    tmp.write_text(json.dumps(since, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, folder / UNREFERENCED_FILE)
