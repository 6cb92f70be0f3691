"""`bayqa eval` on small benchmark folders and question files that the tests write."""

import json
from pathlib import Path

import pytest

from bayqa.beir import load_benchmark, read_qrels
from bayqa.config import Settings
from bayqa.embedding import Embedder
from bayqa.evaluation import Question, held_out_flagged, question_scores
from bayqa.service import Service
from bayqa.confidence import Confidence
from bayqa.highlight import Answer
from bayqa.search import Answers, Hit
from bayqa.chunking import Chunk
from tests.test_cli import bayqa

DOCS = {
    "d1": ("Northbound travel", "Hong Kong private cars may drive into Guangdong under the Northbound Travel scheme since 1 July 2023."),
    "d2": ("Qianhai expansion", "In 2021 the Qianhai cooperation zone grew from 14.92 km² to 120.56 km², mostly in Bao'an District."),
    "d3": ("Talent subsidy", "Guangdong refunds individual income tax above the Hong Kong rate to qualifying overseas talents."),
    "d4": ("Hetao", "河套深港科技创新合作区总面积约3.89平方公里，由深圳园区和香港园区组成。"),
    "d5": ("Airport", "Hong Kong International Airport opened its third runway, which cost HK$141.5 billion."),
}
QUERIES = {"q1": "Since when can Hong Kong cars drive north into Guangdong?", "q2": "How big is Qianhai after the expansion?",
           "q3": "河套合作区有多大？", "q9": "A query without judgments"}


def write_benchmark(folder: Path) -> Path:
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": k, "title": t, "text": x, "metadata": {}}, ensure_ascii=False) + "\n" for k, (t, x) in DOCS.items()),
        encoding="utf-8",
    )
    (folder / "queries.jsonl").write_text(
        "".join(json.dumps({"_id": k, "text": t, "metadata": {}}, ensure_ascii=False) + "\n" for k, t in QUERIES.items()), encoding="utf-8"
    )
    (folder / "qrels" / "test.tsv").write_bytes(b"query-id\tcorpus-id\tscore\r\nq1\td1\t1\r\nq2\td2\t1\r\nq3\td4\t1\r\n")
    return folder


def test_benchmark_reader_handles_crlf_and_skips_unjudged_queries(tmp_path: Path) -> None:
    folder = write_benchmark(tmp_path / "tiny")
    assert read_qrels(folder / "qrels" / "test.tsv") == {"q1": {"d1": 1}, "q2": {"d2": 1}, "q3": {"d4": 1}}
    bench = load_benchmark(folder, "test")
    assert set(bench.queries) == {"q1", "q2", "q3"}
    assert [d.id for d in bench.documents] == list(DOCS) and bench.documents[1].title == "Qianhai expansion"


def test_question_scores_count_hits_answers_and_flags() -> None:
    def answers(doc_ids: list[str], answer: str, low: bool) -> Answers:
        hits = []
        for rank, doc in enumerate(doc_ids, start=1):
            chunk = Chunk(f"c{rank}", doc, 0, "t", (), None, 0, 10, "text")
            hits.append(Hit(rank, 1.0 / rank, chunk, Answer(answer, 0, len(answer), 0.5)))
        return Answers("hybrid", hits, Confidence(0.2 if low else 0.9, low))

    answered = [
        (Question("1", "q", "en", "a", "14.92 km²", "figure"), answers(["a", "b"], "It covers 14.92 km².", False)),
        (Question("2", "q", "en", "a", "1 July", "date"), answers(["b", "a"], "Something else", False)),
        (Question("3", "q", "en", "a", "x", "fact"), answers(["b", "c"], "x", True)),
        (Question("4", "q", "en", None, None, "unanswerable"), answers(["b"], "y", True)),
    ]
    scores = question_scores(answered)
    close = {"abs": 1e-3}
    assert scores["hit@1"] == pytest.approx(1 / 3, **close) and scores["hit@5"] == pytest.approx(2 / 3, **close)
    assert scores["mrr"] == pytest.approx((1 + 0.5) / 3, **close)
    assert scores["answer@1"] == pytest.approx(1 / 3, **close) and scores["answer@5"] == pytest.approx(1 / 3, **close)
    assert scores["notfound_recall"] == 1.0 and scores["notfound_precision"] == 0.5
    assert scores["answerable_flagged"] == pytest.approx(1 / 3, **close)


@pytest.mark.integration  # runs the real model
@pytest.mark.slow
def test_eval_command_on_a_beir_folder_and_a_question_file(tmp_path: Path) -> None:
    folder = write_benchmark(tmp_path / "tiny")
    out = tmp_path / "beir.json"
    run = bayqa("eval", str(folder), "--split", "test", "--index", str(tmp_path / "idx"), "--json", str(out))
    assert run.returncode == 0, run.stderr
    assert "ndcg@10" in run.stdout and "hybrid" in run.stdout and "3 queries, 5 documents" in run.stdout
    figures = json.loads(out.read_text())["modes"]
    assert set(figures) == {"hybrid", "dense", "keyword"}
    for mode in figures.values():
        assert 0.0 <= mode["ndcg@10"] <= 1.0 and mode["queries"] == 3
    assert figures["hybrid"]["ndcg@10"] >= 0.9 and figures["hybrid"]["recall@100"] == 1.0
    for mode in figures.values():  # timed against dense retrieval alone, which does strictly less work
        assert mode["ms_p50"] > 0 and mode["ms_over_dense_alone"] < mode["ms_p50"]
    assert "ms_over_dense_alone" in run.stdout

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for key, (title, text) in DOCS.items():
        (corpus / f"{key}.md").write_text(f"# {title}\n\n{text}\n", encoding="utf-8")
    questions = tmp_path / "questions.jsonl"
    questions.write_text(
        json.dumps({"id": "1", "question": "How big is Qianhai after 2021?", "lang": "en", "doc": "d2.md", "answer": "120.56 km²", "kind": "figure"}) + "\n"
        + json.dumps({"id": "2", "question": "Who won the 1998 football World Cup?", "lang": "en", "doc": None, "answer": None, "kind": "unanswerable"}) + "\n"
        + json.dumps({"id": "3", "question": "How much did the third runway of Hong Kong's airport cost?", "lang": "en", "doc": "d5.md", "answer": "HK$141.5 billion", "kind": "figure"}) + "\n",
        encoding="utf-8",
    )
    run = bayqa("eval", str(questions), "--mode", "hybrid", "--corpus", str(corpus), "--index", str(tmp_path / "qidx"), "--json", str(out),
                "--folds", "2")
    assert run.returncode == 0, run.stderr
    written = json.loads(out.read_text())
    figures = written["modes"]
    assert list(figures) == ["hybrid"] and figures["hybrid"]["hit@1"] == 1.0 and figures["hybrid"]["answer@1"] == 1.0
    assert "groups" not in written and "by group" not in run.stdout  # English questions on English documents: no group
    validation = written["cross_validation"]["hybrid"]
    assert [fold["documents"] for fold in validation["folds"]] == [["d2.md"], ["d5.md"]]
    assert validation["pooled"]["questions"] == 3 and "cross-validation by document, 2 folds" in run.stdout
    too_many = bayqa("eval", str(questions), "--mode", "hybrid", "--corpus", str(corpus), "--index", str(tmp_path / "qidx"), "--folds", "3")
    assert too_many.returncode == 2 and "--folds must be between 2 and the number of documents with questions (2)" in too_many.stderr

    missing = bayqa("eval", str(corpus), "--index", str(tmp_path / "idx2"))
    assert missing.returncode == 2 and "bayqa: error:" in missing.stderr and "corpus.jsonl is missing" in missing.stderr


def test_held_out_flags_questions_once_their_document_is_left_out(tmp_path: Path, embedder: Embedder) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for key, (title, text) in DOCS.items():
        (corpus / f"{key}.md").write_text(f"# {title}\n\n{text}\n", encoding="utf-8")
    service = Service(Settings(corpus=corpus, index=tmp_path / "index"), embedder)
    service.build()
    questions = [
        Question("1", "How much did the third runway of Hong Kong's airport cost?", "en", "d5.md", "HK$141.5 billion", "figure"),
        Question("2", "河套合作区有多大？", "zh", "d4.md", "3.89平方公里", "figure"),
    ]
    searcher = service.load()
    assert question_scores([(q, searcher.answer(q.question, k=5)) for q in questions])["answerable_flagged"] == 0.0
    before = sorted(p.name for p in (tmp_path / "index").iterdir())
    assert held_out_flagged(service, questions, ["hybrid", "keyword"]) == {"hybrid": 1.0, "keyword": 1.0}
    assert sorted(p.name for p in (tmp_path / "index").iterdir()) == before  # the service's own index is left alone


def test_held_out_and_folds_are_refused_for_a_beir_folder(tmp_path: Path) -> None:
    folder = write_benchmark(tmp_path / "tiny")
    for flag in (["--held-out"], ["--folds", "3"]):
        run = bayqa("eval", str(folder), *flag)
        assert run.returncode == 2 and "--held-out and --folds are for question files" in run.stderr
