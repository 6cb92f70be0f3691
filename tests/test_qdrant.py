"""The Qdrant store (bayqa.qdrant) kept in step with the index folder through updates, on both editions of the
engine (Qdrant Edge in this process, and qdrant-client's local mode), with a fake encoder: what is kept, added,
retired and collected, filters, the alias, and errors. The ranking contract with the real model is in
test_qdrant_contract.py."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

pytest.importorskip("qdrant_client")
pytest.importorskip("qdrant_edge")

from bayqa.cli import main as bayqa_main  # noqa: E402
from bayqa.config import Settings  # noqa: E402
from bayqa.indexing import build  # noqa: E402
from bayqa.qdrant import ALIAS, EdgeEngine, QdrantMirror, ServerEngine, collection_of, engine_at  # noqa: E402
from bayqa.qdrant.points import BM25, DENSE, MULTILINGUAL, SENTENCES, point_id, term_collisions  # noqa: E402
from bayqa.query import Query  # noqa: E402
from bayqa.search import Searcher  # noqa: E402
from bayqa.signals import StoreUnavailable  # noqa: E402
from bayqa.store import IndexStore, LoadedIndex  # noqa: E402
from bayqa.store.shared import segment_names  # noqa: E402
from tests.test_multilingual import FAKE, SECOND, notes  # noqa: E402
from tests.test_store import SETTINGS, documents_of  # noqa: E402


@pytest.fixture(params=["edge", "client"])
def mirror(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[QdrantMirror]:
    engine = engine_at(str(tmp_path / "edge")) if request.param == "edge" else engine_at(":memory:")
    yield QdrantMirror(engine)
    if isinstance(engine, EdgeEngine):
        for name in engine.collections():
            engine.drop(name)


def store_with(mirror: QdrantMirror, tmp_path: Path) -> IndexStore:
    return IndexStore(tmp_path / "index", grace_seconds=0, mirror=mirror)


def searchers(index: LoadedIndex, mirror: QdrantMirror) -> tuple[Searcher, Searcher]:
    """The same generation searched through its own FAISS and BM25, and through Qdrant."""
    return Searcher(index, FAKE, multilingual=SECOND), Searcher(index, FAKE, multilingual=SECOND, candidates=mirror.candidates(index))


QUESTIONS = ["When did Shenzhen Bay Port open?", "Qianhai area in 2021", "third runway", "河套合作区面积", "Macao core city"]


def same_answers(index: LoadedIndex, mirror: QdrantMirror, drift: float = 0.0, **options: object) -> None:
    """Both searchers give the same passages in the same order, with the same scores; after an update BM25 may
    drift by the relative ``drift`` (a segment's BM25 values keep the average passage length of the generation that
    wrote them: in a corpus of nine passages, one passage moves it a lot)."""
    ours, theirs = searchers(index, mirror)
    for question in QUESTIONS:
        for mode in ("hybrid", "dense", "keyword"):
            expected = [(h.chunk.id, h.score) for h in ours.search(question, k=5, mode=mode, **options)]
            got = [(h.chunk.id, h.score) for h in theirs.search(question, k=5, mode=mode, **options)]
            assert [c for c, _ in got] == [c for c, _ in expected], (question, mode)
            tolerance = 0.0 if mode == "dense" else drift
            assert np.allclose([s for _, s in got], [s for _, s in expected], atol=1e-4, rtol=tolerance), (question, mode)


def documents_found(index: LoadedIndex, mirror: QdrantMirror) -> set[str]:
    query = Query.of("Hong Kong Shenzhen note")
    query = query.with_vector(FAKE.encode_query(query.text))
    signals = mirror.candidates(index).signals(query, query.vector, SECOND.encode_query(query.text), len(index.chunks), None)
    return {index.chunks.doc_id(int(r)) for r in signals.rows}


def test_a_build_writes_the_generation_and_searches_rank_as_with_faiss(mirror: QdrantMirror, tmp_path: Path) -> None:
    corpus = notes(tmp_path)
    store = store_with(mirror, tmp_path)
    build(store, documents_of(corpus), FAKE, SETTINGS, multilingual=SECOND)
    index = store.open()
    assert mirror.missing(index) == []
    assert mirror.engine.alias() == collection_of(index)
    same_answers(index, mirror)
    same_answers(index, mirror, doc_ids=frozenset({"note1.txt", "zh.txt"}))
    assert documents_found(index, mirror) == set(index.rows_by_doc)


def test_updates_add_the_new_tail_retire_old_rows_and_collect_old_segments(mirror: QdrantMirror, tmp_path: Path) -> None:
    corpus = notes(tmp_path)
    store = store_with(mirror, tmp_path)
    build(store, documents_of(corpus), FAKE, SETTINGS, multilingual=SECOND)
    first = store.open()
    (corpus / "note5.txt").unlink()
    (corpus / "extra.txt").write_text("Extra\n\nLok Ma Chau Loop hosts the Hong Kong park of the Hetao zone.", encoding="utf-8")
    build(store, documents_of(corpus), FAKE, SETTINGS, multilingual=SECOND)
    patched = store.open(previous=first)
    assert len(patched.manifest.segments) == 2 and collection_of(patched) == collection_of(first), "a patch: same collection"
    held = mirror.engine.segments(collection_of(patched))
    assert held == dict(patched.manifest.segments), "the new tail is written; the main segment's points stay"
    # The old generation still reads what it served; the new one never returns the removed document.
    assert "note5.txt" in documents_found(first, mirror) and "extra.txt" not in documents_found(first, mirror)
    assert documents_found(patched, mirror) == set(patched.rows_by_doc)
    same_answers(patched, mirror, drift=0.03)
    (corpus / "extra2.txt").write_text("Extra 2\n\nThe Northern Metropolis plan was published in 2021.", encoding="utf-8")
    build(store, documents_of(corpus), FAKE, SETTINGS, multilingual=SECOND)
    again = store.open(previous=patched)
    same_answers(again, mirror, drift=0.03)
    old_tail = patched.manifest.segments[1][0]
    assert old_tail in mirror.engine.segments(collection_of(again)), "the generation before the live one still names it"
    (corpus / "extra3.txt").write_text("Extra 3\n\nThe Hetao zone's Shenzhen park opened first.", encoding="utf-8")
    build(store, documents_of(corpus), FAKE, SETTINGS, multilingual=SECOND)
    held = mirror.engine.segments(collection_of(again))
    assert old_tail not in held and set(held) == segment_names(tmp_path / "index"), "collected with its segment (grace 0)"


def test_a_rebuild_writes_a_new_collection_moves_the_alias_and_drops_the_old_one(mirror: QdrantMirror, tmp_path: Path) -> None:
    corpus = notes(tmp_path)
    store = store_with(mirror, tmp_path)
    build(store, documents_of(corpus), FAKE, SETTINGS, multilingual=SECOND)
    first = store.open()
    for name in ("note2.txt", "note3.txt", "note4.txt"):  # past the retired share: rebuilt into one new segment
        (corpus / name).unlink()
    build(store, documents_of(corpus), FAKE, SETTINGS, multilingual=SECOND)
    rebuilt = store.open()
    assert collection_of(rebuilt) != collection_of(first)
    assert mirror.engine.alias() == collection_of(rebuilt)
    same_answers(rebuilt, mirror)
    assert collection_of(first) in mirror.engine.collections(), "the generation before the live one still names it"
    (corpus / "extra.txt").write_text("Extra\n\nLok Ma Chau Loop hosts the Hong Kong park of the Hetao zone.", encoding="utf-8")
    build(store, documents_of(corpus), FAKE, SETTINGS, multilingual=SECOND)
    assert collection_of(first) not in mirror.engine.collections(), "dropped with its main segment (grace 0)"


def test_a_grace_period_keeps_the_old_collection_for_servers_still_on_it(mirror: QdrantMirror, tmp_path: Path) -> None:
    corpus = notes(tmp_path)
    store = IndexStore(tmp_path / "index", grace_seconds=600, mirror=mirror)
    build(store, documents_of(corpus), FAKE, SETTINGS, multilingual=SECOND)
    first = store.open()
    build(store, documents_of(corpus), FAKE, SETTINGS, multilingual=SECOND, force=True)
    assert collection_of(store.open()) != collection_of(first)
    assert documents_found(first, mirror) == set(first.rows_by_doc), "a replica on the old generation still reads it whole"


def test_a_generation_built_before_qdrant_is_written_by_the_writer_and_refused_by_a_replica(tmp_path: Path) -> None:
    corpus = notes(tmp_path)
    build(IndexStore(tmp_path / "index"), documents_of(corpus), FAKE, SETTINGS)
    edge = tmp_path / "edge"
    replica = Settings(corpus=corpus, index=tmp_path / "index", store="qdrant", qdrant_url=":memory:", read_only=True,
                       multilingual="off")
    from bayqa.service import Service

    with pytest.raises(Exception, match="the writer"):
        Service(replica, FAKE).load()
    writer = Service(Settings(corpus=corpus, index=tmp_path / "index", store="qdrant", qdrant_url=str(edge), multilingual="off"), FAKE)
    writer.load()
    assert writer.mirror is not None and writer.mirror.missing(writer.index) == []
    assert [h.chunk.doc_id for h in writer.search("Qianhai square kilometres", k=3)]


def test_two_index_folders_on_one_store_never_collect_each_others_collections(mirror: QdrantMirror, tmp_path: Path) -> None:
    corpus = notes(tmp_path)
    one, two = (IndexStore(tmp_path / name, grace_seconds=0, mirror=mirror) for name in ("one", "two"))
    build(one, documents_of(corpus), FAKE, SETTINGS)
    first = one.open()
    for _ in range(2):  # two rebuilds of the other folder: its first collection is collected
        build(two, documents_of(corpus), FAKE, SETTINGS, force=True)
    assert collection_of(first) in mirror.engine.collections() and mirror.missing(first) == []
    assert collection_of(first) != collection_of(two.open())


def test_point_ids_are_stable_and_distinct() -> None:
    assert point_id("seg-a", 0) == point_id("seg-a", 0) != point_id("seg-a", 1) != point_id("seg-b", 1)
    assert term_collisions(["policy", "policy"]) == 1 and term_collisions(["policy", "hong", "kong"]) == 0


def test_the_alias_moves_in_one_step_on_the_client(tmp_path: Path) -> None:
    engine = engine_at(":memory:")
    assert isinstance(engine, ServerEngine)
    engine.create("bayqa-one", 4, None)
    engine.create("bayqa-two", 4, None)
    engine.point_alias("bayqa-one")
    engine.point_alias("bayqa-two")
    assert {a.alias_name: a.collection_name for a in engine.client.get_aliases().aliases} == {ALIAS: "bayqa-two"}


def test_an_unreachable_server_is_a_clear_error_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = notes(tmp_path)
    mirror = QdrantMirror.at("http://127.0.0.1:9")  # nothing listens on the discard port
    with pytest.raises(StoreUnavailable, match="http://127.0.0.1:9"):
        build(store_with(mirror, tmp_path), documents_of(corpus), FAKE, SETTINGS)
    assert IndexStore(tmp_path / "index").current_generation() is None, "nothing went live that Qdrant does not hold"
    code = bayqa_main(["index", "--corpus", str(corpus), "--index", str(tmp_path / "index2"), "--multilingual", "off",
                       "--store", "qdrant", "--qdrant-url", "http://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert code == 2 and err.splitlines()[-1].startswith("bayqa: error: the Qdrant store at http://127.0.0.1:9 failed")
    assert "Traceback" not in err


def test_the_qdrant_store_needs_a_location(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match="BAYQA_QDRANT_URL"):
        Settings(store="qdrant")
    assert bayqa_main(["info", "--store", "qdrant"]) == 2
    assert "needs BAYQA_QDRANT_URL" in capsys.readouterr().err


def test_a_server_on_the_qdrant_store_serves_writes_as_soon_as_their_jobs_end(tmp_path: Path) -> None:
    """A real server over HTTP: searches read Qdrant (Edge), an upload is found and a deletion gone once its job
    is done, and a search that Qdrant cannot answer is a 503 with a message."""
    from bayqa.api.app import create_app
    from bayqa.service import Service
    from tests.conftest import LiveServer
    from tests.test_index import DOCS, make_corpus
    from tests.test_replicas import AUTH, TOKEN, finished

    settings = Settings(corpus=make_corpus(tmp_path / "corpus", DOCS), index=tmp_path / "index", api_token=TOKEN,
                        store="qdrant", qdrant_url=str(tmp_path / "edge"), multilingual="off")
    service = Service(settings, FAKE)  # type: ignore[arg-type]
    service.build()
    service.refresh()
    with LiveServer(create_app(service)) as server, httpx.Client(base_url=server.url, timeout=30) as api:
        assert api.get("/health").json()["store"] == "qdrant"
        upload = {"file": ("ferry.txt", b"Ferry\n\nThe Tuen Mun ferry to Shekou sails every hour.")}
        added = finished(api, api.post("/documents", headers=AUTH, files=upload).json())
        assert added["state"] == "done"
        found = api.get("/search", params={"q": "Tuen Mun ferry Shekou", "k": 3}).json()["results"]
        assert found[0]["doc_id"] == "ferry.txt"
        assert finished(api, api.delete("/documents/ferry.txt", headers=AUTH).json())["state"] == "done"
        after = api.get("/search", params={"q": "Tuen Mun ferry Shekou", "k": 10}).json()["results"]
        assert "ferry.txt" not in {r["doc_id"] for r in after}
        assert service.mirror is not None and service.mirror.missing(service.index) == []
        service.mirror.engine.drop(collection_of(service.index))  # the store loses the collection under the server
        lost = api.get("/search", params={"q": "bridge"})
        assert lost.status_code == 503 and "the Qdrant store at" in lost.json()["detail"] and lost.headers["retry-after"]


@pytest.mark.filterwarnings("ignore:Local mode performs exact")
def test_a_server_collection_is_laid_out_for_the_cluster_and_its_requests_are_valid() -> None:
    """The server path (shards, replicas, int8 vectors on disk, search parameters) through qdrant-client's own
    models; local mode accepts and ignores the layout, which only a Qdrant server applies."""
    from qdrant_client import QdrantClient

    from bayqa.qdrant.engines import Ask, Cluster
    from bayqa.qdrant.points import PassagePoint

    engine = ServerEngine(QdrantClient(":memory:"), "http://qdrant.internal:6333", Cluster(shards=6, replicas=2))
    with pytest.warns(UserWarning, match="Payload indexes"):
        engine.create("bayqa-seg-x", 4, 3)
    engine.upsert("bayqa-seg-x", [PassagePoint(point_id("seg-x", 0), [1.0, 0, 0, 0], [[1.0, 0, 0, 0]], ([7], [0.5]), [0, 1.0, 0],
                                               {"segment": "seg-x", "offset": 0, "doc_id": "a.md"})])
    ask = Ask(((DENSE, [1.0, 0, 0, 0]), (SENTENCES, [[1.0, 0, 0, 0]]), (BM25, ([7], [2.0])), (MULTILINGUAL, [0, 1.0, 0])),
              (DENSE, BM25, MULTILINGUAL), 5, ("seg-x",), ("a.md",))
    assert engine.query("bayqa-seg-x", ask) == [[("seg-x", 0, 1.0)], [("seg-x", 0, 1.0)], [("seg-x", 0, 1.0)], [("seg-x", 0, 1.0)]]


def test_without_the_qdrant_extra_the_store_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from bayqa.service import Service

    monkeypatch.setitem(sys.modules, "qdrant_client", None)  # as if not installed: importing it raises ImportError
    monkeypatch.setitem(sys.modules, "qdrant_edge", None)
    for location in ("http://127.0.0.1:9", str(tmp_path / "edge")):
        with pytest.raises(StoreUnavailable, match=r"pip install 'bayqa\[qdrant\]'"):
            Service(Settings(corpus=tmp_path, index=tmp_path / "index", store="qdrant", qdrant_url=location), FAKE)  # type: ignore[arg-type]
