"""Past a configured size the vector index is an HNSW graph; adding documents extends it instead of rebuilding it."""

from pathlib import Path

import faiss
import numpy as np
import pytest

from bayqa import index as index_module
from bayqa.config import Settings
from bayqa.embedding import Embedder
from bayqa.index import IndexStore, LoadedIndex
from bayqa.service import Service
from tests.test_index import DOCS, make_corpus


def assert_rows_match_chunks(loaded: LoadedIndex, embedder: Embedder) -> None:
    """Row i of the vector index is the embedding of chunk i."""
    stored = loaded.vectors_of(list(range(len(loaded.chunks))))
    expected = embedder.encode_reference([c.embedding_text for c in loaded.chunks])
    assert np.min(np.sum(stored * expected, axis=1)) >= 0.999


def test_index_turns_to_hnsw_past_the_configured_size(tmp_path: Path, embedder: Embedder) -> None:
    corpus = make_corpus(tmp_path / "corpus", DOCS)
    small = Service(Settings(corpus=corpus, index=tmp_path / "exact", exact_search_below=10), embedder)
    large = Service(Settings(corpus=corpus, index=tmp_path / "graph", exact_search_below=2), embedder)
    small.build()
    large.build()
    assert isinstance(IndexStore(tmp_path / "exact").open().vectors, faiss.IndexFlatIP)
    graph = IndexStore(tmp_path / "graph").open().vectors
    assert isinstance(graph, faiss.IndexHNSWFlat) and graph.hnsw.efSearch >= 100
    for service in (small, large):
        service.load()
        assert service.search("How long is the bridge to Macao?", k=1)[0].chunk.doc_id == "bridge.md"
        only = service.search("How long is the bridge to Macao?", k=3, doc_ids=frozenset({"rail.txt", "tax.md"}))
        assert sorted(h.chunk.doc_id for h in only) == ["rail.txt", "tax.md"]
        assert only[0].score >= only[1].score


def test_adding_documents_extends_the_graph_and_keeps_rows_aligned(tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = make_corpus(tmp_path / "corpus", DOCS)
    service = Service(Settings(corpus=corpus, index=tmp_path / "index", exact_search_below=2), embedder)
    service.build()
    (corpus / "airport.md").write_text("# Airport\n\nThe third runway of Hong Kong International Airport opened in 2022.", encoding="utf-8")
    (corpus / "aa-ferry.md").write_text("# Ferry\n\nFerries link Shekou and Hong Kong airport several times a day.", encoding="utf-8")
    with monkeypatch.context() as patch:
        patch.setattr(index_module, "vector_index", lambda *a: pytest.fail("the graph was rebuilt for an append"))
        report = service.build()
    assert sorted(report.added) == ["aa-ferry.md", "airport.md"] and report.chunks_embedded == 2
    loaded = IndexStore(tmp_path / "index").open()
    assert isinstance(loaded.vectors, faiss.IndexHNSWFlat) and loaded.vectors.ntotal == 5
    assert_rows_match_chunks(loaded, embedder)

    (corpus / "tax.md").unlink()
    (corpus / "bridge.md").write_text("# The bridge\n\nThe bridge to Macao is 55 km long and opened in 2018.", encoding="utf-8")
    report = service.build()
    assert report.removed == ("tax.md",) and report.changed == ("bridge.md",)
    loaded = IndexStore(tmp_path / "index").open()
    assert loaded.vectors.ntotal == 4
    assert_rows_match_chunks(loaded, embedder)
    service.load()
    assert service.search("When did the third runway open?", k=1)[0].chunk.doc_id == "airport.md"
