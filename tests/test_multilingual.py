"""The second, multilingual embedding: stored beside the other vectors, fused by language, and a real cross-lingual
search (bayqa.embedding.multilingual, bayqa.fusion.row_weights, the store's multilingual vectors)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bayqa.config import Settings
from bayqa.confidence import CROSS_LOW, LOW, cross_confidence
from bayqa.embedding import ModelError, multilingual_model
from bayqa.fusion import CHINESE_WEIGHTS, HYBRID_WEIGHTS, LanguageWeights, convex, lift_other, other_first, row_weights
from bayqa.indexing import build
from bayqa.query import Query
from bayqa.service import Service
from bayqa.store import IndexStore
from bayqa.terms import is_mostly_chinese, terms
from tests.conftest import FakeEncoder
from tests.test_index import make_corpus
from tests.test_store import NOTES, SETTINGS, documents_of


class SecondFake(FakeEncoder):
    """Another fake model (another id and size), standing in for the multilingual one where meaning does not matter."""

    model_id = "fake/second"
    dimension = 8


FAKE, SECOND = FakeEncoder(), SecondFake()


def notes(tmp_path: Path) -> Path:
    return make_corpus(tmp_path / "corpus", {**{f"note{i}.txt": f"Note {i}\n\n{fact}" for i, fact in enumerate(NOTES)},
                                             "zh.txt": "河套\n\n河套深港科技创新合作区总面积约3.89平方公里。"})


def stored_rows_match_their_passages(index) -> bool:
    rows = [r for rows in index.rows_by_doc.values() for r in rows]
    expected = SECOND.encode([index.chunks[r].embedding_text for r in rows])
    return bool(np.allclose(index.multilingual_of(rows), expected, atol=1e-6))


def languages_match_their_passages(index) -> bool:
    """The recorded language of every live row is its passage's (some Chinese, some not)."""
    rows = [r for rows in index.rows_by_doc.values() for r in rows]
    chinese = [is_mostly_chinese(index.chunks[r].text) for r in rows]
    return index.chinese is not None and bool((index.chinese[rows] == chinese).all()) and any(chinese) and not all(chinese)


def test_the_second_vectors_are_stored_row_for_row_through_patches_and_rebuilds(tmp_path: Path) -> None:
    corpus = notes(tmp_path)
    store = IndexStore(tmp_path / "index")
    build(store, documents_of(corpus), FAKE, SETTINGS, multilingual=SECOND)
    first = store.open()
    assert first.manifest.multilingual == "fake/second" and first.multilingual.ntotal == len(first.chunks)
    assert stored_rows_match_their_passages(first) and languages_match_their_passages(first)
    (corpus / "note1.txt").write_text("Note 1\n\nThe airport's third runway opened in 2022.", encoding="utf-8")
    (corpus / "extra.txt").write_text("Extra\n\nLok Ma Chau Loop hosts the Hong Kong park of the Hetao zone.", encoding="utf-8")
    build(store, documents_of(corpus), FAKE, SETTINGS, multilingual=SECOND)
    patched = store.open(previous=first)
    assert len(patched.manifest.segments) == 2, "an update patches: a tail beside the main segment"
    assert stored_rows_match_their_passages(patched) and languages_match_their_passages(patched)
    for name in ("note2.txt", "note3.txt", "note4.txt"):  # past the retired share: everything in one segment again
        (corpus / name).unlink()
    build(store, documents_of(corpus), FAKE, SETTINGS, multilingual=SECOND)
    rebuilt = store.open()
    assert len(rebuilt.manifest.segments) == 1 and stored_rows_match_their_passages(rebuilt) and languages_match_their_passages(rebuilt)


def test_turning_the_second_model_on_embeds_only_its_vectors_and_off_drops_them(tmp_path: Path) -> None:
    corpus = notes(tmp_path)
    store = IndexStore(tmp_path / "index")
    build(store, documents_of(corpus), FAKE, SETTINGS)
    plain = store.open()
    assert plain.multilingual is None and plain.manifest.multilingual == ""

    class Counting(SecondFake):
        texts = 0

        def encode(self, texts, batch_size=32, progress=False):
            Counting.texts += len(texts)
            return super().encode(texts)

    report = build(store, documents_of(corpus), FAKE, SETTINGS, multilingual=Counting())
    assert report.chunks_embedded == 0 and any("multilingual model changed" in n for n in report.notes)
    turned_on = store.open()
    assert Counting.texts == len(turned_on.chunks) and stored_rows_match_their_passages(turned_on)
    rows = list(range(len(plain.chunks)))
    assert np.array_equal(turned_on.vectors_of(rows), plain.vectors_of(rows)), "the English model's vectors are kept"
    assert build(store, documents_of(corpus), FAKE, SETTINGS, multilingual=SECOND).generation is None, "then nothing to do"
    off = build(store, documents_of(corpus), FAKE, SETTINGS)
    assert off.chunks_embedded == 0 and store.open().multilingual is None and store.open().manifest.multilingual == ""


def test_passages_in_the_other_language_are_weighed_by_the_multilingual_cosine_and_bm25_only() -> None:
    weights = LanguageWeights(same_english=0.2, same_chinese=0.4, cross=(0.1, 0.7))
    english = Query.of("How large is the Qianhai zone?")
    rows = row_weights(english, 0.9, np.array([False, True]), weights)
    assert np.allclose(rows[0], [*(w * 0.8 for w in HYBRID_WEIGHTS), 0.2])
    assert np.allclose(rows[1], [0.0, 0.0, 0.1, 0.7])
    chinese = Query.of("前海合作区有多大？")
    rows = row_weights(chinese, 0.9, np.array([True, False]), weights)
    assert np.allclose(rows[0], [*(w * 0.6 for w in CHINESE_WEIGHTS), 0.4]) and np.allclose(rows[1], [0.0, 0.0, 0.1, 0.7])
    # Row weights fuse like one weight a signal, candidate by candidate.
    signals = [np.array([0.1, 0.9]), np.array([0.3, 0.2]), np.array([0.0, 1.0]), np.array([0.8, 0.4])]
    assert np.allclose(convex(signals, rows), [rows[0] @ [0, 1, 0, 1], rows[1] @ [1, 0, 1, 0]])


def test_the_best_passages_in_the_other_language_are_lifted_to_their_places() -> None:
    order = np.array([4, 0, 3, 1, 2])
    other = np.array([False, True, False, True, False])  # candidates 1 and 3 are in the other language
    assert lift_other(order, other, (2,)).tolist() == [4, 3, 0, 1, 2], "the first of them, 3, moves up to place 2"
    assert lift_other(order, other, (3,)).tolist() == order.tolist(), "already there"
    assert lift_other(order, other, ()).tolist() == order.tolist() and lift_other(order, other & False, (1,)).tolist() == order.tolist()
    assert lift_other(order, other, (1,)).tolist() == [3, 4, 0, 1, 2]
    assert lift_other(order, other, (1, 3)).tolist() == [3, 4, 1, 0, 2], "the second, 1, to place 3"
    # A passage in the other language of the first passage's own document (a Chinese reference line in an English
    # report) is not lifted; the next one is.
    doc_of = ["b", "c", "d", "a", "a"].__getitem__
    assert lift_other(order, other, (2,), doc_of).tolist() == [4, 1, 0, 3, 2]
    first_crossed = np.array([1, 4, 0, 3, 2])
    assert lift_other(first_crossed, other, (2,), doc_of).tolist() == first_crossed.tolist(), "the first is one: none lifted"


def test_the_multilingual_models_clear_favourite_in_the_other_language_goes_first() -> None:
    order = np.array([4, 0, 3, 1, 2])
    other = np.array([False, True, False, True, False])
    cosines = np.array([0.30, 0.25, 0.20, 0.45, 0.32])  # candidate 3 (other language) is the model's favourite
    assert other_first(order, other, cosines, 0.07).tolist() == [3, 4, 0, 1, 2]
    assert other_first(order, other, cosines, 0.15).tolist() == order.tolist(), "0.13 above the first: not by enough"
    cosines_same = np.array([0.30, 0.25, 0.50, 0.45, 0.32])  # the favourite, 2, is in the question's language
    assert other_first(order, other, cosines_same, 0.07).tolist() == order.tolist()
    crossed_first = np.array([1, 4, 0, 3, 2])
    assert other_first(crossed_first, other, cosines, 0.07).tolist() == crossed_first.tolist(), "the first is one already"
    doc_of = ["b", "c", "d", "a", "a"].__getitem__  # 3 is from the first's own document: it keeps that document's place
    assert other_first(order, other, cosines, 0.07, doc_of).tolist() == order.tolist()


def test_an_answer_in_the_other_language_is_trusted_by_its_multilingual_cosine() -> None:
    assert cross_confidence(CROSS_LOW).score == pytest.approx(LOW, abs=1e-4) and not cross_confidence(CROSS_LOW).low
    assert cross_confidence(CROSS_LOW - 0.05).low and not cross_confidence(CROSS_LOW + 0.05).low
    assert cross_confidence(0.2).score < cross_confidence(0.4).score


def test_an_unknown_multilingual_model_is_refused_with_the_choices() -> None:
    assert multilingual_model("off") is None
    with pytest.raises(ModelError, match="use-multilingual-v3"):
        multilingual_model("labse")


# -- the real multilingual model

CROSS_DOCS = {
    "qianhai_zh.md": "# 前海方案\n\n前海深港现代服务业合作区总面积由14.92平方公里扩展至120.56平方公里。"
                     "方案提出到2025年建立健全更高层次的开放型经济新体制。",
    "hetao_zh.md": "# 河套合作区\n\n河套深港科技创新合作区总面积约3.89平方公里，其中香港园区约87公顷。",
    "airport.md": "# Airport\n\nThe third runway of Hong Kong International Airport was commissioned in November 2022.",
    "port.md": "# Port\n\nShenzhen Bay Port opened in 2007 with co-location of Hong Kong and mainland checkpoints.",
    "metropolis.md": "# Northern Metropolis\n\nThe Northern Metropolis will house about 2.5 million people in new towns.",
}


@pytest.fixture(scope="module")
def cross_service(tmp_path_factory: pytest.TempPathFactory, embedder) -> Service:
    base = tmp_path_factory.mktemp("cross")
    service = Service(Settings(corpus=make_corpus(base / "corpus", CROSS_DOCS), index=base / "index"), embedder)
    service.update()
    return service


def test_the_index_records_the_multilingual_model(cross_service: Service) -> None:
    index = cross_service.searcher.index
    assert index.manifest.multilingual == "use-multilingual-v3" and index.multilingual.ntotal == len(index.chunks)
    assert cross_service.searcher.multilingual is not None


def test_a_question_finds_the_passage_written_in_the_other_language(cross_service: Service) -> None:
    english = cross_service.answer("How many hectares is the Hong Kong park of the science and technology innovation zone?", k=3)
    assert english.hits[0].chunk.doc_id == "hetao_zh.md" and not english.confidence.low
    assert "87公顷" in english.hits[0].answer.text, "the multilingual model picks the sentence that answers"
    chinese = cross_service.answer("北部都会区将容纳多少人口？", k=3)
    assert chinese.hits[0].chunk.doc_id == "metropolis.md" and "2.5 million" in chinese.hits[0].answer.text
    # A place name the model does not know in both scripts: the passage still reaches the first places.
    named = cross_service.answer("To what size was the Qianhai cooperation zone expanded?", k=3)
    assert "qianhai_zh.md" in [h.chunk.doc_id for h in named.hits[:2]]


def test_without_the_multilingual_model_the_other_language_is_not_found(cross_service: Service, embedder) -> None:
    settings = cross_service.settings.model_copy(update={"multilingual": "off"})
    plain = Service(settings, embedder)
    plain.load()
    assert plain.searcher.multilingual is None, "an index with vectors of a model that is off: the signal is not used"
    # No name in it ("Hong Kong" would reach 香港 by its sound, bayqa.sounds), no word the dictionary gives as the
    # passage's Chinese (bayqa.translate.chinese_terms), no larger share of its words in the passage's dictionary
    # English than in an English passage ("new" is in both), and no figure or measure asked for (an area the Chinese
    # passage states would lead there, bayqa.measures): nothing else leads to the other language.
    hits = plain.answer("What is the city's park in the new zone for?", k=3).hits
    assert hits[0].chunk.doc_id != "hetao_zh.md"
    asking_area = plain.answer("How big is the city's park in the new zone?", k=3).hits
    assert asking_area[0].chunk.doc_id == "hetao_zh.md", "the only passage stating an area goes first"
    # The dictionary alone does: hectares 公顷, science and technology 科技.
    hits = plain.answer("How many hectares is the city's park of the science and technology innovation zone?", k=3).hits
    assert "hetao_zh.md" in [h.chunk.doc_id for h in hits]


def test_a_chinese_passage_holds_an_english_question_s_words_in_its_dictionary_english(cross_service: Service) -> None:
    searcher = cross_service.searcher
    row = searcher.index.rows_by_doc["hetao_zh.md"][0]
    chunk = searcher.index.chunks.many([row])[0]
    idf = dict.fromkeys(terms("How many hectares is the park of the science and technology innovation zone?"), 1.0)
    as_english = searcher._share_held(chunk, row, True, idf)  # the share that places.other_covering_first compares
    assert as_english >= 0.4 and searcher._share_held(chunk, row, False, idf) == 0.0  # hectare, science, technology …


def test_a_flag_is_lifted_by_a_close_passage_in_the_other_language_in_the_lifted_place(cross_service: Service) -> None:
    searcher = cross_service.searcher
    index = searcher.index
    english, chinese = index.rows_by_doc["airport.md"][0], index.rows_by_doc["hetao_zh.md"][0]
    query = Query.of("What is there to know?")
    unsure = (0.0, 0.0)  # signals that flag any question
    close = index.multilingual_of([chinese])[0]  # the lifted passage's own vector: cosine 1
    far = -close
    assert not searcher._trust(unsure, [(english, 1.0), (chinese, 0.5)], query, close).low
    assert searcher._trust(unsure, [(english, 1.0), (chinese, 0.5)], query, far).low
    assert searcher._trust(unsure, [(english, 1.0)], query, close).low, "nothing lifted: the signals decide"
