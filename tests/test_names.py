"""The names a question asks about (bayqa.names) and the "not found" flag when the best passages mention none of one."""

from __future__ import annotations

from bayqa.names import question_names, unknown_codes, unmentioned
from bayqa.query import Query
from bayqa.service import Service
from bayqa.terms import terms

KNOWN = frozenset(terms("Macao Singapore Hong Kong Belt Road Paper Lo 南沙 东京"))


def known(term: str) -> bool:
    return term in KNOWN


def test_english_names_are_runs_of_capitalised_words() -> None:
    assert question_names("What was Macao's recycling rate in 2019?", False) == ("Macao",)
    assert question_names("How much is the Hong Kong Jockey Club giving to the Belt and Road programme?", False) == (
        "Hong Kong Jockey Club", "Belt and Road")
    assert question_names("How large is the Lingang Special Area of the Shanghai free trade zone?", False) == (
        "Lingang Special Area", "Shanghai")  # one joining word, not "of the"
    # The question's first word, acronyms and words with digits are no names.
    assert question_names("Since 2018, how many GDP figures did the 5G plan give?", False) == ()


def test_chinese_names_are_the_dictionarys_proper_names_in_either_script() -> None:
    assert question_names("南沙有多少家企业？", True) == ("南沙",)
    assert question_names("東京灣區的總人口有多少？", True) == question_names("东京湾区的总人口有多少？", True) == ("东京湾",)
    assert question_names("合作区的总面积是多少？", True) == ()
    assert Query.of("What was Macao's recycling rate?").names == ("Macao",)


def test_a_name_is_mentioned_by_any_of_its_words_in_either_language() -> None:
    passages = ["Hong Kong recycled 29% of its waste in 2019.", "Professor Lo won the prize."]
    assert unmentioned(("Macao", "Dennis Lo"), passages, known) == ("Macao",)
    assert unmentioned(("澳门",), passages, lambda t: True) == ("澳门",)
    assert unmentioned(("香港",), passages, lambda t: True) == ()  # "Hong Kong", by the dictionary's English
    assert unmentioned(("Hong Kong",), ["香港的回收率为百分之二十九。"], known) == ()  # and the other way round
    assert unmentioned(("南沙",), ["南沙的面積約為803平方公里。"], known) == ()  # Traditional text, Simplified name


def test_a_name_the_documents_never_use_is_left_to_the_score() -> None:
    assert unmentioned(("Hongkongers",), ["Hong Kong residents living in Guangdong"], known) == ()
    assert unmentioned(("Lusophone",), ["Portuguese-speaking countries"], lambda t: False) == ()


def test_a_place_the_dictionary_knows_and_the_documents_never_name_is_unmentioned() -> None:
    # 东京湾 "Tokyo Bay", 海南 "Hainan", "Shanghai": proper names in CC-CEDICT, in no form in these documents.
    nowhere = lambda t: False  # noqa: E731
    assert unmentioned(("东京湾",), ["大湾区总面积5.6万平方公里。"], nowhere) == ("东京湾",)
    assert unmentioned(("Shanghai",), ["The Qianhai zone covers 120.56 km²."], nowhere) == ("Shanghai",)
    # Used anywhere, in either language or by sound, it is checked against the passages as before.
    assert unmentioned(("东京湾",), ["大湾区总面积5.6万平方公里。"], lambda t: t in {"tokyo", "bay"}) == ("东京湾",)
    assert unmentioned(("东京湾",), ["Tokyo Bay is larger."], lambda t: t in {"tokyo", "bay"}) == ()


def test_a_question_about_a_place_no_best_passage_mentions_is_flagged(shipped_service: Service) -> None:
    elsewhere = shipped_service.answer("What is the minimum pay for talent in Zhuhai?", k=3).confidence
    assert elsewhere.low and elsewhere.missing == "name"
    here = shipped_service.answer("What is the minimum monthly pay under the Top Talent Pass Scheme in Hong Kong?", k=3).confidence
    assert here.missing != "name"
    # One name of two unmentioned is no longer enough: the question may name a region around its answer.
    half = shipped_service.answer("How many graduates from Zhuhai joined the Greater Bay Area Youth Employment Scheme?", k=3)
    assert half.confidence.missing != "name"


def test_a_code_no_document_holds_is_unknown() -> None:
    held = frozenset(terms("O·PARK1 handles 200 tonnes; the A380 and 5G"))
    question = terms("How many tonnes of food waste will O·PARK3 handle, and when will the A380 and 5G arrive in 2027?")
    assert unknown_codes(question, held.__contains__) == ("park3",)  # not the years, figures or "5g" (a figure first)
    assert unknown_codes(terms("How much does O·PARK1 handle?"), held.__contains__) == ()


def test_a_question_naming_a_code_the_documents_lack_is_flagged(shipped_service: Service) -> None:
    assert shipped_service.answer("When did the LL9999 cross-boundary bus route open?", k=3).confidence.missing == "name"
