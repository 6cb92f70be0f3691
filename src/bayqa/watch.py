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
