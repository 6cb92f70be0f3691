"""The index folder (IndexStore): find and open the live generation, and write the next one from what a build
hands it (it never embeds: see bayqa.indexing)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from bayqa.store.generations import (
    PARTIAL, current_generation, fsync_dir, fsync_tree, generation_before, new_generation_name, remove_old_generations,
    remove_partial_generations, switch, write_lock,
)
from bayqa.store.loaded import LiveSummary, LoadedIndex
from bayqa.store.manifest import FORMAT_VERSION, MANIFEST_FILE, IndexMismatch, IndexMissing, IndexStoreError, Manifest, Retired
from bayqa.store.plan import Plan, patch_plan
from bayqa.store.shared import collect, remove_partial_segments, segment_names, segments_folder
from bayqa.store.writer import Contents, write_patch, write_rebuild

#: Formats whose segments a patch keeps as they are: format 9's differ only in where they are (see shared.adopt).
PATCHABLE_FORMATS = (9, FORMAT_VERSION)
#: How long a segment no generation names is kept before it is deleted (BAYQA_SEGMENT_GRACE_SECONDS).
SEGMENT_GRACE_SECONDS = 600.0


class Mirror(Protocol):
    """Another store that holds what a generation searches (bayqa.qdrant.QdrantMirror): written before a
    generation goes live, and cleared of segments when the folder deletes them."""

    def write(self, index: LoadedIndex, progress: bool = False) -> int: ...

    def collect(self, root: Path, keep: Collection[str] = ()) -> None: ...


class IndexStore:
    """The index folder: find, open and write generations."""

    def __init__(
        self, root: Path, exact_below: int = 20_000, grace_seconds: float = SEGMENT_GRACE_SECONDS, mirror: Mirror | None = None,
    ) -> None:
        self.root = Path(root)
        self.exact_below = exact_below
        self.grace_seconds = grace_seconds
        self.mirror = mirror

    def current_generation(self) -> str | None:
        return current_generation(self.root)

    def rebuild_reason(self) -> str | None:
        """Why the live generation cannot be served as it is (missing, or written by another index format)."""
        name = self.current_generation()
        if name is None:
            return f"no index in {self.root}"
        try:
            Manifest.read(self.root / name / MANIFEST_FILE)
        except IndexMismatch as exc:
            return str(exc).split(";")[0]
        return None

    def open(self, model_id: str | None = None, previous: LoadedIndex | None = None) -> LoadedIndex:
        """Load the live generation; with ``model_id``, refuse an index built with another model. ``previous``,
        a generation already in memory, lends it what the two share."""
        name = self.current_generation()
        if name is None:
            raise IndexMissing(f"no index in {self.root}; build one with `bayqa index` (or start `bayqa serve`, which builds it)")
        loaded = LoadedIndex(self.root / name, previous)
        if model_id is not None and loaded.manifest.model != model_id:
            raise IndexMismatch(
                f"the index in {self.root} was built with model {loaded.manifest.model!r} "
                f"(dimension {loaded.manifest.dimension}), but the configured model is {model_id!r}; "
                f"use --model {loaded.manifest.model!r}, or rebuild with `bayqa index --model {model_id}` "
                "(or a separate --index folder)"
            )
        return loaded

    @contextmanager
    def writing(self, wait: float = 0) -> Iterator[None]:
        """Hold the folder's write lock (waiting up to ``wait`` seconds for another build; IndexBusy if it does not
        end): what a build reads of the corpus must be read while this is held, or it may land an older snapshot
        over a newer generation. Every method below that changes the folder expects it held."""
        with write_lock(self.root, wait):
            yield

    def live(self) -> LiveSummary | None:
        """What a build needs to know of the live generation (None without one); IndexStoreError if it cannot be read."""
        name = self.current_generation()
        if name is None:
            return None
        try:
            return LiveSummary.read(self.root / name)
        except (sqlite3.Error, KeyError, ValueError) as exc:
            raise IndexStoreError(str(exc)) from exc

    def plan(self, previous: LiveSummary | None, reuse: Collection[str], replaced: Collection[str], new_rows: int) -> Plan:
        """How to write the next generation, keeping the rows of ``reuse`` from ``previous``: a patch when
        ``patch_plan`` allows one (``previous`` in a format whose segments are this format's), else a rebuild."""
        patch = None
        if previous is not None and previous.manifest.format in PATCHABLE_FORMATS and reuse:
            patch = patch_plan(previous.layout(replaced), reuse, replaced, new_rows)
        return Plan(previous, frozenset(reuse), patch)

    def write(
        self, contents: Contents, plan: Plan, *, started: float, before_switch: Callable[[Path], None] | None = None,
        progress: bool = False,
    ) -> Manifest:
        """Write ``contents`` as a new generation as ``plan`` says, flush it to disk and make it the live one; then
        remove the generations no process can still need. ``started`` (a ``time.perf_counter()``) is when the build
        began; ``before_switch`` runs on the finished generation just before it goes live (a hook for tests);
        ``progress`` shows a progress bar while a mirror is written.
        A failure before the switch leaves the live generation as it was, and nothing half written."""
        live = self.current_generation()
        generation = new_generation_name()
        partial = self.root / f"{generation}{PARTIAL}"
        shared = segments_folder(self.root)
        before = segment_names(self.root)
        try:
            partial.mkdir()
            if plan.patch is not None:
                segments = write_patch(shared, contents, plan)
                retired = plan.patch.retired
            else:
                segments = write_rebuild(shared, contents, plan, self.exact_below)
                retired = Retired()
            for name in segment_names(self.root) - before:
                fsync_tree(shared / name)
            fsync_dir(shared)
            retired.write(partial)
            manifest = Manifest(
                format=FORMAT_VERSION, generation=generation, model=contents.model, dimension=contents.dimension,
                chunking=contents.chunking, documents=len(contents.documents),
                chunks=sum(rows for _, rows in segments) - len(retired.rows), corpus_fingerprint=contents.corpus_fingerprint,
                built_at=contents.built_at, build_seconds=round(time.perf_counter() - started, 3), segments=tuple(segments),
                retired=len(retired.rows), multilingual=contents.multilingual,
            )
            manifest.write(partial)
            fsync_tree(partial)
            final = self.root / generation
            os.replace(partial, final)
            if before_switch is not None:
                before_switch(final)
            if self.mirror is not None:  # searches of the new generation read the mirror: it must hold it first
                self.mirror.write(LoadedIndex(final), progress=progress)
            switch(self.root, generation)
        except BaseException:
            self.remove_partial_generations()
            if self.current_generation() != generation:  # written for this generation alone, which never went live
                for name in segment_names(self.root) - before:
                    shutil.rmtree(shared / name, ignore_errors=True)
            raise
        remove_old_generations(self.root, keep={generation, live or generation})
        self._collect(generation)
        return manifest

    def _collect(self, live: str | None) -> None:
        """Delete the segments no generation has named for the grace period, and the mirror's points of them (those
        of the ``live`` generation always kept: a format 9 one keeps its segments in its own folder)."""
        collect(self.root, self.grace_seconds)
        if self.mirror is not None:
            named = Manifest.read(self.root / live / MANIFEST_FILE).segments if live is not None else ()
            self.mirror.collect(self.root, keep={name for name, _ in named})

    def prune(self) -> None:
        """Remove every generation but the live one and the one before it (a process may still be loading it), and
        the segments no generation has named for the grace period."""
        live = self.current_generation()
        remove_old_generations(self.root, keep={live, *generation_before(self.root, live)})
        self._collect(live)

    def remove_partial_generations(self) -> None:
        """Remove what a build that died left half written."""
        remove_partial_generations(self.root)
        remove_partial_segments(self.root)
