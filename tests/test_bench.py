"""`bayqa bench --quick`: the benchmark runs end to end on a tiny sample and reports sane figures (not timings)."""

from pathlib import Path

import pytest

from bayqa import bench
from bayqa.embedding import Embedder

SCIFACT = bench.DEFAULT_SCIFACT


@pytest.mark.slow
@pytest.mark.skipif(not (SCIFACT / "corpus.jsonl").exists(), reason=f"SciFact not found at {SCIFACT}")
def test_quick_bench_reports_every_figure(tmp_path: Path, embedder: Embedder) -> None:
    plan = bench.Plan.smoke()
    results = bench.run(plan, SCIFACT, "all-MiniLM-L6-v2", tmp_path, log=lambda message: None, fast=embedder)

    qe = results["question_embedding_ms"]
    assert {"fast", "torch_fp32", "torch_fp32_1_thread"} <= set(qe)
    assert all(0 < qe[k]["p50"] <= qe[k]["p95"] <= qe[k]["p99"] for k in qe)
    assert results["question_cosine_min"] >= 0.999

    ix = results["indexing"]
    assert ix["documents"] == plan.real_docs and ix["chunks"] >= plan.real_docs
    assert ix["pipeline_chunks_per_s"] > 0 and ix["bare_model_chunks_per_s"] > 0 and ix["chunk_cosine_min"] >= 0.999
    assert results["quality"]["top10_overlap_fast_vs_fp32"] >= 0.9
    assert 0.9 <= results["recall_at_10_real"]["hnsw_vs_exact"] <= 1.0

    (size,) = plan.sizes
    entry = results["sizes"][str(size)]
    assert entry["chunks"] >= size and entry["synthetic"] and entry["vector_index"] == "IndexFlatIP"
    assert entry["http_8_clients_ms"]["n"] == plan.http_requests and entry["http_8_clients_ms"]["qps"] > 0
    assert entry["http_1_client_ms"]["n"] == plan.http_requests // 2
    assert entry["server_peak_mb"] > 50 and entry["disk_mb"] > 0 and entry["add_one_document_s"] > 0

    figures = {row["figure"]: row for row in results["targets"]}
    assert len(figures) == 11
    assert all(row["measured"] is not None for name, row in figures.items() if "replicas" not in name)
    printed = bench.table(results)
    assert "in-process search p50" in printed and str(entry["chunks"]) in printed
