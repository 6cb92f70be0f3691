"""Segments in the index's shared folder, named by the manifests (bayqa.store.shared): a patch shares the main
segment without a hard link, a segment no generation names is deleted only after the grace period, and a format 9
index (segments hard-linked inside each generation) is served as it is and moved over by the next build, its
multilingual vectors with it. With the fake encoders: fast, and blind to meaning."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import faiss
import numpy as np
import pytest

from bayqa.indexing import build
from bayqa.query import Query
from bayqa.search import Searcher
from bayqa.store import FORMAT_VERSION, IndexMissing, IndexStore, LoadedIndex
from bayqa.store import shared as shared_module
from bayqa.store.manifest import Retired
from bayqa.store.segments import MULTILINGUAL_FILE
from bayqa.store.shared import UNREFERENCED_FILE, collect, referenced, segment_names
from bayqa.store.vectors import exact_index
from bayqa.terms import TERMS_VERSION, is_mostly_chinese
from tests.test_index import DOCS, make_corpus
from tests.test_multilingual import SECOND, stored_rows_match_their_passages
from tests.test_store import FAKE, SETTINGS, build_folder, documents_of

FORMAT_9 = Path(__file__).parent / "fixtures" / "format9"  # written by bayqa 63fdb5e (make_fixture.py there)
QUESTIONS = ("bridge to Macao", "third runway", "河套合作区面积", "Qianhai km²", "Express Rail Link")


def live_segments(store: IndexStore) -> list[str]:
    return [name for name, _ in store.open().manifest.segments]


def add_note(corpus: Path, number: int) -> None:
    (corpus / f"note{number}.txt").write_text(f"Note {number}\n\nFerry sailing {number} leaves at noon.", encoding="utf-8")


def test_generations_name_their_segments_and_an_unnamed_one_waits_out_the_grace_period(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "corpus", DOCS)
    root = tmp_path / "index"
    store = IndexStore(root, grace_seconds=60)
    build_folder(store, corpus)
    (main,) = live_segments(store)
    add_note(corpus, 1)
    build_folder(store, corpus)
    first_tail = live_segments(store)[1]
    add_note(corpus, 2)
    build_folder(store, corpus)  # the generation naming first_tail is now the one before the live one: kept
    assert segment_names(root) == {main, first_tail, live_segments(store)[1]}
    assert not (root / "segments" / UNREFERENCED_FILE).exists()
    add_note(corpus, 3)
    build_folder(store, corpus)  # no generation names first_tail any more
    assert first_tail not in referenced(root) and first_tail in segment_names(root), "kept for the grace period"
    since = json.loads((root / "segments" / UNREFERENCED_FILE).read_text())
    assert list(since) == [first_tail] and abs(since[first_tail] - time.time()) < 30
    assert collect(root, 60, now=time.time() + 30) == [], "still within the grace period"
    assert collect(root, 60, now=since[first_tail] + 60) == [first_tail]
    assert first_tail not in segment_names(root) and json.loads((root / "segments" / UNREFERENCED_FILE).read_text()) == {}
    assert segment_names(root) == referenced(root) and main in segment_names(root), "named segments are never deleted"
    assert len(store.open().chunks) == len(DOCS) + 3


def test_with_no_grace_period_unnamed_segments_go_with_the_generation_that_named_them_last(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "corpus", DOCS)
    root = tmp_path / "index"
    store = IndexStore(root, grace_seconds=0)
    for number in range(4):
        add_note(corpus, number)
        build_folder(store, corpus)
    assert segment_names(root) == referenced(root) and len(segment_names(root)) == 3  # main, and two generations' tails


def test_a_build_that_fails_leaves_no_segment_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = make_corpus(tmp_path / "corpus", DOCS)
    root = tmp_path / "index"
    store = IndexStore(root)
    build_folder(store, corpus)
    before = segment_names(root)

    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    add_note(corpus, 1)
    monkeypatch.setattr("bayqa.store.writer.write_chunk_db", full_disk)  # after the tail's vectors are written
    with pytest.raises(OSError, match="No space"):
        build_folder(store, corpus)
    assert segment_names(root) == before and not list(root.glob("**/*.partial"))


def test_collection_waits_when_a_manifest_cannot_be_read(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "corpus", DOCS)
    root = tmp_path / "index"
    store = IndexStore(root, grace_seconds=0)
    build_folder(store, corpus)
    (root / "segments" / "seg-orphan").mkdir()
    (root / store.current_generation() / "manifest.json").write_text("{half written")
    assert referenced(root) is None and collect(root, 0) == [] and "seg-orphan" in segment_names(root)


def test_a_generation_removed_while_it_is_read_is_not_taken_for_one_without_retired_rows(tmp_path: Path) -> None:
    with pytest.raises(IndexMissing, match="removed while it was being read"):
        Retired.read(tmp_path / "gen-gone")
    (tmp_path / "gen-complete").mkdir()
    (tmp_path / "gen-complete" / "manifest.json").write_text("{}")
    assert Retired.read(tmp_path / "gen-complete") == Retired()


def format_9_copy(tmp_path: Path, terms: int = TERMS_VERSION) -> tuple[IndexStore, Path]:
    """A copy of the format 9 fixture, its manifests naming ``terms`` as the version of the terms it counted: by
    default today's, so that its next build patches it (moving its segments over) rather than counting every passage
    again, which a change of terms asks for."""
    shutil.copytree(FORMAT_9, tmp_path / "index", ignore=shutil.ignore_patterns("corpus", "*.py"))
    for manifest in (tmp_path / "index").glob("gen-*/manifest.json"):
        data = json.loads(manifest.read_text(encoding="utf-8"))
        manifest.write_text(json.dumps({**data, "chunking": {**data["chunking"], "terms": terms}}), encoding="utf-8")
    return IndexStore(tmp_path / "index", grace_seconds=0), shutil.copytree(FORMAT_9 / "corpus", tmp_path / "corpus")


def answers(store: IndexStore) -> list[list[str]]:
    searcher = Searcher(store.open(FAKE.model_id), FAKE)  # type: ignore[arg-type]
    return [[h.chunk.id for h in searcher.search(q, k=3, mode=mode)] for q in QUESTIONS for mode in ("dense", "keyword", "hybrid")]


def test_a_format_9_index_is_served_as_it_is_and_moved_to_the_shared_folder_by_the_next_build(tmp_path: Path) -> None:
    store, corpus = format_9_copy(tmp_path)
    old = store.open(FAKE.model_id)
    assert old.manifest.format == 9 and old.manifest.retired == 1 and len(old.manifest.segments) == 2
    assert "set in 2019" in old.document_text("tax.md") and "toll is not set" in old.document_text("bridge.md")
    assert len(old.documents) == 7
    before = answers(store)
    old_main = old.path / old.manifest.segments[0][0]
    report = build_folder(store, corpus)
    assert report.generation is not None and report.chunks_embedded == 0, "nothing is embedded again"
    upgraded = store.open(FAKE.model_id)
    assert upgraded.manifest.format == FORMAT_VERSION and upgraded.manifest.segments[0] == old.manifest.segments[0]
    assert upgraded.manifest.retired == 1, "a patch: the main segment is kept as it was, with its retired row"
    adopted = tmp_path / "index" / "segments" / old_main.name / "vectors.faiss"
    assert adopted.stat().st_ino == (old_main / "vectors.faiss").stat().st_ino, "linked, not copied"
    assert answers(store) == before
    assert build_folder(store, corpus).generation is None, "then nothing to do"
    add_note(corpus, 1)
    assert build_folder(store, corpus).added == ("note1.txt",)
    assert all(json.loads(m.read_text())["format"] == FORMAT_VERSION for m in (tmp_path / "index").glob("gen-*/manifest.json"))
    assert not list((tmp_path / "index").glob("gen-*/seg-*")), "the format 9 generations are pruned, segments and all"
    assert store.open(FAKE.model_id).manifest.segments[0] == old.manifest.segments[0] and adopted.is_file()


def test_a_format_9_index_counted_with_older_terms_is_recounted_into_one_shared_segment(tmp_path: Path) -> None:
    store, corpus = format_9_copy(tmp_path, terms=TERMS_VERSION - 1)
    old = store.open(FAKE.model_id)
    report = build_folder(store, corpus)
    assert report.chunks_embedded == 0 and any("BM25 is counted again" in note for note in report.notes), report.notes
    upgraded = store.open(FAKE.model_id)
    assert upgraded.manifest.format == FORMAT_VERSION and upgraded.manifest.chunking["terms"] == TERMS_VERSION
    (name, rows), = upgraded.manifest.segments
    assert name not in {n for n, _ in old.manifest.segments}, "a rebuild: one new segment of the rows that count"
    assert (tmp_path / "index" / "segments" / name).is_dir() and rows == upgraded.manifest.chunks == old.manifest.chunks
    assert sorted(upgraded.documents) == sorted(old.documents)


def test_a_format_9_segment_is_copied_where_files_cannot_be_linked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store, corpus = format_9_copy(tmp_path)
    old = store.open(FAKE.model_id)
    before = answers(store)

    def no_links(*args: object) -> None:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(shared_module.os, "link", no_links)
    build_folder(store, corpus)
    monkeypatch.undo()
    main = old.manifest.segments[0][0]
    adopted = tmp_path / "index" / "segments" / main / "vectors.faiss"
    assert adopted.read_bytes() == (old.path / main / "vectors.faiss").read_bytes()
    assert os.stat(adopted).st_ino != os.stat(old.path / main / "vectors.faiss").st_ino
    assert answers(store) == before


def test_a_loaded_generation_keeps_answering_after_its_segments_are_deleted(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "corpus", DOCS)
    store = IndexStore(tmp_path / "index")
    build_folder(store, corpus)
    loaded = store.open()
    expected = loaded.keyword.scores(Query.of("bridge Macao")).tolist()
    shutil.rmtree(tmp_path / "index" / "segments")  # what a collection does once the grace period is over
    assert loaded.keyword.scores(Query.of("bridge Macao")).tolist() == expected
    assert loaded.vectors.search(FAKE.encode(["bridge"]), 2)[1].shape == (1, 2)
    assert loaded.best_sentence_scores(np.array([0, 1]), FAKE.encode_query("bridge")).shape == (2,)
    assert "55 km" in loaded.document_text("bridge.md") and loaded.chunks[0].text


def with_multilingual(root: Path) -> None:
    """Give each generation of a format 9 copy what bayqa wrote in format 9 once it had the multilingual model: each
    segment's second vectors in multilingual.faiss beside vectors.faiss, and the model named in the manifest."""
    for manifest in root.glob("gen-*/manifest.json"):
        passages = LoadedIndex(manifest.parent).chunks
        data = json.loads(manifest.read_text(encoding="utf-8"))
        first = 0
        for name, rows in data["segments"]:
            texts = [passages[row].embedding_text for row in range(first, first + rows)]
            faiss.write_index(exact_index(SECOND.encode(texts)), str(manifest.parent / name / MULTILINGUAL_FILE))
            first += rows
        manifest.write_text(json.dumps({**data, "multilingual": SECOND.model_id}), encoding="utf-8")


def test_a_format_9_index_keeps_its_multilingual_vectors_when_moved_to_the_shared_folder(tmp_path: Path) -> None:
    store, corpus = format_9_copy(tmp_path)
    with_multilingual(tmp_path / "index")
    old = store.open(FAKE.model_id)
    assert old.manifest.format == 9 and old.multilingual is not None and stored_rows_match_their_passages(old)
    report = build(store, documents_of(corpus), FAKE, SETTINGS, multilingual=SECOND)
    assert report.generation is not None and report.chunks_embedded == 0, "nothing is embedded again"
    upgraded = store.open(FAKE.model_id)
    assert upgraded.manifest.format == FORMAT_VERSION and upgraded.manifest.multilingual == SECOND.model_id
    main, rows = old.manifest.segments[0]
    adopted = tmp_path / "index" / "segments" / main / MULTILINGUAL_FILE
    assert adopted.stat().st_ino == (old.path / main / MULTILINGUAL_FILE).stat().st_ino, "moved with the main segment"
    assert np.array_equal(upgraded.multilingual_of(range(rows)), old.multilingual_of(range(rows)))
    assert stored_rows_match_their_passages(upgraded), "the tail's kept rows and the new ones too"


def test_multilingual_vectors_are_mapped_from_the_shared_segment_not_copied(tmp_path: Path) -> None:
    maps = Path("/proc/self/maps")
    if not maps.exists():
        pytest.skip("needs /proc to see the process's mapped files")
    store = IndexStore(tmp_path / "index")
    build(store, documents_of(make_corpus(tmp_path / "corpus", DOCS)), FAKE, SETTINGS, multilingual=SECOND)
    loaded = store.open()
    (name, _), = loaded.manifest.segments
    mapped = maps.read_text()
    assert str(tmp_path / "index" / "segments" / name / MULTILINGUAL_FILE) in mapped
    assert str(tmp_path / "index" / "segments" / name / "vectors.faiss") in mapped
    assert loaded.multilingual is not None and loaded.multilingual.ntotal == len(loaded.chunks)


def test_which_passages_are_chinese_is_recorded_and_else_read_in_one_batch_and_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = IndexStore(tmp_path / "index")
    chinese = {"hetao_zh.txt": "河套\n\n河套深港科技创新合作区总面积约3.89平方公里，由深圳园区和香港园区组成。"}
    build(store, documents_of(make_corpus(tmp_path / "corpus", {**DOCS, **chinese})), FAKE, SETTINGS, multilingual=SECOND)
    searcher = Searcher(store.open(), FAKE, multilingual=SECOND)  # type: ignore[arg-type]
    passages = searcher.index.chunks
    expected = [is_mostly_chinese(chunk.text) for chunk in passages]
    assert any(expected) and not all(expected)
    reads: list[list[int]] = []
    many = passages.many
    monkeypatch.setattr(passages, "many", lambda rows: reads.append(list(rows)) or many(rows))
    rows = np.arange(len(passages))
    assert searcher.index.chinese.tolist() == expected and searcher.chinese_rows(rows).tolist() == expected
    assert reads == [], "the index recorded each passage's language: nothing is read"
    searcher.index.chinese = None  # as in a segment written before the file existed
    assert searcher.chinese_rows(rows[1::2]).tolist() == expected[1::2]
    assert searcher.chinese_rows(rows[::-1]).tolist() == expected[::-1]
    assert reads == [rows[1::2].tolist(), rows[::2].tolist()], "each passage read once, the unknown ones at once"
