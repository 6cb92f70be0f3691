"""What the search processes share: imported once by the process that starts them (a multiprocessing forkserver),
which loads the question model and the multilingual model that the BAYQA_* settings name; each search process is
forked from it and uses those copies, whose pages stay shared since nobody writes to them. Only ONNX Runtime's
question model is loaded here: it runs on the calling thread, so a fork copies no thread pool (torch's would be)."""

from __future__ import annotations

import gc
import logging

from bayqa.config import Settings
from bayqa.embedding import Embedder, multilingual_model

log = logging.getLogger("bayqa.api")
#: The question model, loaded and used once; None when the settings ask for torch or it could not be loaded (each
#: search process then loads its own, and reports what is wrong).
EMBEDDER: Embedder | None = None
try:
    _settings = Settings()
    if _settings.backend == "fast":
        EMBEDDER = Embedder(_settings.model, backend=_settings.backend, cache_dir=_settings.cache)
        EMBEDDER.encode_query("warm")
    multilingual_model(_settings.multilingual, _settings.cache)  # kept by the module's cache, found again after the fork
except Exception as exc:
    log.warning("search processes load their own models (%s)", exc)
    EMBEDDER = None
gc.freeze()  # what is loaded so far is never collected: collecting would write to every page of it, unsharing them
