"""One bench run: the named steps in order, each adding its figures to the results."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bayqa.bench.baseline import LangChainBaseline
from bayqa.bench.data import load_scifact, scifact_folder, vectors_by_text
from bayqa.bench.indexing import Indexed, indexing, min_cosine, quality, question_embedding
from bayqa.bench.plan import Plan
from bayqa.bench.report import meta, targets, write
from bayqa.bench.sizes import Setup, measure_size
from bayqa.chunking import ChunkSettings
from bayqa.embedding import Embedder, resolve_model

__all__ = ["Plan", "main", "run"]


def run(
    plan: Plan, scifact: Path, model: str, workdir: Path, log: Callable[[str], None] = print, fast: Embedder | None = None
) -> dict[str, Any]:
    """Every measurement; ``fast`` may be an already loaded fast-backend embedder of ``model``."""
    results: dict[str, Any] = {"meta": meta(plan, model)}
    docs, questions = load_scifact(scifact, plan.real_docs, plan.questions)
    log(f"model: loading {model!r} with both backends")
    fast = fast or Embedder(model, backend="fast")
    reference = Embedder(model, backend="torch")
    results["meta"]["backend"] = fast.backend_description
    settings = ChunkSettings(256, 32, fast.max_tokens)  # chunks as large as the model's window
    log("embedding: question latency, torch fp32 vs fast")
    results["question_embedding_ms"], q_fast, q_ref = question_embedding(fast, reference, questions, plan.rounds)
    results["question_cosine_min"] = min_cosine(q_fast, q_ref)
    indexed = indexing(docs, fast, reference, settings, workdir, log)
    results["indexing"] = indexed.figures
    results["quality"], results["recall_at_10_real"] = quality(indexed, q_fast, q_ref)
    baseline = _langchain_indexing(results, model, indexed, log)
    setup = Setup(
        plan, model, workdir, fast, settings, docs,
        chunks_per_doc={d.id: len(indexed.index.rows_by_doc.get(d.id, [])) for d in docs},
        vectors_by_text=vectors_by_text(indexed.index, indexed.chunk_vectors),
        questions=questions, question_vectors=q_fast, baseline=baseline, log=log,
    )
    results["sizes"] = {str(size): measure_size(setup, size) for size in plan.sizes}
    results["targets"] = targets(results, plan)
    return results


def _langchain_indexing(results: dict[str, Any], model: str, indexed: Indexed, log: Callable[[str], None]) -> LangChainBaseline | None:
    """LangChain's indexing rate on the same chunks, when it is installed; the baseline for the later steps."""
    missing = LangChainBaseline.available()
    if missing:
        log(missing)
        results["meta"]["langchain"] = missing
        return None
    baseline = LangChainBaseline(resolve_model(model))
    bodies = [c.embedding_text for c in indexed.index.chunks]
    log(f"LangChain: FAISS.from_texts on the same {len(bodies)} chunks")
    results["indexing"]["langchain_chunks_per_s"] = baseline.indexing_rate(bodies)
    results["meta"]["langchain_embeddings"] = baseline.embeddings_package
    return baseline


def main(quick: bool, scifact: Path | None, model: str, out: Path, workdir: Path | None = None) -> dict[str, Any]:
    """``bayqa bench``: SciFact from --scifact or BAYQA_BENCH_DATA (DataError if neither), the JSON to ``out``."""
    plan = Plan.smoke() if quick else Plan.full()
    data = scifact_folder(scifact)
    folder = Path(tempfile.mkdtemp(prefix="bayqa-bench-", dir=workdir))
    try:
        (folder / "corpus").mkdir()
        results = run(plan, data, model, folder, log=lambda m: print(f"bench: {m}", file=sys.stderr, flush=True))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    write(results, out)
    return results
