"""English search terms for Chinese questions from CC-CEDICT (bayqa.translate), and BM25 finding an English passage
with them (fake encoder: keyword search only)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bayqa.indexing import build
from bayqa.query import Query
from bayqa.places import Hit
from bayqa.search import Searcher
from bayqa.store import IndexStore
from bayqa.terms import terms
from bayqa.translate import chinese_terms, english_terms
from tests.conftest import FakeEncoder
from tests.test_index import make_corpus
from tests.test_store import SETTINGS, documents_of


def searcher_of(tmp_path: Path, files: dict[str, str]) -> Searcher:
    """A searcher (fake encoder) over an index of ``files`` built in ``tmp_path``."""
    store = IndexStore(tmp_path / "index")
    build(store, documents_of(make_corpus(tmp_path / "corpus", files)), FakeEncoder(), SETTINGS)
    return Searcher(store.open(), FakeEncoder())  # type: ignore[arg-type]


def hit_in(searcher: Searcher, question: str, doc_id: str, mode: str = "keyword", k: int = 3) -> Hit:
    """The hit of document ``doc_id`` among the ``k`` that ``searcher`` finds for ``question``."""
    return next(h for h in searcher.search(question, k=k, mode=mode) if h.chunk.doc_id == doc_id)


def test_a_chinese_question_gets_the_english_terms_of_its_words_in_either_script() -> None:
    terms = english_terms("香港嘅海岸線有幾多公里長？")
    assert {"coastlin", "kilomet", "hong", "kong"} <= set(terms)
    assert set(english_terms("香港的海岸线有多少公里长？")) == set(terms)


def test_a_word_gives_its_first_two_senses_and_a_name_its_first() -> None:
    found = set(english_terms("企业营收"))
    assert {"compani", "firm", "sale", "incom"} <= found, "企业 company/firm, 营收 sales/income"
    assert "enterpris" not in found and "revenu" not in found, "the third senses are left out"
    assert english_terms("东京湾") == ("tokyo", "bay"), "a name's later senses describe it ('former name of …')"


def test_question_words_descriptions_and_english_give_nothing() -> None:
    assert not {"much", "number", "time"} & set(english_terms("访港旅客有多少？什么时候开始？"))  # 多少, 什么时候 are asked
    assert "enterpris" not in english_terms("香港园区的面积")  # 园区's first sense describes it instead of naming it
    assert english_terms("How long is the coastline?") == ()
    assert Query.of("How long is the coastline?").translated == () and Query.of("海岸线有多长？").translated


def test_bm25_finds_the_english_passage_that_answers_a_chinese_question(tmp_path: Path) -> None:
    searcher = searcher_of(tmp_path, {
        "coast.txt": "Coast\n\nThe coastline of the city is about 1,180 kilometres long.",
        "port.txt": "Port\n\nThe container port handles ships from many countries.",
        "zh.txt": "河套\n\n河套深港科技创新合作区总面积约3.89平方公里。",
    })
    hits = searcher.search("香港的海岸线有多长？", k=3, mode="keyword")
    assert hits and hits[0].chunk.doc_id == "coast.txt"
    untranslated = replace(Query.of("香港的海岸线有多长？"), translated=())
    assert all(h.chunk.doc_id != "coast.txt" for h in searcher.search(untranslated, k=3, mode="keyword"))


def test_an_english_question_gets_the_chinese_words_whose_senses_it_spells() -> None:
    found = chinese_terms(terms("Which coastal data does the plan want?"))
    assert {"沿海", "海岸", "数据"} <= set(found), "coastal: 沿海 海岸 滨海 濒海; data: 数据 材料"
    assert "计划" not in found and "规划" not in found, "'plan' is the sense of 16 words: it tells none apart"
    assert "水源" in chinese_terms(terms("What is the water supply?")), "a run of terms: 'water supply' is 水源, 水务"


def test_bm25_finds_the_chinese_passage_that_answers_an_english_question(tmp_path: Path) -> None:
    files = {
        "coast.txt": "沿海\n\n支持江门银湖湾滨海地区建设国际节能环保产业集聚地。",
        "port.txt": "港口\n\n香港港口每年处理大量货柜。",
        "en.txt": "Port\n\nThe container port handles ships from many countries.",
    }
    searcher = searcher_of(tmp_path, files)
    hits = searcher.search("What should the coastal area become?", k=3, mode="keyword")
    assert hits and hits[0].chunk.doc_id == "coast.txt"
    english_only = searcher_of(tmp_path / "en", {"en.txt": files["en.txt"]})
    assert not english_only.crossing.holds_chinese, "an index without Chinese passages gives English questions no Chinese terms"


def test_the_english_terms_choose_and_mark_the_answer_in_an_english_passage(tmp_path: Path) -> None:
    searcher = searcher_of(tmp_path, {
        "coast.txt": "The container port is busy all year. The coastline of Hong Kong is about 1,180 kilometres long. "
                     "Ships come from many countries.",
        "zh.txt": "河套\n\n河套深港科技创新合作区总面积约3.89平方公里。",
    })
    hit = hit_in(searcher, "香港的海岸线有多长？", "coast.txt")
    assert hit.answer is not None and hit.answer.text == "The coastline of Hong Kong is about 1,180 kilometres long."
    assert {"coastlin", "hong", "kong"} <= {m.term for m in hit.matches}


def test_an_english_question_reads_a_chinese_passage_in_its_dictionary_english(tmp_path: Path) -> None:
    searcher = searcher_of(tmp_path, {
        "zh.txt": "河套深港科技创新合作区横跨深圳河两岸。区内已有多家企业进驻。合作区总面积约3.89平方公里。两个园区隔河相望。",
        "port.txt": "Port\n\nThe container port handles ships from many countries.",
    })
    hit = hit_in(searcher, "How many square kilometres is the area?", "zh.txt", mode="dense")
    assert hit.answer is not None and hit.answer.text == "合作区总面积约3.89平方公里。"
