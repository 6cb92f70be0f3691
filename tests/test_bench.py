"""`bayqa bench`: the benchmark runs end to end on a tiny sample and reports sane figures (not timings); it finds its
data only where it is told; and the library's own modules do not import it."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bayqa import bench
from bayqa.bench.data import DataError, scifact_folder
from bayqa.cli import main as bayqa_main
from bayqa.embedding import Embedder
from tests.conftest import ROOT, SHIPPED_CORPUS


def tiny_beir_folder(folder: Path, docs: int, questions: int) -> Path:
    """A BEIR-format sample made of the shipped corpus's paragraphs and the GBA questions (no SciFact needed)."""
    paragraphs = [
        p.strip() for path in sorted(SHIPPED_CORPUS.glob("*.md")) for p in path.read_text(encoding="utf-8").split("\n\n")
        if len(p.strip()) > 200
    ][:docs]
    folder.mkdir()
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as fh:
        for i, text in enumerate(paragraphs):
            fh.write(json.dumps({"_id": f"p{i}", "title": f"Paragraph {i}", "text": text}, ensure_ascii=False) + "\n")
    lines = (ROOT / "eval" / "gba_questions.jsonl").read_text(encoding="utf-8").splitlines()[:questions]
    with open(folder / "queries.jsonl", "w", encoding="utf-8") as fh:
        for line in lines:
            row = json.loads(line)
            fh.write(json.dumps({"_id": row["id"], "text": row["question"]}, ensure_ascii=False) + "\n")
    return folder


@pytest.mark.slow
def test_quick_bench_reports_every_figure(tmp_path: Path, embedder: Embedder) -> None:
    plan = bench.Plan.smoke()
    sample = tiny_beir_folder(tmp_path / "beir", plan.real_docs, plan.questions)
    results = bench.run(plan, sample, "all-MiniLM-L6-v2", tmp_path / "work", log=lambda message: None, fast=embedder)

    qe = results["question_embedding_ms"]
    assert {"fast", "torch_fp32", "torch_fp32_1_thread"} <= set(qe)
    assert all(0 < qe[k]["p50"] <= qe[k]["p95"] <= qe[k]["p99"] for k in qe)
    assert results["question_cosine_min"] >= 0.98  # int8 questions

    ix = results["indexing"]
    assert ix["documents"] == plan.real_docs and ix["chunks"] >= plan.real_docs
    assert ix["pipeline_chunks_per_s"] > 0 and ix["bare_model_chunks_per_s"] > 0
    assert ix["sentences"] > ix["chunks"] and ix["bare_model_sentences_per_s"] > 0
    assert ix["pipeline_vs_bare"] < ix["pipeline_vs_bare_all_texts"] < 1.5  # the sentence pass is part of the model's work
    assert ix["pipeline_chunks_per_s"] < ix["pooled_chunks_per_s"]  # no sentence pass: faster
    assert ix["pipeline_vs_bare"] < ix["pooled_vs_bare"] < 1.5
    # the int8 graph on a CPU with VNNI but no AMX tiles; elsewhere every batch runs in torch (bfloat16 or float32)
    floor = 0.98 if embedder.texts_int8 else 0.999
    assert ix["texts_int8"] == embedder.texts_int8 and min(ix["chunk_cosine_min"], ix["sentence_cosine_min"]) >= floor
    assert results["quality"]["top10_overlap_fast_vs_fp32"] >= 0.9
    assert 0.9 <= results["recall_at_10_real"]["hnsw_vs_exact"] <= 1.0

    (size,) = plan.sizes
    entry = results["sizes"][str(size)]
    assert entry["chunks"] >= size and entry["synthetic"] and entry["vector_index"] == "IndexFlatIP"
    assert entry["http_8_clients_ms"]["n"] == plan.http_requests and entry["http_8_clients_ms"]["qps"] > 0
    assert entry["http_1_client_ms"]["n"] == plan.http_requests // 2
    assert entry["http_8_clients_2_workers_ms"]["n"] == plan.http_requests and entry["server_2_workers_peak_mb"] > entry["server_peak_mb"]
    assert entry["server_peak_mb"] > 50 and entry["disk_mb"] > 0 and entry["add_one_document_s"] > 0
    assert 0 < entry["server_pss_mb"] < entry["server_2_workers_pss_mb"] < entry["server_2_workers_peak_mb"]
    assert 0 <= entry["switch_after_addition_s"] and 0 <= entry["switch_full_load_s"]
    assert entry["change_one_document_s"] > 0 and entry["remove_one_document_s"] > 0
    if shutil.which("wrk"):  # the C load generator ran against both servers, without errors
        for key in ("wrk_8_connections_ms", "wrk_8_connections_2_workers_ms"):
            assert entry[key]["n"] > 0 and entry[key]["errors"] == 0 and 0 < entry[key]["p50"] <= entry[key]["p95"]
            assert entry[key]["cpu_ms_per_search"]["server"] > 0 and entry[key]["cpu_ms_per_search"]["wrk"] > 0
        # Searches ran in the search processes of --workers 2 only: that is where their CPU time shows.
        assert entry["wrk_8_connections_2_workers_ms"]["cpu_ms_per_search"]["search_processes"] > 1.0
        assert entry["wrk_8_connections_ms"]["cpu_ms_per_search"]["search_processes"] == 0

    figures = {row["figure"]: row for row in results["targets"]}
    assert len(figures) == 25
    optional = ("replicas", "wrk", "the same, serve")  # full size only; wrk if installed
    assert all(row["measured"] is not None for name, row in figures.items() if not any(o in name for o in optional))
    printed = bench.table(results)
    assert "in-process search p50" in printed and str(entry["chunks"]) in printed


@pytest.mark.integration  # runs the real model
@pytest.mark.slow
def test_update_bench_runs_on_a_tiny_sample(tmp_path: Path) -> None:
    sample = tiny_beir_folder(tmp_path / "beir", 6, 1)
    out = tmp_path / "updates.json"
    run = subprocess.run(
        [sys.executable, "-m", "bayqa.cli", "bench", "--updates", "--abstracts", "6", "--scifact", str(sample), "--out", str(out)],
        capture_output=True, text=True, timeout=600, cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert run.returncode == 0, run.stderr
    results = json.loads(out.read_text(encoding="utf-8"))
    for name, chunks_at_least in (("shipped", 50), ("large", 6)):
        figures = results[name]
        assert figures["chunks"] >= chunks_at_least
        assert figures["updates"]["add"]["chunks_embedded"] >= 1 and figures["updates"]["nothing_changed"]["chunks_embedded"] == 0
        assert figures["http"]["reader_errors"] == 0 and figures["http"]["reader_requests"] > 0
        assert all(step["state"] == "done" for step in figures["http"]["steps"].values())


def test_data_comes_from_the_option_or_the_setting_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    sample = tiny_beir_folder(tmp_path / "beir", 2, 1)
    monkeypatch.delenv("BAYQA_BENCH_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    assert bayqa_main(["bench", "--quick"]) == 2
    assert "bayqa: error: no SciFact data: pass --scifact DIR" in capsys.readouterr().err
    assert bayqa_main(["bench", "--quick", "--scifact", str(tmp_path / "nowhere")]) == 2
    assert f"bayqa: error: no SciFact corpus at {tmp_path / 'nowhere'}" in capsys.readouterr().err
    assert scifact_folder(sample) == sample
    monkeypatch.setenv("BAYQA_BENCH_DATA", str(sample))
    assert scifact_folder(None) == sample
    (sample / "queries.jsonl").unlink()
    with pytest.raises(DataError, match="queries.jsonl missing"):
        scifact_folder(None)
    assert scifact_folder(None, files=("corpus.jsonl",)) == sample  # --updates reads the abstracts alone


def test_the_library_does_not_import_the_bench() -> None:
    src = ROOT / "src"
    files = [*sorted((src / "bayqa").rglob("*.py")), *sorted((ROOT / "api").glob("*.py"))]
    names = [".".join(p.relative_to(src if p.is_relative_to(src) else ROOT).with_suffix("").parts) for p in files]
    modules = [n.removesuffix(".__init__") for n in names if not n.startswith(("bayqa.bench", "bayqa.cli"))]
    code = f"import sys\nfor m in {modules!r}: __import__(m)\nprint([m for m in sys.modules if m.startswith('bayqa.bench')])"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
