"""One contract, two stores: with the real model, searches that read their candidates from Qdrant (Qdrant Edge in this
process, and qdrant-client's local mode) answer as searches over the index folder's own FAISS and BM25 do: the same
top 10, up to ties, on the shipped corpus (with the multilingual signal) and on a sample of SciFact."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("qdrant_client")
pytest.importorskip("qdrant_edge")

from bayqa.beir import load_benchmark  # noqa: E402
from bayqa.chunking import ChunkSettings  # noqa: E402
from bayqa.embedding import Embedder  # noqa: E402
from bayqa.indexing import build  # noqa: E402
from bayqa.qdrant import QdrantMirror, engine_at  # noqa: E402
from bayqa.search import Hit, Searcher  # noqa: E402
from bayqa.service import Service  # noqa: E402
from bayqa.store import IndexStore, LoadedIndex  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests" / "fixtures" / "scifact-sample"
TOP = 10
# Fused scores closer than this are ties: fusion scales each signal over the candidates, and where a candidate list
# is cut between rows of equal score (BM25 often has them) each store may keep another one, which moves the scale.
TIE = 1e-3


def agree(ours: list[Hit], theirs: list[Hit]) -> bool:
    """The same passages in the same order, passages with tied scores (TIE) allowed to swap places."""
    if len(ours) != len(theirs):
        return False
    place = {h.chunk.id: i for i, h in enumerate(ours)}
    for i, hit in enumerate(theirs):
        j = place.get(hit.chunk.id)
        if j is None or abs(ours[i].score - ours[j].score) > TIE:
            return False
    return True


def mirrors(index: LoadedIndex, folder: Path) -> Iterator[tuple[str, QdrantMirror]]:
    for edition, location in (("edge", str(folder)), ("client", ":memory:")):
        mirror = QdrantMirror(engine_at(location))
        mirror.write(index)
        yield edition, mirror


def questions(name: str) -> list[str]:
    return [json.loads(line)["question"] for line in (ROOT / "eval" / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_shipped_corpus_ranks_the_same_through_qdrant(shipped_service: Service, tmp_path: Path) -> None:
    index = shipped_service.index
    assert index.multilingual is not None, "the contract covers the multilingual signal too"
    faiss = shipped_service.searcher
    asked = questions("gba_questions.jsonl") + questions("bilingual_questions.jsonl")[:40]
    for edition, mirror in mirrors(index, tmp_path / "edge"):
        qdrant = Searcher(index, shipped_service.embedder, shipped_service.verifier, shipped_service.multilingual,
                          candidates=mirror.candidates(index))
        differ = [q for q in asked if not agree(faiss.search(q, k=TOP), qdrant.search(q, k=TOP))]
        assert not differ, (edition, len(differ), differ[:3])
        assert not [q for q in asked[:20] if not agree(faiss.search(q, k=TOP, mode="keyword"), qdrant.search(q, k=TOP, mode="keyword"))]
        doc = index.chunks.doc_id(0)
        only = qdrant.search(asked[0], k=TOP, doc_ids=frozenset({doc}))
        assert only and {h.chunk.doc_id for h in only} == {doc} and agree(faiss.search(asked[0], k=TOP, doc_ids=frozenset({doc})), only)


def test_a_scifact_sample_ranks_the_same_through_qdrant(embedder: Embedder, tmp_path: Path) -> None:
    benchmark = load_benchmark(SAMPLE, "train")
    mirror = QdrantMirror(engine_at(str(tmp_path / "edge")))
    store = IndexStore(tmp_path / "index", mirror=mirror)  # written into Qdrant as a build writes it
    build(store, benchmark.documents, embedder, ChunkSettings())
    index = store.open()
    assert mirror.missing(index) == []
    faiss = Searcher(index, embedder)
    client = QdrantMirror(engine_at(":memory:"))
    client.write(index)
    for edition, other in (("edge", mirror), ("client", client)):
        qdrant = Searcher(index, embedder, candidates=other.candidates(index))
        differ = [q for q in benchmark.queries.values() if not agree(faiss.search(q, k=TOP), qdrant.search(q, k=TOP))]
        assert not differ, (edition, len(differ), differ[:3])
