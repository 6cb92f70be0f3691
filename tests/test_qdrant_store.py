"""The Qdrant store's contract against bayqa's own: on the shipped corpus with the real model, the three signals read
from Qdrant (Qdrant's engine in-process, qdrant-edge-py, and qdrant-client's local mode) rank the passages as
FAISS, BM25 and the sentence codes do, and so does the hybrid fusion of them; the alias switches from one
collection to the next in one step (qdrant-client)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("qdrant_client")
from qdrant_client import QdrantClient, models  # noqa: E402

from bayqa.fusion import convex, hybrid_weights  # noqa: E402
from bayqa.qdrant_store import (  # noqa: E402
    ALIAS, EdgeCandidates, QdrantCandidates, Signals, export_edge, export_generation, switch_alias, term_collisions,
)
from bayqa.query import Query  # noqa: E402
from bayqa.search import Searcher, top_rows  # noqa: E402
from bayqa.service import Service  # noqa: E402

QUESTIONS = Path(__file__).resolve().parents[1] / "eval" / "gba_questions.jsonl"
TOP = 10
CANDIDATES = 24  # per retriever: fewer than the shipped corpus's passages, so that picking candidates matters
TIE = 1e-5  # scores closer than this are ties (float32 arithmetic on both sides)


@pytest.fixture(scope="module")
def exported(shipped_service: Service) -> QdrantClient:
    client = QdrantClient(":memory:")
    report = export_generation(shipped_service.index, client, "shipped-1")
    assert report.points == len(shipped_service.index.chunks)
    return client


@pytest.fixture(scope="module", params=["edge", "client"])
def candidates(
    request: pytest.FixtureRequest, shipped_service: Service, exported: QdrantClient, tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[QdrantCandidates | EdgeCandidates]:
    """Both editions: the engine in-process (qdrant-edge-py) and qdrant-client's local mode."""
    if request.param == "client":
        yield QdrantCandidates(exported)
        return
    pytest.importorskip("qdrant_edge")
    shard, report = export_edge(shipped_service.index, tmp_path_factory.mktemp("edge") / "shard")
    assert report.points == len(shipped_service.index.chunks)
    yield EdgeCandidates(shard)
    shard.close()


@pytest.fixture(scope="module")
def questions(shipped_service: Service) -> list[Query]:
    lines = QUESTIONS.read_text(encoding="utf-8").splitlines()[:20]
    texts = [json.loads(line)["question"] for line in lines]
    return [Query.of(t).with_vector(shipped_service.embedder.encode_query(t)) for t in texts]


def same_up_to_ties(ours: np.ndarray, ours_scores: np.ndarray, theirs: np.ndarray, theirs_scores: np.ndarray) -> bool:
    """Whether two top lists hold the same rows with the same scores, rows tied at the cut allowed to differ."""
    if not np.allclose(ours_scores, theirs_scores, atol=TIE):
        return False
    cut = min(ours_scores[-1], theirs_scores[-1]) + TIE
    return set(ours[ours_scores > cut].tolist()) == set(theirs[theirs_scores > cut].tolist())


def top(rows: np.ndarray, scores: np.ndarray, n: int = TOP) -> tuple[np.ndarray, np.ndarray]:
    order = np.lexsort((rows, -scores))[:n]
    return rows[order], scores[order]


def test_collisions_count_terms_sharing_an_index() -> None:
    assert term_collisions(["policy", "policy"]) == 1
    assert term_collisions(["policy", "hong", "kong"]) == 0


def test_each_signal_ranks_as_bayqa_does(shipped_service: Service, candidates: QdrantCandidates | EdgeCandidates, questions: list[Query]) -> None:
    index = shipped_service.index
    bm25_exact = 0
    for query in questions:
        signals = candidates.search(query, query.vector, CANDIDATES)
        scores, rows = index.vectors.search(query.vector[np.newaxis, :], TOP)
        assert same_up_to_ties(rows[0], scores[0], *top(signals.rows, signals.dense)), query.text
        # MaxSim over the dequantized sentence vectors is the codes' own best-sentence cosine.
        assert np.abs(signals.sentences - index.best_sentence_scores(signals.rows, query.vector)).max() < 1e-3
        keyword = index.keyword.scores(query)
        # The BM25 scores agree on every candidate; Qdrant's top BM25 rows are bayqa's.
        assert np.allclose(signals.bm25, keyword[signals.rows], atol=TIE), query.text
        ours = top_rows(keyword, TOP)
        ours_rows, ours_scores = top(ours, keyword[ours].astype(np.float64))
        positive = signals.bm25 > 0
        bm25_exact += same_up_to_ties(ours_rows, ours_scores, *top(signals.rows[positive], signals.bm25[positive]))
    assert bm25_exact == len(questions)


def fused(query: Query, signals: Signals) -> list[int]:
    """The rows of ``signals`` in hybrid order, fused as bayqa.search fuses its own candidates (one model)."""
    similarity = float(signals.dense.max(initial=0.0))
    scores = convex([signals.dense, signals.sentences, signals.bm25], np.asarray(hybrid_weights(query, similarity)))
    return signals.rows[np.lexsort((signals.rows, -signals.dense, -scores))].tolist()


def test_hybrid_top_ten_is_the_searchers(shipped_service: Service, candidates: QdrantCandidates | EdgeCandidates, questions: list[Query]) -> None:
    index = shipped_service.index
    searcher = Searcher(index, shipped_service.embedder)  # English model only: the collection holds no multilingual vectors
    for query in questions:
        dense_rows, dense_scores = searcher._nearest(index.vectors, index.vectors_of, query.vector, CANDIDATES, None)
        ranked, _ = searcher._rank("hybrid", query, dense_rows, dense_scores, index.keyword.scores(query), None, CANDIDATES)
        ours = [row for row, _ in ranked[:TOP]]
        theirs = fused(query, candidates.search(query, query.vector, CANDIDATES))[:TOP]
        assert theirs == ours, query.text


def test_the_alias_moves_to_the_next_collection_in_one_step(shipped_service: Service, exported: QdrantClient, questions: list[Query]) -> None:
    index = shipped_service.index
    export_generation(index, exported, "shipped-2", alias=None)
    gone = index.chunks[0].doc_id  # the next generation without the first document
    exported.delete("shipped-2", points_selector=models.Filter(must=[models.FieldCondition(key="doc_id", match=models.MatchValue(value=gone))]))
    through_alias = QdrantCandidates(exported, ALIAS)
    query = questions[0]

    def documents() -> set[str]:
        signals = through_alias.search(query, query.vector, len(index.chunks))
        return {index.chunks[int(r)].doc_id for r in signals.rows}

    assert gone in documents()  # not switched yet: the alias still shows the first collection whole
    switch_alias(exported, "shipped-2")
    assert gone not in documents()
    assert {a.alias_name: a.collection_name for a in exported.get_aliases().aliases} == {ALIAS: "shipped-2"}
    switch_alias(exported, "shipped-1")  # and back, for the tests that share the client
    assert gone in documents()
