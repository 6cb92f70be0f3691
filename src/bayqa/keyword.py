"""BM25 keyword scoring of passages, with bm25s (sparse matrices, saved as plain .npy files).

Row ``i`` of the keyword index is row ``i`` of the FAISS index and of the ``chunks`` table. A passage
is indexed with its title and heading path in front, as it is embedded, so a question naming the
document or section finds it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np

from bayqa.terms import terms

# Chosen on the SciFact train split (see the retrieval notes in the README); Lucene's BM25 variant.
K1 = 1.2
B = 0.75
METHOD = "lucene"

logging.getLogger("bm25s").setLevel(logging.WARNING)


class KeywordIndex:
    """BM25 scores of every passage for a question."""

    def __init__(self, retriever: bm25s.BM25 | None, size: int) -> None:
        self._retriever = retriever
        self.size = size
        self._vocab: dict[str, int] = retriever.vocab_dict if retriever is not None else {}

    @classmethod
    def build(cls, texts: Sequence[str]) -> KeywordIndex:
        tokens = [terms(t) or [""] for t in texts]
        if not texts or not any(t != [""] for t in tokens):
            return cls(None, len(texts))
        retriever = bm25s.BM25(k1=K1, b=B, method=METHOD)
        retriever.index(tokens, show_progress=False)
        return cls(retriever, len(texts))

    def save(self, folder: Path) -> None:
        folder.mkdir()
        (folder / "size").write_text(str(self.size), encoding="utf-8")
        if self._retriever is not None:
            self._retriever.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex:
        size = int((folder / "size").read_text(encoding="utf-8"))
        if not (folder / "params.index.json").exists():
            return cls(None, size)
        return cls(bm25s.BM25.load(str(folder), show_progress=False), size)

    def idf(self, term: str) -> float:
        """Inverse document frequency over passages; a term no passage contains gets the highest value."""
        frequency = 0
        if self._retriever is not None and term in self._vocab:
            indptr = self._retriever.scores["indptr"]
            token = self._vocab[term]
            frequency = int(indptr[token + 1] - indptr[token])
        return math.log(1.0 + (self.size + 1) / (frequency + 0.5))

    def query_terms(self, question: str) -> list[str]:
        """The question's terms that occur in some passage (the others cannot score)."""
        return [t for t in terms(question) if t in self._vocab]

    def scores(self, question: str) -> np.ndarray:
        """BM25 score of every passage (0 where no term matches)."""
        wanted = self.query_terms(question)
        if self._retriever is None or not wanted:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._retriever.get_scores(wanted), dtype=np.float32)
