"""The LangChain baseline: its FAISS vector store with Hugging Face embeddings of the same local model."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bayqa.bench.timing import Stopwatch

# Run in a process of its own, so the peak memory it prints is the store's and the model's alone.
_MEMORY_SCRIPT = """
import sys, warnings
warnings.filterwarnings("ignore")
from bayqa.bench.baseline import LangChainBaseline
lc = LangChainBaseline(sys.argv[2])
store = lc.FAISS.load_local(sys.argv[1], lc.embeddings, allow_dangerous_deserialization=True)
store.similarity_search("a question", k=10)
print(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
"""


class LangChainBaseline:
    """LangChain's FAISS vector store with Hugging Face embeddings of the same local model: what most users would build."""

    def __init__(self, model_path: str) -> None:
        from langchain_community.vectorstores import FAISS

        try:
            from langchain_huggingface import HuggingFaceEmbeddings

            self.embeddings_package = "langchain-huggingface"
        except ImportError:
            from langchain_community.embeddings import HuggingFaceEmbeddings

            self.embeddings_package = "langchain-community"
        self.FAISS = FAISS
        self.model_path = model_path
        self.embeddings = HuggingFaceEmbeddings(
            model_name=model_path, model_kwargs={"device": "cpu"}, encode_kwargs={"normalize_embeddings": True}
        )

    @staticmethod
    def available() -> str | None:
        """None if installed, else the reason it is skipped."""
        try:
            import langchain_community.vectorstores  # noqa: F401
        except ImportError:
            return "LangChain baseline skipped: install it with pip install -e '.[bench]'"
        return None

    def indexing_rate(self, texts: list[str]) -> float:
        """Chunks a second that ``FAISS.from_texts`` embeds and stores."""
        with Stopwatch() as clock:
            self.FAISS.from_texts(texts, self.embeddings)
        return round(len(texts) / clock.seconds, 2)

    def from_vectors(self, texts: Sequence[str], vectors: np.ndarray) -> Any:
        return self.FAISS.from_embeddings(list(zip(texts, vectors.tolist())), self.embeddings)

    def peak_memory_mb(self, saved: Path) -> float | None:
        """Peak memory of a fresh process that loads the store saved at ``saved`` and searches it once."""
        measured = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT, str(saved), self.model_path], capture_output=True,
                                  text=True, timeout=600, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        return round(int(measured.stdout.split()[-1]) / 1024, 1) if measured.returncode == 0 else None
