from pathlib import Path

import numpy as np
import pytest

from bayqa.config import Settings
from bayqa.documents import load_corpus
from bayqa.embedding import MIN_COSINE, Embedder
from bayqa.indexing import build, chunk_sentences
from bayqa.store import FORMAT_VERSION, IndexStore
from bayqa.search import MODES, Searcher
from bayqa.service import Service


def make_corpus(root: Path, docs: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in docs.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


DOCS = {
    "bridge.md": "# The bridge\n\nThe Hong Kong–Zhuhai–Macao Bridge opened in October 2018 and is 55 km long.",
    "tax.md": "# Tax\n\nQualifying talents in the bay area pay income tax above 15 per cent only in Hong Kong terms.",
    "rail.txt": "Express Rail\n\nThe Guangzhou–Shenzhen–Hong Kong Express Rail Link opened in September 2018.",
}


class Recording:
    """The real embedder, recording every text it runs the model on."""

    def __init__(self, embedder: Embedder, embedded: list[str]) -> None:
        self.embedder, self.embedded = embedder, embedded
        self.model_id, self.dimension, self.max_tokens = embedder.model_id, embedder.dimension, embedder.max_tokens
        self.count_tokens = embedder.count_tokens

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        self.embedded.extend(texts)
        return self.embedder.encode(texts, batch_size=batch_size)

    def encode_with_spans(self, texts: list[str], spans: list, batch_size: int = 32) -> tuple[np.ndarray, list[np.ndarray]]:
        self.embedded.extend(texts)
        return self.embedder.encode_with_spans(texts, spans, batch_size)


def service_for(tmp_path: Path, embedder: Embedder, docs: dict[str, str] = DOCS) -> Service:
    corpus = make_corpus(tmp_path / "corpus", docs)
    return Service(Settings(corpus=corpus, index=tmp_path / "index"), embedder)


def test_round_trip_on_disk(tmp_path: Path, embedder: Embedder) -> None:
    service = service_for(tmp_path, embedder)
    report = service.build()
    assert sorted(report.added) == sorted(DOCS) and report.chunks_embedded == report.chunks_total == 3
    loaded = IndexStore(tmp_path / "index").open(embedder.model_id)
    assert loaded.manifest.model == embedder.model_id and loaded.manifest.dimension == 384
    assert loaded.manifest.documents == 3 and len(loaded.chunks) == loaded.vectors.ntotal == 3
    assert "55 km" in loaded.document_text("bridge.md")
    service.load()
    assert service.search("How long is the bridge to Macao?", k=1)[0].chunk.doc_id == "bridge.md"


def test_incremental_update_embeds_only_changes(tmp_path: Path, embedder: Embedder) -> None:
    service = service_for(tmp_path, embedder)
    first = service.build()
    assert service.build().up_to_date, "an unchanged corpus re-embeds nothing"
    corpus = service.settings.corpus
    (corpus / "tax.md").write_text("# Tax\n\nThe subsidy covers the gap above a 15 per cent rate.", encoding="utf-8")
    (corpus / "rail.txt").unlink()
    (corpus / "port.txt").write_text("Shenzhen Bay Port opened in 2007 with co-location.", encoding="utf-8")
    report = service.build()
    assert report.added == ("port.txt",) and report.changed == ("tax.md",) and report.removed == ("rail.txt",)
    assert report.unchanged == ("bridge.md",) and report.chunks_embedded == 2
    index = IndexStore(service.settings.index).open()
    assert sorted(index.documents) == ["bridge.md", "port.txt", "tax.md"]
    assert index.documents["bridge.md"].added_at == IndexStore(service.settings.index).open().documents["bridge.md"].added_at
    assert report.generation != first.generation
    # every passage, reused or new, still has its own sentences, at the right offsets and with their vectors
    scratch = Service(Settings(corpus=corpus, index=tmp_path / "scratch"), embedder)
    scratch.build()
    fresh = IndexStore(tmp_path / "scratch").open()
    by_id = {c.id: row for row, c in enumerate(fresh.chunks)}
    for row, chunk in enumerate(index.chunks):
        vectors, spans = index.sentences_of(row)
        want_vectors, want_spans = fresh.sentences_of(by_id[chunk.id])
        assert spans.tolist() == [list(s) for s in chunk_sentences(chunk)] == want_spans.tolist()
        got, want = vectors.astype(np.float32), want_vectors.astype(np.float32)
        # the same text gets the same vector (torch bfloat16, on AMX, pads a batch to its longest: within rounding)
        cosines = np.sum(got * want, axis=1) / np.linalg.norm(got, axis=1) / np.linalg.norm(want, axis=1)
        assert cosines.min() >= MIN_COSINE


def test_an_addition_keeps_every_previous_row_and_appends_the_new_document(tmp_path: Path, embedder: Embedder) -> None:
    service = service_for(tmp_path, embedder)
    service.build()
    before = IndexStore(service.settings.index).open()
    (service.settings.corpus / "port.txt").write_text("Shenzhen Bay Port opened in 2007 with co-location.", encoding="utf-8")
    report = service.build()
    assert report.added == ("port.txt",) and report.chunks_embedded == 1
    after = IndexStore(service.settings.index).open()
    assert [c.id for c in after.chunks[: len(before.chunks)]] == [c.id for c in before.chunks]
    assert after.chunks[-1].doc_id == "port.txt" and after.vectors.ntotal == len(after.chunks) == len(before.chunks) + 1
    assert sorted(after.documents) == sorted([*DOCS, "port.txt"]) and after.document_text("port.txt").startswith("Shenzhen Bay")
    assert after.documents["bridge.md"] == before.documents["bridge.md"]
    service.load()
    assert service.search("When did Shenzhen Bay Port open?", k=1)[0].chunk.doc_id == "port.txt"


NOTES = [
    "Shenzhen Bay Port opened in 2007 with co-location of Hong Kong and mainland checkpoints.",
    "The third runway of Hong Kong International Airport was commissioned in 2022.",
    "Qianhai grew from 14.92 to 120.56 square kilometres in 2021.",
    "The Hetao zone covers about 3.89 square kilometres on both sides of the Shenzhen River.",
    "Northbound Travel for Hong Kong Vehicles started on 1 July 2023.",
    "The Northern Metropolis covers about 300 square kilometres of the northern New Territories.",
    "Macao joined the Greater Bay Area plan as one of its four core cities.",
]


def test_a_change_or_removal_retires_main_rows_and_answers_like_a_fresh_build(tmp_path: Path, embedder: Embedder) -> None:
    docs = {**DOCS, **{f"note{i}.txt": f"Note {i}\n\n{fact}" for i, fact in enumerate(NOTES)}}
    service = service_for(tmp_path, embedder, docs)
    service.build()
    store = IndexStore(service.settings.index)
    served = store.open()
    corpus = service.settings.corpus
    (corpus / "tax.md").write_text("# Tax\n\nThe subsidy covers the gap above a 15 per cent rate.", encoding="utf-8")
    (corpus / "rail.txt").unlink()
    report = service.build()
    assert report.changed == ("tax.md",) and report.removed == ("rail.txt",) and report.chunks_embedded == 1
    patched, full = store.open(previous=served), store.open()
    assert patched.manifest.segments[0] == served.manifest.segments[0] and patched.manifest.retired == 2
    assert patched.vectors.parts[0] is served.vectors.parts[0], "the main segment is kept, not rebuilt"
    assert patched.manifest.chunks == 9 == sum(len(rows) for rows in patched.rows_by_doc.values())
    assert patched.documents == full.documents and "rail.txt" not in patched.documents
    assert patched.document_text("tax.md").endswith("15 per cent rate.") and patched.document_text("rail.txt") is None
    assert report.chunks_total == 9 and service.build().up_to_date, "the removed document is not reported again"

    scratch = Service(Settings(corpus=corpus, index=tmp_path / "scratch"), embedder)
    scratch.build()
    fresh, searcher = scratch.load(), Searcher(patched, embedder)
    for question in ("When did the Express Rail Link open?", "What rate does the tax subsidy cover?", "How long is the bridge?"):
        for mode in MODES:
            got, want = searcher.search(question, k=4, mode=mode), fresh.search(question, k=4, mode=mode)
            assert [h.chunk.id for h in got[:2]] == [h.chunk.id for h in want[:2]]
            assert all(h.chunk.doc_id != "rail.txt" and "Qualifying talents" not in h.chunk.text for h in got)
            if mode == "keyword":  # BM25 statistics leave the retired rows out: the scores of a fresh build
                assert [h.score for h in got] == pytest.approx([h.score for h in want], rel=1e-5)

    (corpus / "tax.md").write_text("# Tax\n\nThe subsidy now covers the gap above a 15 per cent rate.", encoding="utf-8")
    service.build()
    again = store.open()
    # tax.md now lives in the tail: its tail row is replaced there, the main segment retires nothing more
    assert again.manifest.retired == 2 and again.manifest.segments[0] == served.manifest.segments[0]
    assert again.manifest.segments[1][1] == 1 and again.manifest.chunks == 9
    assert [again.chunks[r].text for r in again.rows_by_doc["tax.md"]] == ["The subsidy now covers the gap above a 15 per cent rate."]


def test_a_sentence_in_two_overlapping_passages_is_embedded_once(tmp_path: Path, embedder: Embedder) -> None:
    text = "# Ports\n\n" + " ".join(f"Port {i} opened in {2000 + i}." for i in range(30))
    embedded: list[str] = []
    corpus = make_corpus(tmp_path / "corpus", {"ports.md": text})
    service = Service(Settings(corpus=corpus, index=tmp_path / "index", chunk_tokens=48, chunk_overlap=16), embedder)
    build(IndexStore(tmp_path / "index"), load_corpus(corpus).documents, Recording(embedder, embedded), service.chunk_settings())
    loaded = IndexStore(tmp_path / "index").open()
    assert len(loaded.chunks) > 2
    spans = [tuple(map(int, span)) for row in range(len(loaded.chunks)) for span in loaded.sentences_of(row)[1]]
    assert len(spans) > len(set(spans)), "neighbouring passages share sentences"
    assert len(embedded) == len(set(embedded)) == len(loaded.chunks) + len(set(spans))
    vectors = {}
    for row in range(len(loaded.chunks)):
        for vector, span in zip(*loaded.sentences_of(row)):
            assert np.array_equal(vectors.setdefault(tuple(map(int, span)), vector), vector)


FORMAT_8 = Path(__file__).parent / "fixtures" / "format8"  # written by bayqa 290d0af (make_fixture.py there)


def test_a_format_8_index_is_served_and_then_rewritten_without_embedding(tmp_path: Path, embedder: Embedder) -> None:
    """An index of the previous format (an HNSW main segment with a retired row, and a tail) answers as it is; the
    next build rewrites it in the current format from its own vectors, and answers like a fresh build."""
    import shutil

    shutil.copytree(FORMAT_8, tmp_path / "old", ignore=shutil.ignore_patterns("corpus", "*.py"))
    corpus = shutil.copytree(FORMAT_8 / "corpus", tmp_path / "corpus")
    store = IndexStore(tmp_path / "old")
    old = store.open(model_id=embedder.model_id)
    assert old.manifest.format == 8 and old.manifest.retired == 1 and len(old.manifest.segments) == 2
    assert store.rebuild_reason() is None
    assert old.document_text("bridge.md").startswith("# The bridge\n\nThe bridge to Macao")
    assert old.alive is not None and not old.alive[0] and "Zhuhai" in old.chunks[0].text, "the bridge's first text is retired"
    assert old.best_sentence_scores(np.arange(len(old.chunks)), embedder.encode_query("third runway")).argmax() == 6
    fresh_service = Service(Settings(corpus=corpus, index=tmp_path / "fresh", exact_search_below=2), embedder)
    fresh_service.build()
    fresh = IndexStore(tmp_path / "fresh").open()
    questions = ["How long is the bridge to Macao?", "When did the third runway open?", "河套合作区面积", "Qianhai area in km²"]
    for mode in MODES:
        for question in questions:
            before = Searcher(old, embedder).search(question, k=3, mode=mode)
            after = Searcher(fresh, embedder).search(question, k=3, mode=mode)
            assert [h.chunk.doc_id for h in before][:1] == [h.chunk.doc_id for h in after][:1], (mode, question)
            assert before[0].answer is not None and before[0].answer.text == after[0].answer.text

    report = Service(Settings(corpus=corpus, index=tmp_path / "old", exact_search_below=2), embedder).build()
    assert report.generation is not None and report.chunks_embedded == 0, "nothing changed: the vectors are reused"
    upgraded = store.open()
    assert upgraded.manifest.format == FORMAT_VERSION and upgraded.manifest.retired == 0 and len(upgraded.manifest.segments) == 1
    assert sorted(c.id for c in upgraded.chunks) == sorted(c.id for c in fresh.chunks)
    # The rewrite answers as the index it rewrote, and its best passage is a fresh build's. (Beyond the first place a
    # fresh build may differ: the fixture's vectors are bfloat16, and a CPU with VNNI but not AMX embeds in int8.)
    for question in questions:
        rewritten = [h.chunk.id for h in Searcher(upgraded, embedder).search(question, k=3)]
        assert rewritten == [h.chunk.id for h in Searcher(old, embedder).search(question, k=3)], question
        assert rewritten[0] == Searcher(fresh, embedder).search(question, k=1)[0].chunk.id, question
    assert Service(Settings(corpus=corpus, index=tmp_path / "old"), embedder).build().generation is None, "then nothing to do"


def test_pooled_sentence_vectors_come_from_the_passage_pass(tmp_path: Path, embedder: Embedder) -> None:
    embedded: list[str] = []
    corpus = make_corpus(tmp_path / "corpus", DOCS)
    settings = Settings(corpus=corpus, index=tmp_path / "index", sentence_vectors="pooled")
    store = IndexStore(tmp_path / "index")
    build(store, load_corpus(corpus).documents, Recording(embedder, embedded), Service(settings, embedder).chunk_settings())
    loaded = store.open()
    assert len(embedded) == len(loaded.chunks) == 3  # the passages only: no pass over the sentences
    assert loaded.manifest.chunking["sentence_vectors"] == "pooled"
    assert sum(len(loaded.sentences_of(row)[1]) for row in range(3)) >= 3
    service = Service(settings, embedder)
    service.load()
    answers = service.answer("When did the Express Rail Link open?", k=1)
    assert answers.hits[0].chunk.doc_id == "rail.txt" and "September 2018" in answers.hits[0].answer.text
    # back to separate sentence vectors: the setting is part of the index, so everything is embedded again
    separate = Service(Settings(corpus=corpus, index=tmp_path / "index"), embedder).build()
    assert separate.chunks_embedded == 3 and "sentence vectors changed from pooled to separate: everything is re-embedded" in separate.notes
    assert IndexStore(tmp_path / "index").open().manifest.chunking["sentence_vectors"] == "separate"
