"""What the search processes share: imported once by the process that starts them (a multiprocessing forkserver),
which loads the question model and the multilingual model the server names (bayqa.api.pool.WARM_MODELS); each search process is
forked from it and uses those copies, whose pages stay shared since nobody writes to them. Only ONNX Runtime's
question model is loaded here: it runs on the calling thread, so a fork copies no thread pool (torch's would)."""

from __future__ import annotations

import gc
import json
import logging
import os

from bayqa.config import Settings
from bayqa.embedding import Embedder, multilingual_model

from bayqa.api.pool import WARM_MODELS

log = logging.getLogger("bayqa.api")
#: The question model, loaded and used once; None when the server named no models, asked for torch, or it could not
#: be loaded (each search process then loads its own, and reports what is wrong).
EMBEDDER: Embedder | None = None


def _load() -> Embedder | None:
    settings = Settings(**json.loads(os.environ.get(WARM_MODELS) or "{}"))
    embedder = None
    if settings.backend == "fast":
        embedder = Embedder(settings.model, backend=settings.backend, cache_dir=settings.cache)
        embedder.encode_query("warm")
    multilingual_model(settings.multilingual, settings.cache)  # kept by that module's cache: found again after the fork
    return embedder


if WARM_MODELS in os.environ:  # imported by the forkserver (or a search process started otherwise: it needs them too)
    try:
        EMBEDDER = _load()
    except Exception as exc:
        log.warning("search processes load their own models (%s)", exc)
    gc.freeze()  # what is loaded so far is never collected: collecting would write to every page of it, unsharing them
