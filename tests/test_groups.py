"""The groups a bilingual question set is measured by (bayqa.groups, bayqa.evaluation.group_figures): on constructed
answers, and through `evaluate_questions` on a small index built with the fake encoder (no model)."""

from pathlib import Path

import pytest

from bayqa.chunking import Chunk
from bayqa.confidence import Confidence
from bayqa.config import Settings
from bayqa.evaluation import Question, evaluate_questions, group_figures
from bayqa.groups import format_groups, is_chinese_question, is_chinese_text, question_groups, twin_agreement, twin_pairs
from bayqa.highlight import Answer
from bayqa.search import Answers, Hit
from bayqa.service import Service


def _answers(*passages: tuple[str, str], low: bool = False) -> Answers:
    """Passages (doc id, text) in rank order, each text its own highlighted answer."""
    hits = [
        Hit(rank, 1.0 / rank, Chunk(f"{doc}#{rank}", doc, 0, "t", (), None, 0, len(text), text), Answer(text, 0, len(text), 0.5))
        for rank, (doc, text) in enumerate(passages, start=1)
    ]
    return Answers("hybrid", hits, Confidence(0.2 if low else 0.9, low))


def test_languages_of_questions_and_texts() -> None:
    assert all(is_chinese_question(lang) for lang in ("zh", "zh-Hans", "zh-Hant", "ZH-hant"))
    assert not any(is_chinese_question(lang) for lang in ("en", "", "yue-Latn"))
    assert is_chinese_text("# 河套合作区\n\n总面积约3.89平方公里。订阅：hkcnews.com/aboutus")  # a URL does not make it English
    assert not is_chinese_text("The Hetao zone (河套) covers 3.89 km² on both banks of the Shenzhen River.")
    assert not is_chinese_text("")


def test_questions_fall_into_groups_by_their_lang_and_their_documents_language() -> None:
    questions = [
        Question("a", "How big is Hetao?", "en", "zh.md", "3.89", "figure"),
        Question("b", "港珠澳大橋幾長？", "zh-Hant", "en.md", "55", "figure"),
        Question("c", "河套有多大？", "zh-Hans", "zh.md", "3.89", "figure", twin="d"),
        Question("d", "河套有多大？", "zh-Hant", "zh.md", "3.89", "figure", twin="c"),
        Question("e", "How long is the bridge?", "en", "en.md", "55", "figure"),
        Question("f", "明天下雨吗？", "zh", None, None, "unanswerable"),
        Question("g", "Who won?", "en", None, None, "unanswerable"),
    ]
    groups = question_groups(questions, {"zh.md"})
    assert groups == {"en_to_zh": [0], "zh_to_en": [1], "zh": [1, 2, 3], "zh_unanswerable": [5]}
    assert twin_pairs(questions) == [(2, 3)]
    one_sided = [questions[2], Question("d", "x", "zh-Hant", "zh.md", "3.89", "figure", twin="z")]
    assert twin_pairs(one_sided) == []
    assert twin_agreement(["p1", "p1", "p2", "p3", None, None], [(0, 1), (2, 3), (4, 5)]) == pytest.approx(1 / 3, abs=1e-3)
    assert twin_agreement([], []) == 0.0


def test_group_figures_count_hits_answers_flags_and_twins() -> None:
    answered = [
        (Question("1", "How big is Hetao?", "en", "zh.md", "3.89平方公里", "figure"), _answers(("zh.md", "约3.89平方公里"))),
        (Question("2", "Hetao's river?", "en", "zh.md", "37公里", "figure"), _answers(("en.md", "x"), ("zh.md", "深圳河长约37公里"))),
        (Question("3", "大桥多长？", "zh-Hans", "en.md", "55-kilometre", "figure"), _answers(("zh.md", "y"), low=True)),
        (Question("4", "河套有多大？", "zh-Hans", "zh.md", "3.89", "figure", twin="5"), _answers(("zh.md", "3.89"))),
        (Question("5", "河套有多大？", "zh-Hant", "zh.md", "3.89", "figure", twin="4"), _answers(("zh.md", "3.89"))),
        (Question("6", "明天下雨吗？", "zh-Hans", None, None, "unanswerable"), _answers(("en.md", "z"), low=True)),
        (Question("7", "聽日落唔落雨？", "zh-Hant", None, None, "unanswerable"), _answers(("en.md", "z"))),
    ]
    figures = group_figures(answered, frozenset({"zh.md"}))
    assert figures["en_to_zh_hit@1"] == 0.5 and figures["en_to_zh_hit@5"] == 1.0 and figures["en_to_zh_answer@1"] == 0.5
    assert figures["zh_to_en_hit@5"] == 0.0 and figures["zh_to_en_questions"] == 1
    assert figures["zh_hit@5"] == pytest.approx(2 / 3, abs=1e-3) and figures["zh_questions"] == 3
    assert figures["zh_unanswerable_flagged"] == 0.5 and figures["zh_answerable_flagged"] == pytest.approx(1 / 3, abs=1e-3)
    assert figures["twin_agreement"] == 1.0 and figures["twin_pairs"] == 1
    table = format_groups({"hybrid": figures, "dense": figures})
    assert "en_to_zh_hit@5 (2)" in table and "twin_agreement (1 pairs)" in table and "hybrid" in table.splitlines()[0]
    english_only = [(Question("e", "q", "en", "en.md", "x", "fact"), _answers(("en.md", "x")))]
    assert group_figures(english_only, frozenset({"zh.md"})) == {}  # no group has a question: nothing to print


def test_evaluate_questions_reads_document_languages_from_the_index(tmp_path: Path, fake_encoder) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "zh").mkdir(parents=True)
    (corpus / "en.md").write_text("# Bridge\n\nThe Hong Kong-Zhuhai-Macao Bridge is a 55-kilometre crossing.\n", encoding="utf-8")
    (corpus / "zh" / "hetao.md").write_text("# 河套\n\n河套合作区 总面积 约 3.89平方公里 。\n", encoding="utf-8")
    service = Service(Settings(corpus=corpus, index=tmp_path / "index"), fake_encoder)
    service.build()
    questions = [
        Question("1", "Hong Kong-Zhuhai-Macao Bridge length?", "en", "en.md", "55-kilometre", "figure"),
        Question("2", "河套合作区 总面积", "zh-Hans", "zh/hetao.md", "3.89平方公里", "figure", twin="3"),
        Question("3", "河套合作區 總面積", "zh-Hant", "zh/hetao.md", "3.89平方公里", "figure", twin="2"),
        Question("4", "Hetao total area", "en", "zh/hetao.md", "3.89平方公里", "figure"),
    ]
    evaluated = evaluate_questions(service.load(), questions, ["keyword"], service.settings.max_per_doc)
    assert evaluated.modes["keyword"]["questions"] == 4 and "hit@5" in evaluated.modes["keyword"]
    groups = evaluated.groups["keyword"]
    assert groups["en_to_zh_questions"] == 1 and groups["zh_questions"] == 2 and "zh_to_en_questions" not in groups
    assert groups["zh_hit@5"] == 1.0 and groups["twin_pairs"] == 1
