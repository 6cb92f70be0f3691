"""The index store without a model: the patch-or-rebuild plan on small inputs, and writes, switches and pruning
with hand-made vectors or a fake encoder (vectors from hashed words: deterministic, and blind to meaning)."""

import dataclasses
import json
import re
import time
from pathlib import Path

import numpy as np
import pytest
from filelock import FileLock

import bayqa.indexing
from bayqa.chunking import ChunkSettings, chunk_document
from bayqa.documents import Document, load_corpus, parse_document
from bayqa.indexing import BuildReport, build, chunk_sentences
from bayqa.query import Query
from bayqa.store import FORMAT_VERSION, LOCK_FILE, Contents, DocumentInfo, IndexBusy, IndexMismatch, IndexMissing, IndexStore, Part, quantize
from bayqa.store import plan as plan_module
from bayqa.store.codes import CODE_SPREAD, dequantize, quantized_scores
from bayqa.store.loaded import LoadedIndex
from bayqa.store.manifest import Retired
from bayqa.store.plan import Layout, PatchPlan, patch_plan
from tests.conftest import FakeEncoder
from tests.test_index import DOCS, NOTES, make_corpus

SETTINGS = ChunkSettings()


FAKE = FakeEncoder()


def documents_of(corpus: Path) -> list[Document]:
    return load_corpus(corpus).documents


def build_folder(store: IndexStore, corpus: Path, **options) -> BuildReport:
    return build(store, documents_of(corpus), FAKE, SETTINGS, **options)


def notes_corpus(tmp_path: Path) -> Path:
    return make_corpus(tmp_path / "corpus", {**DOCS, **{f"note{i}.txt": f"Note {i}\n\n{fact}" for i, fact in enumerate(NOTES)}})


# -- the plan, on hand-made layouts


def layout(retired: Retired = Retired()) -> Layout:
    """Twenty main rows (a: 0-1, b: 2-3, empty: none, the rest elsewhere) and a tail of c (20-21) and d (22)."""
    return Layout(main_rows=20, retired=retired, main={"a": (0, 1), "b": (2, 3), "empty": ()}, tail={"c": (20, 21), "d": (22,)})


def test_a_patch_retires_the_main_rows_of_replaced_documents_and_keeps_the_tail_rows_of_reused_ones() -> None:
    plan = patch_plan(layout(Retired((5,), ("x",))), reuse={"c", "e"}, replaced={"a", "d", "empty"}, new_rows=4)
    assert plan == PatchPlan(kept_tail_rows=(20, 21), kept_tail_documents=frozenset({"c"}),
                             retired=Retired(rows=(0, 1, 5), documents=("a", "empty", "x")))
    untouched = patch_plan(layout(), reuse={"c", "d"}, replaced=set(), new_rows=0)
    assert untouched == PatchPlan((20, 21, 22), frozenset({"c", "d"}), Retired()), "nothing replaced: nothing retired"


def test_the_plan_rebuilds_when_the_tail_would_outgrow_its_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan_module, "TAIL_ROWS", 5)
    assert patch_plan(layout(), reuse={"c", "d"}, replaced=set(), new_rows=2) is not None, "3 kept + 2 new fit"
    assert patch_plan(layout(), reuse={"c", "d"}, replaced=set(), new_rows=3) is None
    assert patch_plan(layout(), reuse={"c"}, replaced={"d"}, new_rows=3) is not None, "a replaced tail row frees its place"


def test_the_plan_rebuilds_past_the_retired_share() -> None:
    assert patch_plan(layout(), reuse=set(), replaced={"a", "b"}, new_rows=0) is not None, "4 of 20 rows: at the share"
    assert patch_plan(layout(Retired((4,), ("z",))), reuse=set(), replaced={"a", "b"}, new_rows=0) is None, "5 of 20: past it"
    assert patch_plan(layout(Retired((0,), ("a",))), reuse=set(), replaced={"a", "b"}, new_rows=0) is not None, "a row counts once"


# -- writing what the store is handed


def hand_made(documents: list[Document]) -> Contents:
    """Contents of a first generation with vectors made by hand: passage i's vector is 1 in component i mod 16."""
    chunks = [c for d in documents for c in chunk_document(d, FAKE.count_tokens, SETTINGS)]
    vectors = np.eye(FAKE.dimension, dtype=np.float32)[np.arange(len(chunks)) % FAKE.dimension]
    spans = np.array([(row, s, e) for row, c in enumerate(chunks) for s, e in chunk_sentences(c)], dtype=np.int64).reshape(-1, 3)
    sentences = np.tile(np.linspace(-1, 1, FAKE.dimension, dtype=np.float32) / 2.4, (len(spans), 1))
    infos = [DocumentInfo(d.id, d.title, d.kind, d.content_hash, d.size, d.pages, sum(c.doc_id == d.id for c in chunks),
                          "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00") for d in documents]
    return Contents(model="hand/made", dimension=FAKE.dimension, chunking={"chunk_tokens": 200}, corpus_fingerprint="f",
                    built_at="2026-01-01T00:00:00+00:00", documents=documents, infos=infos, chunks=chunks,
                    rows=Part(vectors, quantize(sentences), spans), keyword_texts=[c.embedding_text for c in chunks])


def test_the_store_writes_what_it_is_handed(tmp_path: Path) -> None:
    documents = [parse_document(text.encode(), "markdown" if name.endswith(".md") else "text", name, name)
                 for name, text in DOCS.items()]
    contents = hand_made(documents)
    store = IndexStore(tmp_path / "index")
    with store.writing():
        manifest = store.write(contents, store.plan(None, set(), (), len(contents.chunks)), started=time.perf_counter())
    loaded = store.open("hand/made")
    assert loaded.generation == manifest.generation == store.current_generation()
    assert (manifest.format, manifest.model, manifest.documents, manifest.chunks, manifest.retired) == (FORMAT_VERSION, "hand/made", 3, 3, 0)
    assert loaded.chunks == list(contents.chunks) and list(loaded.documents) == sorted(DOCS)
    assert loaded.documents["bridge.md"] == contents.infos[0] and loaded.document_text("tax.md") == documents[1].text
    assert np.array_equal(loaded.vectors_of([0, 1, 2]), contents.rows.vectors)
    vectors, spans = loaded.sentences_of(2)
    assert spans.tolist() == [list(s) for s in chunk_sentences(contents.chunks[2])]
    want = np.linspace(-1, 1, FAKE.dimension) / 2.4
    assert len(vectors) == len(spans) and np.min(vectors @ want / np.linalg.norm(vectors, axis=1) / np.linalg.norm(want)) > 0.99
    assert loaded.keyword.size == 3 and loaded.keyword.scores(Query.of("Zhuhai")).argmax() == 0


# -- builds through indexing with the fake encoder: patches, rebuilds, the switch, pruning


def test_the_store_plans_a_patch_from_the_live_generation(tmp_path: Path) -> None:
    store = IndexStore(tmp_path / "index")
    build_folder(store, notes_corpus(tmp_path))
    live = store.live()
    rows = {doc_id: [r for r, c in enumerate(store.open().chunks) if c.doc_id == doc_id] for doc_id in ("tax.md", "rail.txt")}
    plan = store.plan(live, set(live.documents) - {"tax.md", "rail.txt"}, ("tax.md", "rail.txt"), 1)
    assert plan.previous == live and plan.patch == PatchPlan((), frozenset(), Retired(
        tuple(sorted(rows["tax.md"] + rows["rail.txt"])), ("rail.txt", "tax.md")))
    assert store.plan(live, set(live.documents), (), plan_module.TAIL_ROWS + 1).patch is None, "too many new rows for the tail"
    assert store.plan(live, set(), (), 1).patch is None, "nothing reused: nothing to patch"


def test_failed_build_leaves_previous_index_answering(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "corpus", DOCS)
    store = IndexStore(tmp_path / "index")
    good = build_folder(store, corpus).generation
    (corpus / "new.txt").write_text("Hetao is a science park.", encoding="utf-8")

    def crash(_: Path) -> None:
        raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        build_folder(store, corpus, before_switch=crash)
    assert store.current_generation() == good
    assert "new.txt" not in store.open().documents
    (tmp_path / "index" / "gen-junk.partial").mkdir()  # as left by a killed build
    assert build_folder(store, corpus).added == ("new.txt",)
    assert not list((tmp_path / "index").glob("*.partial"))


def test_a_generation_goes_live_only_once_complete_and_a_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = make_corpus(tmp_path / "corpus", DOCS)
    store = IndexStore(tmp_path / "index")
    first = build_folder(store, corpus).generation
    (corpus / "port.txt").write_text("Shenzhen Bay Port opened in 2007 with co-location.", encoding="utf-8")
    seen = []

    def check(final: Path) -> None:  # just before the switch: complete on disk, not yet live
        seen.append((final.name, store.current_generation(), sorted(p.name for p in final.iterdir() if not p.name.startswith("seg-"))))

    second = build_folder(store, corpus, before_switch=check).generation
    assert seen == [(second, first, ["manifest.json"])] and store.current_generation() == second
    assert (tmp_path / "index" / "CURRENT").read_text() == f"{second}\n" and not (tmp_path / "index" / "CURRENT.tmp").exists()

    def full_disk(*args: object) -> None:
        raise OSError(28, "No space left on device")

    (corpus / "tax.md").unlink()
    monkeypatch.setattr("bayqa.store.writer.write_segment", full_disk)
    with pytest.raises(OSError, match="No space"):
        build_folder(store, corpus)
    assert store.current_generation() == second and not list((tmp_path / "index").glob("*.partial"))


def test_missing_and_mismatched_index(tmp_path: Path) -> None:
    with pytest.raises(IndexMissing, match="bayqa index"):
        IndexStore(tmp_path / "none").open()
    store = IndexStore(tmp_path / "index")
    build_folder(store, make_corpus(tmp_path / "corpus", DOCS))
    with pytest.raises(IndexMismatch, match="built with model"):
        store.open("some/other-model")


def test_one_writer_at_a_time(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "corpus", DOCS)
    (tmp_path / "index").mkdir()
    with FileLock(str(tmp_path / "index" / LOCK_FILE)):
        with pytest.raises(IndexBusy, match="another process"):
            build_folder(IndexStore(tmp_path / "index"), corpus)


def test_old_generations_are_pruned(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "corpus", DOCS)
    store = IndexStore(tmp_path / "index")
    names = []
    for i in range(4):
        (corpus / "extra.txt").write_text(f"Version {i} of a note.", encoding="utf-8")
        names.append(build_folder(store, corpus).generation)
    assert {p.name for p in (tmp_path / "index").glob("gen-*")} == set(names[-2:]), "the live one and the one before"


def test_pruning_keeps_the_live_generation_and_the_one_before_it(tmp_path: Path) -> None:
    root = tmp_path / "index"
    names = [f"gen-2026010{day}T000000-abcdef" for day in range(1, 5)]
    for name in names:
        (root / name).mkdir(parents=True)
        (root / name / "manifest.json").write_text("{}")
    (root / "CURRENT").write_text(f"{names[2]}\n")
    IndexStore(root).prune()
    assert sorted(p.name for p in root.glob("gen-*")) == names[1:3], "older ones, and a newer one never switched to, go"


def test_rebuild_reason_names_missing_and_old_format(tmp_path: Path) -> None:
    store = IndexStore(tmp_path / "index")
    assert "no index" in store.rebuild_reason()
    corpus = make_corpus(tmp_path / "corpus", DOCS)
    generation = build_folder(store, corpus).generation
    assert store.rebuild_reason() is None
    manifest = tmp_path / "index" / generation / "manifest.json"
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**data, "format": 1}))
    assert "has format 1" in store.rebuild_reason()
    report = build_folder(store, corpus)
    assert report.chunks_embedded == report.chunks_total, "an old-format index is not reused"
    assert any("has format 1" in note for note in report.notes)
    assert store.rebuild_reason() is None


def test_loading_after_an_addition_borrows_the_shared_segment_and_equals_a_full_load(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "corpus", DOCS)
    store = IndexStore(tmp_path / "index")
    build_folder(store, corpus)
    served = store.open()
    for name, text in {"port.txt": "Shenzhen Bay Port opened in 2007 with co-location.",
                       "airport.md": "# Airport\n\nThe third runway opened in 2022. It cost HK$141.5 billion."}.items():
        (corpus / name).write_text(text, encoding="utf-8")
        build_folder(store, corpus)
        borrowed, full = store.open(previous=served), store.open()
        assert borrowed.vectors.parts[0] is served.vectors.parts[0], "the main segment is not read again"
        assert borrowed.chunks == full.chunks and borrowed.documents == full.documents and list(borrowed.documents) == sorted(full.documents)
        assert all(borrowed.document_text(d) == full.document_text(d) for d in full.documents)
        rows = list(range(len(full.chunks)))
        assert np.array_equal(borrowed.vectors_of(rows), full.vectors_of(rows))
        assert np.array_equal(borrowed.sentence_vectors, full.sentence_vectors)
        assert np.array_equal(borrowed.sentence_spans, full.sentence_spans)
        assert np.array_equal(borrowed.sentence_offsets, full.sentence_offsets)
        served = borrowed
    (corpus / "tax.md").unlink()
    build_folder(store, corpus)
    after_removal = store.open(previous=served)
    assert after_removal.vectors.parts[0] is not served.vectors.parts[0] and "tax.md" not in after_removal.documents


def test_a_patch_shares_the_main_segment_and_retires_rows_that_searches_skip(tmp_path: Path) -> None:
    corpus = notes_corpus(tmp_path)
    store = IndexStore(tmp_path / "index")
    build_folder(store, corpus)
    first = store.open()
    (main, _), = first.manifest.segments
    (corpus / "tax.md").write_text("# Tax\n\nThe subsidy covers the gap above a 15 per cent rate.", encoding="utf-8")
    (corpus / "rail.txt").unlink()
    report = build_folder(store, corpus)
    assert report.changed == ("tax.md",) and report.removed == ("rail.txt",) and report.chunks_embedded == 1
    patched = store.open()
    assert [rows for _, rows in patched.manifest.segments] == [10, 1] and patched.manifest.segments[0][0] == main
    assert not list(patched.path.glob("seg-*")) and not list(first.path.glob("seg-*")), "segments live in the shared folder"
    assert (tmp_path / "index" / "segments" / main / "vectors.faiss").is_file(), "named by both generations, stored once"
    retired = json.loads((patched.path / "retired.json").read_text())
    assert retired["documents"] == ["rail.txt", "tax.md"] and len(retired["rows"]) == patched.manifest.retired == 2
    assert not patched.alive[retired["rows"]].any() and patched.alive.sum() == patched.manifest.chunks == 9
    assert patched.keyword.scores(Query.of("Qualifying talents"))[retired["rows"]].max() == 0, "retired rows are blank for BM25"
    assert "rail.txt" not in patched.rows_by_doc and patched.document_text("rail.txt") is None


def test_retiring_past_the_share_compacts_into_one_segment(tmp_path: Path) -> None:
    corpus = notes_corpus(tmp_path)
    store = IndexStore(tmp_path / "index")
    build_folder(store, corpus)
    for name in ("note0.txt", "note1.txt", "note2.txt"):  # 3 of the 10 main rows: past RETIRED_SHARE
        (corpus / name).unlink()
    build_folder(store, corpus)
    index = store.open()
    assert len(index.manifest.segments) == 1 and index.manifest.retired == 0 and index.alive is None
    assert not (tmp_path / "index" / index.generation / "retired.json").exists()
    assert len(index.chunks) == index.manifest.chunks == 7


def test_sentence_vectors_survive_four_bit_storage(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((200, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors[5] = 0.0  # a zero vector (an empty sentence) must not divide by zero
    stored = quantize(vectors)
    assert stored.shape == (200,) and stored["codes"].dtype == np.uint8 and stored["codes"].shape == (200, 192)
    np.save(tmp_path / "s.npy", stored)
    back = dequantize(np.load(tmp_path / "s.npy"), 384)  # plain .npy, no pickle
    assert back.dtype == np.float32 and back.shape == vectors.shape and not back[5].any()
    inside = np.abs(vectors) <= CODE_SPREAD * vectors.std(axis=1, keepdims=True)
    step = stored["step"][:, np.newaxis]
    assert np.all((np.abs(back - vectors) <= step / 2 + 1e-7) | ~inside), "within half a step, unless clipped"
    cosine = (back * vectors).sum(axis=1)[np.arange(200) != 5] / np.linalg.norm(back, axis=1)[np.arange(200) != 5]
    assert cosine.min() > 0.985
    query = vectors[0]
    assert np.allclose(quantized_scores(stored, query), back @ query, atol=1e-5), "scoring without decoding agrees"
    assert np.abs(back @ query - vectors @ query)[1:].max() < 0.03
    joined = np.concatenate([stored[:3], stored[[7, 9]]])  # rows gather and join like any array
    assert np.array_equal(dequantize(joined, 384), back[[0, 1, 2, 7, 9]])
    odd = quantize(vectors[:, :383])
    assert np.allclose(quantized_scores(odd, query[:383]), dequantize(odd, 383) @ query[:383], atol=1e-5)


def test_a_new_reader_re_embeds_only_the_documents_it_reads_differently(tmp_path: Path) -> None:
    from dataclasses import replace

    store = IndexStore(tmp_path / "index")
    docs = documents_of(make_corpus(tmp_path / "corpus", DOCS))
    build(store, docs, FAKE, SETTINGS)
    newer = replace(SETTINGS, reader=SETTINGS.reader + 1)
    same = build(store, docs, FAKE, newer)
    assert same.generation is not None and same.chunks_embedded == 0 and set(same.unchanged) == set(DOCS)
    assert any("readers changed" in note for note in same.notes)
    assert store.live().manifest.chunking["reader"] == newer.reader, "recorded, so the next build is a no-op"
    assert build(store, docs, FAKE, newer).up_to_date

    first = docs[0]
    reread = replace(first, text=first.text.replace("\n\n", "\n\n\n", 1) + " More.", sections=())
    newest = replace(SETTINGS, reader=SETTINGS.reader + 2)
    report = build(store, [reread, *docs[1:]], FAKE, newest)
    assert report.changed == (first.id,) and report.chunks_embedded >= 1, "same bytes, read differently: re-embedded"
    assert set(report.unchanged) == {d.id for d in docs[1:]}


def test_a_new_reader_that_splits_sentences_differently_re_embeds_those_documents(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = IndexStore(tmp_path / "index")
    docs = documents_of(make_corpus(tmp_path / "corpus", DOCS))
    build(store, docs, FAKE, SETTINGS)
    first = docs[0]
    splitter = bayqa.indexing.sentence_spans
    # the same passages, but the first document's sentences end at every space (a changed splitter)
    words = lambda text: [m.span() for m in re.finditer(r"\S+", text)]  # noqa: E731
    monkeypatch.setattr(bayqa.indexing, "sentence_spans", lambda text: words(text) if text in first.text else splitter(text))
    report = build(store, docs, FAKE, dataclasses.replace(SETTINGS, reader=SETTINGS.reader + 1))
    assert report.changed == (first.id,) and report.chunks_embedded >= 1, "same passages, other sentences: re-embedded"
    assert set(report.unchanged) == {d.id for d in docs[1:]}
    loaded = LoadedIndex(store.live().path)
    assert all(len(loaded.sentence_spans_of(row)) > 3 for row in loaded.rows_by_doc[first.id]), "the new sentences are stored"


def test_new_search_terms_recount_bm25_and_embed_nothing(tmp_path: Path) -> None:
    from dataclasses import replace

    store = IndexStore(tmp_path / "index")
    docs = documents_of(make_corpus(tmp_path / "corpus", {**DOCS, "hetao.md": "# 河套\n\n河套深港科技创新合作区面积3.89平方公里。"}))
    build(store, docs, FAKE, replace(SETTINGS, terms=SETTINGS.terms - 1))  # an index counted with the old terms
    report = build(store, docs, FAKE, SETTINGS)
    assert report.generation is not None and report.chunks_embedded == 0
    assert any("search terms changed" in note for note in report.notes)
    loaded = store.open()
    hetao = loaded.rows_by_doc["hetao.md"][0]
    assert loaded.keyword.scores(Query.of("河套深港科技創新合作區的面積"))[hetao] > 0, "a Traditional question finds Simplified text"
    assert build(store, docs, FAKE, SETTINGS).up_to_date
