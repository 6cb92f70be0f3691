"""The question files in eval/: they parse, and the real-documents and bilingual sets keep the shape their README
promises.

No documents are needed: eval/realdocs_questions.jsonl asks about files that are not in the repository, and so does
most of eval/bilingual_questions.jsonl. Where the real documents are at hand (../shared/realdocs beside the
repository, or BAYQA_REALDOCS), the bilingual set's answers are also looked up in the text bayqa reads.
"""

import json
import os
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from bayqa.documents import SUPPORTED_SUFFIXES, read_content
from bayqa.evaluation import read_questions
from bayqa.terms import sentence_spans

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "eval"
REALDOCS = EVAL / "realdocs_questions.jsonl"
BILINGUAL = EVAL / "bilingual_questions.jsonl"
REAL_DOCUMENTS_FOLDER = Path(os.environ.get("BAYQA_REALDOCS", ROOT.parent / "shared" / "realdocs"))
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


@pytest.mark.parametrize("name", sorted(p.name for p in EVAL.glob("*.jsonl")))
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


# The bilingual set runs over one folder (scripts/bilingual_pool): the shipped corpus under corpus/, the real
# documents under realdocs/. These are its Chinese documents; the rest are English.
CHINESE_DOCUMENTS = {"corpus/11_hetao_brief_zh.md", "realdocs/zh/hkcnews_article_18551.md", "realdocs/zh/hkcnews_article_45099.md"}
POOL = {f"corpus/{p.name}" for p in (ROOT / "corpus").iterdir() if p.name != "README.md"} | {f"realdocs/{d}" for d in REAL_DOCUMENTS}


def test_bilingual_set_has_each_group_it_is_measured_by() -> None:
    rows_ = rows(BILINGUAL)
    assert {row["lang"] for row in rows_} == {"en", "zh-Hans", "zh-Hant"}
    answerable = [row for row in rows_ if row["doc"] is not None]
    en_to_zh = [r for r in answerable if r["lang"] == "en" and r["doc"] in CHINESE_DOCUMENTS]
    zh_to_en = [r for r in answerable if r["lang"].startswith("zh") and r["doc"] not in CHINESE_DOCUMENTS]
    assert len(en_to_zh) >= 24 and len(zh_to_en) >= 24
    assert {r["doc"] for r in en_to_zh} == CHINESE_DOCUMENTS  # every Chinese document, not one paragraph
    assert Counter(r["lang"] for r in zh_to_en).keys() == {"zh-Hans", "zh-Hant"}
    cantonese = [r for r in rows_ if r["lang"] == "zh-Hant" and any(w in r["question"] for w in ("幾多", "幾時", "邊個", "邊位"))]
    assert len(cantonese) >= 5
    assert sum(1 for r in rows_ if "twin" in r) >= 40
    unanswerable = [row for row in rows_ if row["doc"] is None]
    chinese_unanswerable = [r for r in unanswerable if r["lang"].startswith("zh")]
    assert len(chinese_unanswerable) >= 10 and sum(1 for r in unanswerable if r["lang"] == "en") >= 5
    assert len({r["trap"] for r in chinese_unanswerable}) >= 4
    assert all(row["kind"] in ("fact", "figure", "date", "paraphrase") for row in answerable)


def test_bilingual_twins_name_each_other_and_differ_only_in_script() -> None:
    by_id = {row["id"]: row for row in rows(BILINGUAL)}
    for row in by_id.values():
        if "twin" not in row:
            continue
        twin = by_id[row["twin"]]
        assert twin["twin"] == row["id"], row
        assert {row["lang"], twin["lang"]} == {"zh-Hans", "zh-Hant"}, row
        assert (row["doc"], row["answer"], row["kind"]) == (twin["doc"], twin["answer"], twin["kind"]), row
        assert row["doc"] in CHINESE_DOCUMENTS and len(row["question"]) == len(twin["question"]), row


def test_bilingual_cross_flags_follow_the_languages_and_chinese_questions_their_script() -> None:
    for row in rows(BILINGUAL):
        wrong = {"zh-Hans": TRADITIONAL_ONLY, "zh-Hant": SIMPLIFIED_ONLY}.get(row["lang"], set())
        assert not wrong & set(row["question"]), row
        if row["doc"] is None:
            assert row["answer"] is None and row["kind"] == "unanswerable" and "where" not in row and "cross" not in row, row
            continue
        assert row["doc"] in POOL and row["where"].strip(), row
        assert "\n" not in row["answer"] and len(row["answer"]) <= 45, row
        assert row.get("cross", False) == (row["lang"].startswith("zh") != (row["doc"] in CHINESE_DOCUMENTS)), row


def _pool_text(doc_id: str) -> str:
    folder, _, rest = doc_id.partition("/")
    path = (ROOT / "corpus" if folder == "corpus" else REAL_DOCUMENTS_FOLDER) / rest
    return read_content(path.read_bytes(), SUPPORTED_SUFFIXES[path.suffix.lower()], doc_id).text


@pytest.mark.skipif(not REAL_DOCUMENTS_FOLDER.is_dir(), reason=f"the real documents are not at {REAL_DOCUMENTS_FOLDER}")
def test_bilingual_answers_stand_in_one_sentence_of_their_document_and_not_in_the_other_language() -> None:
    def normalized(text: str) -> str:
        return " ".join(text.lower().split())

    texts = {doc: _pool_text(doc) for doc in sorted(POOL)}
    sentences = {doc: [normalized(text[a:b]) for a, b in sentence_spans(text)] for doc, text in texts.items()}
    for row in rows(BILINGUAL):
        if row["doc"] is None:
            continue
        answer = normalized(row["answer"])
        assert any(answer in sentence for sentence in sentences[row["doc"]]), row
        # A cross question's answer is in no document of the question's language: a floor only, since the same fact
        # in other words was ruled out by searching those documents for its figures and names (eval/README.md).
        if row.get("cross"):
            same_language = [d for d in texts if (d in CHINESE_DOCUMENTS) == row["lang"].startswith("zh")]
            assert not any(answer in normalized(texts[d]) for d in same_language), row


def test_bilingual_pool_copies_both_folders_without_their_readme_notes(tmp_path: Path) -> None:
    real = tmp_path / "real"
    (real / "zh").mkdir(parents=True)
    (real / "README.md").write_text("notes", encoding="utf-8")
    (real / "zh" / "a.md").write_text("# 甲\n\n正文。\n", encoding="utf-8")
    (real / "en.md").symlink_to(real / "zh" / "a.md")  # a link is copied as the file it points to
    run = subprocess.run(["bash", str(ROOT / "scripts" / "bilingual_pool"), str(tmp_path / "pool"), str(real)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    pool = tmp_path / "pool"
    files = {p.relative_to(pool).as_posix() for p in pool.rglob("*") if p.is_file()}
    assert files == {f"corpus/{p.name}" for p in (ROOT / "corpus").iterdir() if p.name != "README.md"} | {"realdocs/zh/a.md", "realdocs/en.md"}
    assert not any(p.is_symlink() for p in pool.rglob("*"))
    missing = subprocess.run(["bash", str(ROOT / "scripts" / "bilingual_pool"), str(tmp_path / "p2"), str(tmp_path / "none")], capture_output=True, text=True)
    assert missing.returncode == 2 and "no real documents" in missing.stderr
