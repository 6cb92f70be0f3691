"""Past a configured size the vector index is an HNSW graph; adding documents leaves it alone and fills a small exact tail."""

from pathlib import Path

import faiss
import numpy as np
import pytest

from bayqa.config import Settings
from bayqa.embedding import MIN_COSINE_INT8, Embedder
from bayqa.service import Service
from bayqa.store import IndexStore, LoadedIndex, vector_index
from bayqa.store import plan as plan_module
from bayqa.store import writer as writer_module
from bayqa.store.vectors import Segments
from tests.test_index import DOCS, make_corpus


def assert_rows_match_chunks(loaded: LoadedIndex, embedder: Embedder) -> None:
    """Row i of the vector index is the embedding of chunk i (through the int8 graph on a CPU with VNNI but not AMX)."""
    stored = loaded.vectors_of(list(range(len(loaded.chunks))))
    expected = embedder.encode_reference([c.embedding_text for c in loaded.chunks])
    assert np.min(np.sum(stored * expected, axis=1)) >= MIN_COSINE_INT8


def test_index_turns_to_hnsw_past_the_configured_size(tmp_path: Path, embedder: Embedder) -> None:
    corpus = make_corpus(tmp_path / "corpus", DOCS)
    small = Service(Settings(corpus=corpus, index=tmp_path / "exact", exact_search_below=10), embedder)
    large = Service(Settings(corpus=corpus, index=tmp_path / "graph", exact_search_below=2), embedder)
    small.build()
    large.build()
    assert IndexStore(tmp_path / "exact").open().vectors.kind == "IndexFlatIP"
    [graph] = IndexStore(tmp_path / "graph").open().vectors.parts
    assert isinstance(graph, faiss.IndexHNSWSQ) and graph.hnsw.efSearch >= 100
    for service in (small, large):
        service.load()
        assert service.search("How long is the bridge to Macao?", k=1)[0].chunk.doc_id == "bridge.md"
        only = service.search("How long is the bridge to Macao?", k=3, doc_ids=frozenset({"rail.txt", "tax.md"}))
        assert sorted(h.chunk.doc_id for h in only) == ["rail.txt", "tax.md"]
        assert only[0].score >= only[1].score


def test_additions_share_the_graph_and_fill_an_exact_tail(tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = make_corpus(tmp_path / "corpus", DOCS)
    service = Service(Settings(corpus=corpus, index=tmp_path / "index", exact_search_below=2), embedder)
    service.build()
    store = IndexStore(tmp_path / "index")
    first = store.open()
    (main, _), = first.manifest.segments
    (corpus / "airport.md").write_text("# Airport\n\nThe third runway of Hong Kong International Airport opened in 2022.", encoding="utf-8")
    (corpus / "aa-ferry.md").write_text("# Ferry\n\nFerries link Shekou and Hong Kong airport several times a day.", encoding="utf-8")
    with monkeypatch.context() as patch:
        patch.setattr(writer_module, "vector_index", lambda *a: pytest.fail("the graph was rebuilt for an append"))
        report = service.build()
    assert sorted(report.added) == ["aa-ferry.md", "airport.md"] and report.chunks_embedded == 2
    loaded = store.open()
    assert loaded.vectors.kind == "IndexHNSWSQ+IndexFlatIP" and loaded.vectors.ntotal == 5
    assert [rows for _, rows in loaded.manifest.segments] == [3, 2] and loaded.manifest.segments[0][0] == main
    assert not list(loaded.path.glob("seg-*")) and sorted(p.name for p in (tmp_path / "index" / "segments").iterdir()) == sorted(
        name for name, _ in loaded.manifest.segments), "both generations name the graph's segment, stored once"
    assert list(loaded.documents) == sorted(loaded.documents) and loaded.document_text("airport.md").startswith("# Airport")
    assert_rows_match_chunks(loaded, embedder)
    service.load()
    assert service.search("When did the third runway open?", k=1)[0].chunk.doc_id == "airport.md"
    assert service.search("How long is the bridge to Macao?", k=1)[0].chunk.doc_id == "bridge.md"

    (corpus / "port.txt").write_text("Shenzhen Bay Port opened in 2007 with co-location.", encoding="utf-8")
    service.build()
    assert [rows for _, rows in store.open().manifest.segments] == [3, 3], "a second addition rewrites the one tail"
    with monkeypatch.context() as patch:
        patch.setattr(plan_module, "TAIL_ROWS", 3)
        (corpus / "rail2.txt").write_text("A second rail link to Qianhai is planned.", encoding="utf-8")
        service.build()
    loaded = store.open()
    assert [rows for _, rows in loaded.manifest.segments] == [7], "a full tail is merged into one graph"
    assert isinstance(loaded.vectors.parts[0], faiss.IndexHNSWSQ)
    assert_rows_match_chunks(loaded, embedder)

    (corpus / "tax.md").unlink()
    (corpus / "bridge.md").write_text("# The bridge\n\nThe bridge to Macao is 55 km long and opened in 2018.", encoding="utf-8")
    report = service.build()
    assert report.removed == ("tax.md",) and report.changed == ("bridge.md",)
    loaded = store.open()
    assert loaded.vectors.ntotal == 6 and len(loaded.manifest.segments) == 1
    assert_rows_match_chunks(loaded, embedder)
    service.load()
    assert service.search("When did the third runway open?", k=1)[0].chunk.doc_id == "airport.md"


def test_segments_search_as_one_index() -> None:
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(300, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    whole = faiss.IndexFlatIP(16)
    whole.add(vectors)
    parts = [faiss.IndexFlatIP(16), faiss.IndexFlatIP(16), faiss.IndexFlatIP(16)]
    for part, rows in zip(parts, (slice(0, 200), slice(200, 297), slice(297, 300))):
        part.add(vectors[rows])
    segments = Segments(parts)
    queries = vectors[[0, 150, 250, 299]] + 0.01
    want_scores, want_rows = whole.search(queries, 10)
    scores, rows = segments.search(queries, 10)
    assert rows.tolist() == want_rows.tolist() and np.allclose(scores, want_scores, atol=1e-6)
    picked = np.array([299, 0, 201, 150])
    assert np.array_equal(segments.reconstruct_batch(picked), vectors[picked])


def test_a_rebuild_keeps_the_graph_codes_of_its_passages() -> None:
    """Compacting decodes the graph's vectors and encodes them again: with the graph's own ranges, to the same codes."""
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(400, 64)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)

    def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.sum(a * b, axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)

    first = vector_index(vectors[:300], exact_below=0)
    kept = first.reconstruct_n(0, 300)
    assert 0.995 < cosines(kept, vectors[:300]).min() < 1.0, "8-bit codes: close, not exact"
    inside = np.clip(vectors[300:], vectors[:300].min(axis=0), vectors[:300].max(axis=0))
    again = vector_index(np.vstack([kept, inside]), exact_below=0, previous=first)
    assert np.array_equal(again.reconstruct_n(0, 300), kept), "kept passages keep their codes"
    wider = vector_index(np.vstack([kept, 3 * vectors[300:]]), exact_below=0, previous=first)
    assert not np.array_equal(wider.reconstruct_n(0, 300), kept), "vectors the ranges cannot hold get new ranges"
    assert cosines(wider.reconstruct_n(300, 100), vectors[300:]).min() > 0.99
