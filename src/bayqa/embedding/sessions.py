"""ONNX Runtime: the one place sessions are configured (for the embedding graph and the verifier's cross-encoder),
the embedding graph with its own tokenizer, and a pool of single-threaded sessions for batches.

Nothing here imports torch: the export folder holds the model's ``tokenizer.json`` (run by the ``tokenizers``
library) and ``meta.json`` beside the graphs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from bayqa.embedding.pooling import normalize, pool_spans
from bayqa.embedding.route import Graph

#: The export folder's files: graphs, the tokenizer, and ``meta.json`` (written last, so it marks a finished export).
FP32_GRAPH = "model.onnx"
INT8_GRAPH = "model-int8.onnx"
TOKENIZER = "tokenizer.json"
META = "meta.json"
T = TypeVar("T")


def onnx_session(graph: Path, threads: int = 1) -> Any:
    """A CPU session of ``graph`` with ``threads`` threads for its operators.

    One inter-op thread: these graphs are a chain of operators with nothing to run side by side, and callers get
    parallelism from threads of their own (``run`` releases the GIL).
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])


def onnx_feeds(batch: list[Any], inputs: list[str]) -> dict[str, np.ndarray]:
    """A BERT-style graph's inputs for a padded batch of ``tokenizers`` encodings (only those it declares)."""
    field = {"input_ids": "ids", "attention_mask": "attention_mask", "token_type_ids": "type_ids"}
    return {name: np.asarray([getattr(e, field[name]) for e in batch], dtype=np.int64) for name in inputs}


def lowercased(text: str) -> str:
    """``text`` lower-cased character for character, so that token offsets still point into the original text.
    "İ" is the one character whose ``str.lower()`` is two characters long; it becomes "i", as an uncased
    tokenizer that strips accents reads it anyway."""
    return text.replace("\u0130", "I").lower()


class OnnxEncoder:
    """A model's exported sentence-transformers pipeline as one ONNX graph: the int8 graph where the export kept one,
    else the float32 one.

    One thread by default: a question is tiny, so spreading it over cores costs more than it saves, and the server
    answers concurrent questions on threads of its own.
    """

    def __init__(self, folder: Path, threads: int = 1) -> None:
        from tokenizers import Tokenizer

        meta = json.loads((folder / META).read_text(encoding="utf-8"))
        self.dimension = int(meta["dimension"])
        self.max_tokens = int(meta["max_tokens"])
        self._lowercase = bool(meta["lowercase"])
        self.pooling: str | None = meta.get("pooling")
        self.counter = Tokenizer.from_file(str(folder / TOKENIZER))
        self.counter.no_truncation()
        self.counter.no_padding()
        self._tokenizer = Tokenizer.from_file(str(folder / TOKENIZER))
        self._tokenizer.enable_truncation(self.max_tokens)
        self._tokenizer.enable_padding(pad_id=int(meta["pad_id"]), pad_token=meta["pad_token"])
        graph = folder / INT8_GRAPH if (folder / INT8_GRAPH).exists() else folder / FP32_GRAPH
        self.precision: Graph = "int8" if graph.name == INT8_GRAPH else "fp32"
        self._session = onnx_session(graph, threads)
        self._inputs = [i.name for i in self._session.get_inputs()]
        self.folder = folder

    def encode(self, texts: list[str]) -> np.ndarray:
        batch = self._tokenizer.encode_batch([lowercased(t) for t in texts] if self._lowercase else texts)
        return normalize(self._session.run(["embedding"], onnx_feeds(batch, self._inputs))[0])

    def encode_with_spans(self, text: str, spans: list[tuple[tuple[int, int], ...]]) -> tuple[np.ndarray, np.ndarray]:
        """One text's vector and its spans' vectors, as ``pool_spans`` makes them from the graph's token vectors."""
        encoding = self._tokenizer.encode(lowercased(text) if self._lowercase else text)
        tokens = self._session.run(["tokens"], onnx_feeds([encoding], self._inputs))[0][0]
        return pool_spans(tokens, np.asarray(encoding.offsets), spans)


class SessionPool:
    """One single-threaded session of a graph per core, each running one text at a time.

    One text per run because ONNX Runtime sets the int8 scale of the activations per run: in a batch, a text's
    vector would depend on what else was in it. Separate sessions keep every core busy without the synchronisation
    of one session's thread pool, and no text pads to a longer one. ``run`` releases the GIL, so threads suffice.
    """

    def __init__(self, folder: Path, cores: int) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._sessions = [OnnxEncoder(folder, threads=1) for _ in range(max(1, cores))]
        self._pool = ThreadPoolExecutor(len(self._sessions), thread_name_prefix="bayqa-embed")

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = self._spread(len(texts), lambda session, i: session.encode([texts[i]])[0])
        return np.vstack([np.zeros((0, self._sessions[0].dimension), dtype=np.float32), *vectors])

    def encode_with_spans(
        self, texts: list[str], spans: list[list[tuple[tuple[int, int], ...]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        pairs = self._spread(len(texts), lambda session, i: session.encode_with_spans(texts[i], spans[i]))
        vectors = np.vstack([np.zeros((0, self._sessions[0].dimension), dtype=np.float32), *(v for v, _ in pairs)])
        return vectors, [span_vectors for _, span_vectors in pairs]

    def _spread(self, count: int, run: Callable[[OnnxEncoder, int], T]) -> list[T]:
        """``run(session, i)`` for i in range(count), i on session ``i % cores``; the results in order of i.
        Texts arrive longest first, so the cores' shares come out even."""
        cores = len(self._sessions)
        results: list[T] = []
        shares = list(self._pool.map(lambda k: [run(self._sessions[k], i) for i in range(k, count, cores)], range(cores)))
        for i in range(count):
            results.append(shares[i % cores][i // cores])
        return results
