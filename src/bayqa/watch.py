"""``bayqa serve --watch``: notice files added to, changed in or removed from the corpus folder.

watchfiles groups a burst of file events (a copy of many files, an editor's save dance) into one
batch: a batch closes once no change has come for a step (0.1 s), or at the latest a debounce time
(1 s) after its first change; each batch becomes one update job.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from bayqa.documents import is_document_file
from bayqa.writes import Writer

DEBOUNCE_MS = 1000
log = logging.getLogger("bayqa.watch")


def watch_corpus(corpus: Path, on_change: Callable[[list[str]], None], stop: threading.Event,
                 debounce_ms: int = DEBOUNCE_MS) -> None:
    """Call ``on_change(paths)`` for each debounced batch of changes (corpus-relative), until ``stop`` is set."""
    from watchfiles import watch

    root = corpus.resolve()

    def relevant(_change: object, path: str) -> bool:
        try:
            rel = Path(path).resolve().relative_to(root)
        except ValueError:
            return False
        if any(part.startswith(".") for part in rel.parts):
            return False
        # A new folder counts too: files written into it before it is watched raise no event of their own.
        return is_document_file(Path(path)) or Path(path).is_dir() or not Path(path).suffix

    for changes in watch(root, watch_filter=relevant, debounce=debounce_ms, step=100, stop_event=stop,
                         raise_interrupt=False):
        ids = sorted({Path(path).resolve().relative_to(root).as_posix() for _, path in changes})
        log.info("corpus folder changed: %s", ", ".join(ids))
        on_change(ids)


def watch_folder(writer: Writer, stop: threading.Event) -> None:
    """For ``bayqa serve --watch``: queue an update job per batch of folder changes, unless one is still waiting.

    Changes made while no server was watching are picked up by the job every server runs at start.
    """
    pending: str | None = None

    def changed(ids: list[str]) -> None:
        nonlocal pending
        waiting = writer.jobs.get(pending) if pending else None
        if waiting is None or waiting.state != "queued":
            pending = writer.update("watch").id

    corpus = writer.service.settings.corpus
    try:
        watch_corpus(corpus, changed, stop)
    except Exception:
        log.exception("watching %s stopped; restart the server to watch again", corpus)
