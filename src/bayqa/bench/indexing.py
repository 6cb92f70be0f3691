"""The model and the pipeline on real SciFact text: question embedding, indexing throughput, and the rankings kept."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from bayqa.bench.timing import Stopwatch, interleaved, rate, torch_threads
from bayqa.chunking import ChunkSettings
from bayqa.documents import Document
from bayqa.embedding import Embedder
from bayqa.indexing import EMBED_SLICE, build, chunk_sentences, sentence_embedding_text
from bayqa.store import IndexStore, LoadedIndex, vector_index

SINGLE_INDEX = 10**9  # exact_below for builds that must stay one exact segment, however many chunks


@dataclass(frozen=True)
class Indexed:
    """The indexing figures and what later steps reuse: the real index and its passages' vectors, both backends'."""

    figures: dict[str, Any]
    index: LoadedIndex
    chunk_vectors: np.ndarray  # the fast backend's, as stored
    reference_vectors: np.ndarray  # torch float32 on the same passages


def min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """The least cosine between matching rows of two sets of unit vectors."""
    return round(float(np.min(np.sum(a * b, axis=1))), 6)


def question_embedding(
    fast: Embedder, reference: Embedder, questions: list[str], rounds: int
) -> tuple[dict[str, dict[str, float]], np.ndarray, np.ndarray]:
    """Question latency of both backends, and every question's vector from each."""
    latency = interleaved({"torch_fp32": reference.encode_query, "fast": fast.encode_query}, questions[:30], 1)
    # torch's default two threads collapse when the machine is oversubscribed; one thread is the fairer yardstick
    with torch_threads(1):
        single = interleaved({"torch_fp32_1_thread": reference.encode_query, "fast": fast.encode_query}, questions, rounds)
    latency["torch_fp32_1_thread"] = single["torch_fp32_1_thread"]
    latency["fast_beside_1_thread"] = single["fast"]
    return latency, np.vstack([fast.encode_query(q) for q in questions]), reference.encode_reference(questions)


def _build_seconds(folder: Path, docs: list[Document], fast: Embedder, settings: ChunkSettings) -> tuple[float, int]:
    with Stopwatch() as clock:
        report = build(IndexStore(folder, exact_below=SINGLE_INDEX), docs, fast, settings)
    return clock.seconds, report.chunks_total


def _distinct_sentences(index: LoadedIndex) -> list[str]:
    """Every distinct sentence text a build embeds (for highlighting), longest first as a build gives them."""
    texts = dict.fromkeys(sentence_embedding_text(c, s, e) for c in index.chunks for s, e in chunk_sentences(c))
    return sorted(texts, key=len, reverse=True)


def indexing(
    docs: list[Document], fast: Embedder, reference: Embedder, settings: ChunkSettings, workdir: Path, log: Callable[[str], None]
) -> Indexed:
    """The whole pipeline's rate against the bare model on the same real chunks, and the vectors' cosine to float32."""
    log(f"indexing: {len(docs)} real documents through the pipeline")
    # The first build also opens the int8 sessions (or loads the bfloat16 copy and compiles kernels) while the bare model
    # below runs warm, so the figure compared with it is a second build; the first is reported beside it.
    first_seconds, _ = _build_seconds(workdir / "first-index", docs, fast, settings)
    pipeline_seconds, chunks = _build_seconds(workdir / "real-index", docs, fast, settings)
    pooled_seconds, _ = _build_seconds(workdir / "pooled-index", docs, fast, replace(settings, sentence_vectors="pooled"))
    real = IndexStore(workdir / "real-index").open()
    bodies = [c.embedding_text for c in real.chunks]
    tokens = [min(fast.max_tokens, fast.count_tokens(t) + 2) for t in bodies]
    log(f"indexing: bare model on the same {len(bodies)} chunks (fast, then torch fp32)")
    bare_fast = rate(bodies, fast.encode)
    # The bare model on the sentences too says what the pipeline itself (chunking, BM25, FAISS, the store) costs
    # beyond the model's own work; in the slices a build gives the model.
    sentences = _distinct_sentences(real)
    sentence_slices: list[np.ndarray] = []
    bare_sentences = rate(sentences, lambda t: sentence_slices.extend(
        fast.encode(t[i : i + EMBED_SLICE]) for i in range(0, len(t), EMBED_SLICE)))
    sampled = slice(None, None, 4)  # float32 torch on every fourth sentence: enough for the worst cosine, a quarter the time
    sentence_cosine = min_cosine(np.vstack(sentence_slices)[sampled], reference.encode_reference(sentences[sampled]))
    ref_vectors: list[np.ndarray] = []
    bare_ref = rate(bodies, lambda t: ref_vectors.append(reference.encode_reference(t)))
    chunk_vectors = real.vectors_of(list(range(len(real.chunks))))
    model_seconds = len(bodies) / bare_fast + len(sentences) / bare_sentences
    pipeline_rate = round(chunks / pipeline_seconds, 2)
    figures = {
        "documents": len(docs), "chunks": chunks, "mean_tokens": round(float(np.mean(tokens)), 1),
        "pipeline_chunks_per_s": pipeline_rate, "first_build_chunks_per_s": round(chunks / first_seconds, 2),
        "bare_model_chunks_per_s": bare_fast,
        "pipeline_vs_bare": round(pipeline_rate / bare_fast, 3), "sentences": len(sentences),
        "pooled_chunks_per_s": round(chunks / pooled_seconds, 2),
        "pooled_vs_bare": round(chunks / pooled_seconds / bare_fast, 3),
        "bare_model_sentences_per_s": bare_sentences, "pipeline_vs_bare_all_texts": round(model_seconds / pipeline_seconds, 3),
        "torch_fp32_chunks_per_s": bare_ref,
        "fast_vs_torch_fp32": round(bare_fast / bare_ref, 2), "chunk_cosine_min": min_cosine(chunk_vectors, ref_vectors[0]),
        "sentence_cosine_min": sentence_cosine, "texts_int8": fast.texts_int8,
    }
    return Indexed(figures, real, chunk_vectors, ref_vectors[0])


def recall_at_10(index: Any, exact: Any, queries: np.ndarray) -> float:
    """Share of the exact top 10 that ``index`` finds too."""
    _, approx_rows = index.search(queries, 10)
    _, exact_rows = exact.search(queries, 10)
    hits = sum(len(set(a) & set(e)) for a, e in zip(approx_rows.tolist(), exact_rows.tolist()))
    return round(hits / (10 * len(queries)), 4)


def exact_search(vectors: np.ndarray) -> faiss.Index:
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    return exact


def quality(indexed: Indexed, q_fast: np.ndarray, q_ref: np.ndarray) -> tuple[dict[str, float], dict[str, float]]:
    """The same rankings with either backend (fast index and questions against float32 ones), and HNSW recall@10
    against exact search on the real vectors."""
    exact_fast, exact_ref = exact_search(indexed.chunk_vectors), exact_search(indexed.reference_vectors)
    top_fast = exact_fast.search(q_fast, 10)[1]
    top_ref = exact_ref.search(q_ref, 10)[1]
    same = {
        "top10_overlap_fast_vs_fp32": round(float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(top_fast, top_ref)])), 4),
        "top1_same_fast_vs_fp32": round(float(np.mean(top_fast[:, 0] == top_ref[:, 0])), 4),
    }
    hnsw = vector_index(indexed.chunk_vectors, exact_below=0)
    recall = {"vectors": len(indexed.index.chunks), "hnsw_vs_exact": recall_at_10(hnsw, exact_fast, q_fast)}
    return same, recall
