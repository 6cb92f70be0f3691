"""Measuring retrieval quality through the service's own search path.

Two kinds of test set:
- a BEIR folder (bayqa.beir): every mode ranks the top 100 documents per query (a document's score is
  its best passage's), scored with pytrec_eval: nDCG@10, Recall@100 and MRR@10;
- a question file (JSONL: id, question, lang, doc, answer, kind) over a bayqa corpus, such as
  eval/gba_questions.jsonl: hit@1, hit@5 and MRR of the expected document among the passages as the
  service returns them, how often the highlighted sentence of the top passage (answer@1) or of one of the
  top five (answer@5) contains the expected answer,
  and how well the "not found" flag separates unanswerable questions (``doc`` null) from the rest; with
  ``held_out_flagged``, also how often it flags answerable questions once their own document is left out of
  the index (questions nobody wrote to be unanswerable). For a set that mixes languages and scripts, also figures
  by group of questions (bayqa.groups): cross-lingual hits per direction, Chinese questions' hits and "not found"
  flags, and how often a Simplified question and its Traditional twin put the same passage first.

Both also time each mode per question (``ms_p50``) and say how much that adds to dense retrieval alone
(``ms_over_dense_alone``): the price of fusion, highlighting and the confidence signal.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytrec_eval

from bayqa.beir import Benchmark
from bayqa.documents import DocumentError, load_corpus
from bayqa.groups import GROUP_FIGURES, is_chinese_text, question_groups, twin_agreement, twin_pairs
from bayqa.indexing import build
from bayqa.search import MIN_CANDIDATES, Answers, Searcher
from bayqa.service import Service
from bayqa.store import IndexStore

DEPTH = 100  # documents retrieved per benchmark query
LATENCY_QUESTIONS = 200  # questions timed per mode
BENCHMARK_MEASURES = ("ndcg@10", "recall@100", "mrr@10")
QUESTION_MEASURES = ("hit@1", "hit@5", "mrr", "answer@1", "answer@5", "notfound_precision", "notfound_recall", "answerable_flagged")


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    lang: str
    doc: str | None
    answer: str | None
    kind: str
    twin: str | None = None  # the id of the same question in the other Chinese script


@dataclass(frozen=True)
class QuestionFigures:
    """What ``evaluate_questions`` measured, per mode: the question measures, and the figures by group (empty when
    the set has no question in any group)."""

    modes: dict[str, dict[str, float]]
    groups: dict[str, dict[str, float]]


def read_questions(path: Path) -> list[Question]:
    """The question file; DocumentError names the line that is wrong."""
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            questions.append(Question(str(row["id"]), row["question"], row.get("lang", ""), row.get("doc"), row.get("answer"), row.get("kind", ""),
                                      row.get("twin")))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise DocumentError(f"{path}, line {number}: expected a JSON object with id, question, doc and answer ({exc})") from exc
    if not questions:
        raise DocumentError(f"{path} holds no questions")
    return questions


def evaluate_benchmark(searcher: Searcher, benchmark: Benchmark, modes: Sequence[str]) -> dict[str, dict[str, float]]:
    """Per mode: the three measures averaged over the judged queries, and the seconds it took."""
    results: dict[str, dict[str, float]] = {}
    qrels = {q: {d: int(r) for d, r in judged.items()} for q, judged in benchmark.qrels.items()}
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.100"})
    for mode in modes:
        started = time.perf_counter()
        run = {
            qid: {hit.chunk.doc_id: hit.score for hit in searcher.search(text, k=DEPTH, max_per_doc=1, mode=mode)}
            for qid, text in benchmark.queries.items()
        }
        seconds = time.perf_counter() - started
        per_query = evaluator.evaluate(run)
        results[mode] = {
            "ndcg@10": _mean(m["ndcg_cut_10"] for m in per_query.values()),
            "recall@100": _mean(m["recall_100"] for m in per_query.values()),
            "mrr@10": _mean(_reciprocal_rank(run.get(q, {}), qrels[q], 10) for q in qrels),
            "queries": len(run),
            "seconds": round(seconds, 2),
        }
    return _with_latency(results, searcher, list(benchmark.queries.values()))


def evaluate_questions(searcher: Searcher, questions: Sequence[Question], modes: Sequence[str], max_per_doc: int) -> QuestionFigures:
    """Per mode: the question-set measures, over answerable questions (ranking) or all (not found), and the figures
    by group, a document's language read from its indexed text."""
    expected = {q.doc for q in questions if q.doc is not None}
    chinese = frozenset(d for d in expected if is_chinese_text(searcher.index.document_text(d) or ""))
    results: dict[str, dict[str, float]] = {}
    groups: dict[str, dict[str, float]] = {}
    for mode in modes:
        started = time.perf_counter()
        answered = [(q, searcher.answer(q.question, k=5, max_per_doc=max_per_doc, mode=mode)) for q in questions]
        seconds = time.perf_counter() - started
        results[mode] = {**question_scores(answered), "seconds": round(seconds, 2)}
        if figures := group_figures(answered, chinese):
            groups[mode] = figures
    return QuestionFigures(_with_latency(results, searcher, [q.question for q in questions]), groups)


def group_figures(answered: Sequence[tuple[Question, Answers]], chinese_documents: frozenset[str]) -> dict[str, float]:
    """The figures of bayqa.groups.GROUP_FIGURES for the groups that have questions, each group's size
    (``<group>_questions``), and the twins' agreement on the first passage with the number of pairs."""
    questions = [q for q, _ in answered]
    figures: dict[str, float] = {}
    for group, members in question_groups(questions, chinese_documents).items():
        if members:
            scores = question_scores([answered[i] for i in members])
            figures |= {name: scores[measure] for name, of, measure in GROUP_FIGURES if of == group}
            figures[f"{group}_questions"] = len(members)
    if pairs := twin_pairs(questions):
        firsts = [a.hits[0].chunk.id if a.hits else None for _, a in answered]
        figures |= {"twin_agreement": twin_agreement(firsts, pairs), "twin_pairs": len(pairs)}
    return figures


def held_out_flagged(service: Service, questions: Sequence[Question], modes: Sequence[str]) -> dict[str, float]:
    """Per mode, the share of answerable questions flagged "not found" when their document is left out of the index.

    A second test of the flag, on questions written to be answerable; a lower bound of what it should flag, since
    another document may state the same fact. The indexes are built in a temporary folder, one per document.
    """
    flagged: dict[str, list[bool]] = {mode: [] for mode in modes}
    with _index_without(service) as searcher_without:
        for doc in sorted({q.doc for q in questions if q.doc is not None}):
            searcher = searcher_without(doc)
            for question in (q for q in questions if q.doc == doc):
                for mode in modes:
                    answers = searcher.answer(question.question, k=5, max_per_doc=service.settings.max_per_doc, mode=mode)
                    flagged[mode].append(answers.confidence.low)
    return {mode: _mean(values) for mode, values in flagged.items()}


@contextmanager
def _index_without(service: Service) -> Iterator[Callable[[str], Searcher]]:
    """A function that indexes the service's corpus without one document (in a temporary folder) and searches it."""
    documents = load_corpus(service.settings.corpus).documents
    with tempfile.TemporaryDirectory(prefix="bayqa-held-out-") as folder:
        store = IndexStore(Path(folder), exact_below=service.settings.exact_search_below)

        def searcher_without(doc_id: str) -> Searcher:
            kept = [d for d in documents if d.id != doc_id]
            build(store, kept, service.embedder, service.chunk_settings(), batch_size=service.settings.batch_size,
                  multilingual=service.multilingual)
            return Searcher(store.open(service.embedder.model_id), service.embedder, service.verifier, service.multilingual)

        yield searcher_without


def query_latency(searcher: Searcher, questions: Sequence[str], modes: Sequence[str]) -> dict[str, float]:
    """Median milliseconds per question, 10 passages as the API returns them, for each mode and for
    ``bare``: dense retrieval alone (question embedding and the FAISS lookup, no fusion, highlighting
    or confidence). The modes run in turn on each question, so machine noise touches them alike."""
    questions = list(questions)[:LATENCY_QUESTIONS]
    index = searcher.index
    calls = {"bare": lambda q: index.vectors.search(searcher.embedder.encode_query(q)[np.newaxis, :], MIN_CANDIDATES)}
    calls |= {mode: (lambda q, mode=mode: searcher.answer(q, k=10, mode=mode)) for mode in modes}
    for question in questions[:10]:  # warm-up
        for call in calls.values():
            call(question)
    timings: dict[str, list[float]] = {name: [] for name in calls}
    for question in questions:
        for name, call in calls.items():
            started = time.perf_counter()
            call(question)
            timings[name].append((time.perf_counter() - started) * 1000)
    return {name: float(np.median(values)) for name, values in timings.items()}


def _with_latency(results: dict[str, dict[str, float]], searcher: Searcher, questions: Sequence[str]) -> dict[str, dict[str, float]]:
    latency = query_latency(searcher, questions, list(results))
    return {
        mode: {**figures, "ms_p50": round(latency[mode], 2), "ms_over_dense_alone": round(latency[mode] - latency["bare"], 2)}
        for mode, figures in results.items()
    }


def question_scores(answered: Sequence[tuple[Question, Answers]]) -> dict[str, float]:
    """The question-set measures for questions and what the search answered."""
    answerable = [(q, a) for q, a in answered if q.doc is not None]
    ranks = [_first_rank([h.chunk.doc_id for h in a.hits], q.doc) for q, a in answerable]
    with_answer = [(q, a) for q, a in answerable if q.answer]
    flagged_unanswerable = sum(1 for q, a in answered if q.doc is None and a.confidence.low)
    flagged = sum(1 for _, a in answered if a.confidence.low)
    unanswerable = sum(1 for q, _ in answered if q.doc is None)
    return {
        "hit@1": _mean(r == 1 for r in ranks),
        "hit@5": _mean(r is not None and r <= 5 for r in ranks),
        "mrr": _mean(1.0 / r if r else 0.0 for r in ranks),
        "answer@1": _mean(_answer_shown(q, a, 1) for q, a in with_answer),
        "answer@5": _mean(_answer_shown(q, a, 5) for q, a in with_answer),
        "notfound_precision": flagged_unanswerable / flagged if flagged else 0.0,
        "notfound_recall": flagged_unanswerable / unanswerable if unanswerable else 0.0,
        "answerable_flagged": _mean(a.confidence.low for _, a in answerable),
        "questions": len(answered),
    }


def _answer_shown(question: Question, answers: Answers, depth: int) -> bool:
    """One of the first ``depth`` passages is from the expected document and its highlighted sentence holds the answer."""
    wanted = _normalize(question.answer or "")
    return any(
        hit.chunk.doc_id == question.doc and hit.answer is not None and wanted in _normalize(hit.answer.text)
        for hit in answers.hits[:depth]
    )


def _normalize(text: str) -> str:
    return " ".join(text.lower().split())


def _first_rank(doc_ids: Sequence[str], wanted: str | None) -> int | None:
    return next((i for i, d in enumerate(doc_ids, start=1) if d == wanted), None)


def _reciprocal_rank(scores: dict[str, float], judged: dict[str, int], cutoff: int) -> float:
    ranked = sorted(scores, key=lambda d: (-scores[d], d))[:cutoff]
    return next((1.0 / i for i, d in enumerate(ranked, start=1) if judged.get(d, 0) > 0), 0.0)


def _mean(values) -> float:
    values = [float(v) for v in values]
    return round(sum(values) / len(values), 4) if values else 0.0


def format_table(results: dict[str, dict[str, float]], measures: Sequence[str]) -> str:
    """The modes side by side, one measure a line, then the time each took."""
    modes = list(results)
    lines = [f"{'':<20}" + "".join(f"{m:>10}" for m in modes)]
    for measure in measures:
        lines.append(f"{measure:<20}" + "".join(f"{results[m][measure]:>10.4f}" for m in modes))
    for measure in ("ms_p50", "ms_over_dense_alone", "seconds"):
        lines.append(f"{measure:<20}" + "".join(f"{results[m][measure]:>10.2f}" for m in modes))
    return "\n".join(lines)
