"""The Embedder: one model that encodes questions, passages and sentences into unit vectors and counts tokens the way
the model sees them, over the route chosen for it (see ``bayqa.embedding.route``).

Backends: ``torch`` is plain sentence-transformers in float32, the reference; ``fast`` (the default) sends
questions, and batches where the CPU suits, through the model's int8 ONNX export, and other batches through a
bfloat16 copy where torch runs bfloat16 natively. The vectors stay compatible, so an index built with one backend
is searched with the other. If the export or its check fails, questions fall back to torch and
``backend_description`` says so.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from bayqa.config import DEFAULT_MODEL
from bayqa.embedding.export import cached_export, default_cache_dir, export_checked
from bayqa.embedding.model import ModelError, resolve_model
from bayqa.embedding.pooling import require_mean_pooling
from bayqa.embedding.route import BACKENDS, Backend, CpuFeatures, Route, choose_route
from bayqa.embedding.sessions import OnnxEncoder, SessionPool
from bayqa.embedding.torch_model import TorchModel, dimension_of, native_bfloat16

TOKEN_COUNTS_CACHED = 1024  # the splitter's repeated questions come within one document
log = logging.getLogger("bayqa.embedding")


class Embedder:
    """One model: encodes text and counts tokens the way the model will see them.

    With the ``fast`` backend and an ONNX export already cached, the torch model is not loaded until a batch needs
    it: a server that only answers questions never imports torch.
    """

    def __init__(
        self,
        name_or_path: str = DEFAULT_MODEL,
        device: str = "cpu",
        backend: Backend = "fast",
        cache_dir: Path | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise ModelError(f"unknown embedding backend {backend!r}; use one of {', '.join(BACKENDS)}")
        self.name = name_or_path or DEFAULT_MODEL
        self.backend: Backend = backend
        self._device = device
        resolved = resolve_model(name_or_path)
        self._torch = TorchModel(resolved, self.name, device)
        self._graph: OnnxEncoder | None = None  # the question session; None sends questions to torch
        self._pool: SessionPool | None = None
        self._route: Route | None = None
        self._lock = threading.Lock()
        self.fallback_reason: str | None = None
        self._cached_count = functools.lru_cache(maxsize=TOKEN_COUNTS_CACHED)(self._count_tokens)
        cache = cache_dir or default_cache_dir()
        if backend == "fast":
            self._graph = cached_export(resolved, cache)
        if self._graph is not None:
            self.dimension, self.max_tokens = self._graph.dimension, self._graph.max_tokens
            self._counter: Any = self._graph.counter
            return
        model = self._torch.loaded()
        self.dimension = dimension_of(model)
        self.max_tokens = int(model.max_seq_length or 256)
        self._counter = None
        if backend == "fast":
            try:
                self._graph = export_checked(model, resolved, cache)
            except Exception as exc:  # export or self-check failed: questions keep the torch path
                self.fallback_reason = f"ONNX question path unavailable ({type(exc).__name__}: {exc}); using torch"
                log.warning("%s", self.fallback_reason)

    @property
    def route(self) -> Route:
        """Chosen on first use, not in the constructor, because telling whether torch runs bfloat16 natively imports
        torch, which a process that only embeds questions never loads."""
        if self._route is None:
            graph = self._graph.precision if self._graph is not None else None
            self._route = choose_route(self.backend, graph, CpuFeatures.of_this_cpu(), native_bfloat16, self._device)
        return self._route

    @property
    def model_id(self) -> str:
        """What the index records: the configured name, so moving site-packages does not invalidate an index."""
        return self.name

    @property
    def backend_description(self) -> str:
        return self.route.describe()

    @property
    def texts_int8(self) -> bool:
        """Whether ``encode`` runs passages and sentences through the int8 graph, one text per run."""
        return self.route.texts_int8

    def count_tokens(self, text: str) -> int:
        """How many tokens the model sees in ``text``, without the special ones. Cached: the text splitter asks about
        the same pieces again as it splits and merges them."""
        return self._cached_count(text)

    def _count_tokens(self, text: str) -> int:
        if self._counter is not None:
            return len(self._counter.encode(text, add_special_tokens=False).ids)
        return self._torch.count_tokens(text)

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """Unit-length float32 rows, one per text, so inner product is cosine similarity.

        On the int8 route each text runs alone (its vector must not depend on the rest of the batch), the texts spread
        over one single-threaded session per core; on the torch routes in batches of ``batch_size``.
        """
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self.texts_int8:
            return self._sessions().encode(texts)
        return self._torch.encode(texts, self.route.batches == "torch bf16", batch_size=batch_size, progress=progress)

    def encode_with_spans(
        self, texts: list[str], spans: list[list[tuple[tuple[int, int], ...]]], batch_size: int = 32
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """One model pass for texts and for parts of them: each text's vector (as ``encode`` gives it) and, for each
        of its spans, the mean of the token vectors that fall in the span's character ranges.

        This is late chunking: a span's vector comes from tokens that also saw the rest of the text. It is how
        ``sentence_vectors = "pooled"`` embeds sentences without a second pass. It needs a mean-pooling model.
        """
        if self.texts_int8:
            assert self._graph is not None
            require_mean_pooling(self.name, self._graph.pooling)
            return self._sessions().encode_with_spans(texts, spans)
        bfloat16 = self.route.batches == "torch bf16"
        return self._torch.encode_with_spans(texts, spans, bfloat16, self.max_tokens, batch_size=batch_size)

    def _sessions(self) -> SessionPool:
        """The int8 graph's sessions for passages and sentences, made on first use (questions keep their own)."""
        with self._lock:
            if self._pool is None:
                assert self._graph is not None
                self._pool = SessionPool(self._graph.folder, len(os.sched_getaffinity(0)))
            return self._pool

    def encode_reference(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """The plain sentence-transformers float32 vectors (the ``torch`` backend, and the yardstick of the others)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._torch.encode_reference(texts, batch_size=batch_size, progress=progress)

    def encode_query(self, text: str) -> np.ndarray:
        if self._graph is not None:  # the route's question engine: the graph whenever the export gave one
            return self._graph.encode([text])[0]
        return self._torch.encode_reference([text])[0]
