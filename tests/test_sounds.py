"""Names across languages by their sound (bayqa.sounds): Cantonese and pinyin spellings of Chinese names, read both
ways, and BM25 finding the passage in the other language with them (fake encoder: keyword search only)."""

from __future__ import annotations

from pathlib import Path

from bayqa.names import unmentioned
from bayqa.query import Query
from bayqa.sounds import cantonese, pinyin, spelled_names, written_pairs
from bayqa.terms import terms
from tests.test_translate import hit_in, searcher_of


def held_of(*vocabulary: str):  # noqa: ANN201 - the Held callable bayqa.sounds takes
    """A ``held`` test over a fixed vocabulary of search terms."""
    return lambda wanted: set(wanted) & set(vocabulary)


def test_characters_are_spelt_the_hong_kong_governments_way_and_in_pinyin() -> None:
    for name, spelling in (("將軍澳", "tseung kwan o"), ("屯門", "tuen mun"), ("落馬洲", "lok ma chau"), ("觀塘", "kwun tong"),
                           ("元朗", "yuen long"), ("洪水桥", "hung shui kiu")):
        assert all(s in cantonese(c) for c, s in zip(name, spelling.split())), name
    assert cantonese("东") == cantonese("東") and "tung" in cantonese("东")  # either script
    assert [pinyin(c) for c in "前海"] == [{"qian"}, {"hai"}] and "lu" in pinyin("吕")  # ü written u


def test_a_chinese_name_gets_the_spelling_the_documents_write_in_a_row() -> None:
    written = {("hung", "shui", "kiu")}
    held = held_of("hung", "shui", "kiu", "sui", "qianhai")
    assert spelled_names("洪水桥的工业用地有多大？", held, lambda syllables: syllables in written) == (("洪水桥", ("hung", "shui", "kiu")),)
    # The syllables alone, scattered over the documents, are no name.
    assert spelled_names("洪水桥的工业用地有多大？", held, lambda syllables: False) == ()
    assert spelled_names("前海合作区面积有多大？", held, lambda words: words == ("qianhai",)) == (("前海", ("qianhai",)),)  # pinyin
    assert spelled_names("前海合作区面积有多大？", held, lambda words: False) == ()
    assert spelled_names("前海合作区面积有多大？", held_of("hai"), lambda syllables: True) == ()


def test_a_name_is_no_common_word_and_cuts_no_word() -> None:
    anything = held_of("beibu", "anti", "an", "ti")
    assert spelled_names("北部都会区", anything, lambda words: True) == ()  # 北部 is "northern part"
    assert spelled_names("横琴方案提出", anything, lambda words: True) == ()  # 案提 cuts 方案 and 提出


def test_an_english_name_gets_the_character_pairs_the_documents_hold() -> None:
    held = held_of("洪水", "水桥", "前海", "横琴", "香港")
    assert set(written_pairs("What is planned for Hung Shui Kiu?", held)) == {"洪水", "水桥"}
    assert written_pairs("How large is Hengqin now?", held) == ("横琴",)
    assert written_pairs("Qianhai's area", held) == ("前海",)  # a first word counts when it is no stop word
    # Ordinary words, a single syllable, and pairs the documents do not hold give nothing.
    assert written_pairs("What will the Northern Metropolis bring?", held) == ()
    assert written_pairs("Is Long the name?", held) == ()
    assert written_pairs("Where is Hengqin?", held_of("洪水")) == ()


def test_a_name_is_mentioned_by_its_spelling_in_the_other_language() -> None:
    passages = ["横琴粤澳深度合作区总面积约106平方公里。"]
    assert unmentioned(["Hengqin"], passages, lambda t: True) == ("Hengqin",)
    assert unmentioned(["Hengqin"], passages, lambda t: True, lambda name: ("横琴",)) == ()


FILES = {
    "hsk.txt": "Land\n\nAbout 23 hectares of land at Hung Shui Kiu will go to a park company.",
    "tin.txt": "Sports\n\nThe new stadium at Tin Shui Wai opens next year, with a hung ceiling over the pool.",
    "zh.txt": "前海\n\n前海深港现代服务业合作区总面积由14.92平方公里扩展至120.56平方公里。",
    "port.txt": "Port\n\nThe container port handles ships from many countries.",
}


def test_bm25_crosses_languages_by_a_names_sound(tmp_path: Path) -> None:
    searcher = searcher_of(tmp_path, FILES)
    question = "洪水桥的工业用地有多大？"
    assert searcher.search(question, k=1, mode="keyword")[0].chunk.doc_id == "hsk.txt"
    assert {"hung", "shui", "kiu"} <= {m.term for m in searcher.search(question, k=1, mode="keyword")[0].matches}
    english = "How large will the Qianhai zone become?"
    assert searcher.search(english, k=1, mode="keyword")[0].chunk.doc_id == "zh.txt"
    # Neither question shares a search term with its passage, nor do the dictionary's: the names' sounds found it.
    assert not {*Query.of(question).terms, *Query.of(question).translated} & set(terms(FILES["hsk.txt"]))
    assert not set(Query.of(english).terms) & set(terms(FILES["zh.txt"]))


def test_a_chinese_name_the_documents_spell_flags_passages_that_do_not_mention_it(tmp_path: Path) -> None:
    searcher = searcher_of(tmp_path, {
        **{f"tax{i}.txt": f"Tax {i}\n\nIn city {i}, individual income tax above 15 percent is refunded." for i in range(3)},
        **{f"port{i}.txt": f"Port {i}\n\nPort {i} handles container ships from many countries." for i in range(6)},
        "heng.txt": "Zone\n\nThe Hengqin zone covers about 106 square kilometres.",
    })
    question = "横琴的个人所得税税率是多少？"
    assert "横琴" in searcher.crossing.with_other_language_terms(Query.of(question)).names and "横琴" not in Query.of(question).names
    answer = searcher.answer(question, k=4, mode="keyword")
    # The three best passages are about income tax elsewhere; the one that names Hengqin comes fourth.
    assert [h.chunk.doc_id for h in answer.hits][3] == "heng.txt" and answer.confidence.missing == "name"


def test_a_long_text_is_read_only_so_far() -> None:
    asked: list[tuple[str, ...]] = []
    held = held_of("hung", "shui", "kiu", "sui")
    spelled_names("洪水桥" * 400, held, lambda words: bool(asked.append(words)))
    assert 0 < len(asked) <= 64
    assert spelled_names("的" * 300 + "洪水桥", held, lambda words: True) == ()  # past the first 200 characters


def test_an_english_question_reads_a_chinese_passage_with_its_names_characters(tmp_path: Path) -> None:
    searcher = searcher_of(tmp_path, {
        "zh.txt": "合作区\n\n河套合作区总面积约3.89平方公里。前海合作区总面积由14.92平方公里扩展至120.56平方公里。",
        "port.txt": "Port\n\nThe container port handles ships from many countries.",
    })
    hit = hit_in(searcher, "How large will the Qianhai zone become?", "zh.txt", k=2)
    assert hit.answer is not None and hit.answer.text == "前海合作区总面积由14.92平方公里扩展至120.56平方公里。"
    assert "前海" in {m.term for m in hit.matches}


def test_a_name_is_written_on_one_line(tmp_path: Path) -> None:
    searcher = searcher_of(tmp_path, {
        "survey.txt": "Survey\n\nMost firms plan to extend their production lines to Hong Kong\no By industry: 74% FoodTech\n",
        "town.txt": "Town\n\nTseung Kwan O is a new town in the east.",
    })
    assert searcher.crossing.in_a_row(("tseung", "kwan", "o")) and not searcher.crossing.in_a_row(("kong", "o"))
