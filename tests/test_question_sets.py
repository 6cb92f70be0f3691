"""The question files in eval/: they parse, and the real-documents set keeps the shape its README promises.

No documents are needed: eval/realdocs_questions.jsonl asks about files that are not in the repository.
"""

import json
from collections import Counter
from pathlib import Path

import pytest

from bayqa.evaluation import read_questions

EVAL = Path(__file__).resolve().parent.parent / "eval"
REALDOCS = EVAL / "realdocs_questions.jsonl"
REAL_DOCUMENTS = {
    "pdf/hkpcxhku_reindustrialisation_study_eng.pdf",
    "pdf/green_paper_2022_hwt_eng1_gd_job_city.pdf",
    "en/policy_address_2025_summary.md",
    "zh/hkcnews_article_18551.md",
    "zh/hkcnews_article_45099.md",
}
FIELDS = ("id", "question", "lang", "doc", "answer", "kind")
# Characters written differently in the two scripts (simplified, traditional): a question labelled with one
# script must not hold the other's form, so the per-language figures mean what they say.
SCRIPT_PAIRS = (
    "区區 湾灣 发發 规規 划劃 纲綱 经經 济濟 门門 广廣 东東 会會 时時 间間 机機 场場 国國 与與 为為 对對 学學 "
    "长長 总總 积積 万萬 设設 务務 动動 这這 么麼 几幾 粤粵 横橫 产產 业業 报報 预預 计計 标標 体體 约約 调調 "
    "进進 过過 达達 个個 样樣 构構 统統 筹籌 种種 货貨 员員 双雙 谁誰 担擔 选選 评評 论論 范範 节節 条條 币幣"
).split()
SIMPLIFIED_ONLY = {pair[0] for pair in SCRIPT_PAIRS}
TRADITIONAL_ONLY = {pair[1] for pair in SCRIPT_PAIRS}


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("name", ["gba_questions.jsonl", "realdocs_questions.jsonl"])
def test_question_file_parses_with_unique_ids_and_every_field(name: str) -> None:
    path = EVAL / name
    questions = read_questions(path)
    assert len({q.id for q in questions}) == len(questions)
    for row in rows(path):
        assert set(FIELDS) <= row.keys(), row
        assert (row["doc"] is None) == (row["answer"] is None) == (row["kind"] == "unanswerable"), row


def test_realdocs_set_size_languages_and_unanswerable_kinds() -> None:
    questions = read_questions(REALDOCS)
    assert len(questions) >= 60
    languages = Counter(q.lang for q in questions)
    assert set(languages) == {"en", "zh-Hans", "zh-Hant"}
    assert languages["zh-Hans"] >= 10 and languages["zh-Hant"] >= 10
    unanswerable = [row for row in rows(REALDOCS) if row["doc"] is None]
    assert len(unanswerable) >= 10
    assert len({row["trap"] for row in unanswerable}) >= 4  # absent fact, wrong year, other place, future, off-topic


def test_realdocs_answers_are_located_and_cross_language_questions_are_marked() -> None:
    for row in rows(REALDOCS):
        if row["doc"] is None:
            assert "where" not in row, row
            continue
        assert row["doc"] in REAL_DOCUMENTS, row
        assert row["where"].strip() and row["answer"].strip(), row
        assert "\n" not in row["answer"] and len(row["answer"]) <= 45, row  # a few words, never across a line
        question_is_chinese = row["lang"].startswith("zh")
        document_is_chinese = row["doc"].startswith("zh/")
        assert row.get("cross", False) == (question_is_chinese != document_is_chinese), row


def test_realdocs_chinese_questions_are_written_in_the_script_they_are_labelled_with() -> None:
    for row in rows(REALDOCS):
        wrong = {"zh-Hans": TRADITIONAL_ONLY, "zh-Hant": SIMPLIFIED_ONLY}.get(row["lang"], set())
        assert not wrong & set(row["question"]), row
