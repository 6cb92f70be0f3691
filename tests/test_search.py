import numpy as np
import pytest

from bayqa.chunking import Chunk
from bayqa.crossing import gloss_of, other_language_terms
from bayqa.highlight import Answer
from bayqa.places import Hit, answer_first, cap_per_document, other_covering_first, other_stating_first, reordered
from bayqa.query import Query
from bayqa.search import DISTINCT, TOP_ROWS_STRIDE, top_rows
from bayqa.service import Service
from bayqa.terms import is_mostly_chinese


def test_arbitration_question_finds_hkiac(shipped_service: Service) -> None:
    hits = shipped_service.search("Which body could settle disputes for the Greater Bay Area and the Belt and Road Initiative?", k=5)
    top = hits[0]
    assert top.chunk.doc_id == "00_shenzhen_hong_kong_twin_city_cooperation.txt"
    assert "Hong Kong International Arbitration Centre" in top.chunk.text


def test_results_are_ranked_and_capped_per_document(shipped_service: Service) -> None:
    everything = shipped_service.search("Qianhai cooperation zone", k=10)
    assert [h.rank for h in everything] == list(range(1, 11))
    # The shipped corpus has a Chinese document: its best passage is lifted to place 2 with its own, lower score
    # (bayqa.fusion.lift_other); the places around it are in score order.
    lifted = [h for h in everything if is_mostly_chinese(h.chunk.text)]
    assert len(lifted) >= 1 and lifted[0].rank <= 2
    assert len({h.chunk.doc_id for h in everything[:DISTINCT]}) == DISTINCT  # the first places go to different documents
    first, rest = ([h for h in part if h is not lifted[0]] for part in (everything[:DISTINCT], everything[DISTINCT:]))
    for ranked in (first, rest):
        assert all(a.score >= b.score for a, b in zip(ranked, ranked[1:]))
    assert min(h.score for h in first) >= max(h.score for h in rest if h.chunk.doc_id not in {f.chunk.doc_id for f in first})
    per_doc: dict[str, int] = {}
    for h in everything:
        per_doc[h.chunk.doc_id] = per_doc.get(h.chunk.doc_id, 0) + 1
    assert max(per_doc.values()) <= shipped_service.settings.max_per_doc


def test_document_filter(shipped_service: Service) -> None:
    hits = shipped_service.search("cross-boundary travel", k=5, doc_ids=frozenset({"07_northern_metropolis.md"}))
    assert hits and {h.chunk.doc_id for h in hits} == {"07_northern_metropolis.md"}


def test_chinese_question_finds_chinese_brief(shipped_service: Service) -> None:
    hits = shipped_service.search("河套合作区的总面积是多少？", k=3)
    assert hits[0].chunk.doc_id == "11_hetao_brief_zh.md"


def test_answer_offsets_point_into_document(shipped_service: Service) -> None:
    for hit in shipped_service.search("How big did the Qianhai zone become in 2021?", k=5):
        text = shipped_service.searcher.index.document_text(hit.chunk.doc_id)
        assert hit.answer is not None and text[hit.answer.start:hit.answer.end] == hit.answer.text
        assert hit.chunk.start <= hit.answer.start < hit.answer.end <= hit.chunk.end


def test_cap_per_document_is_pure() -> None:
    docs = ["a", "a", "a", "b", "b"]  # the document of each row
    ranked = [(0, 0.9), (1, 0.8), (2, 0.7), (3, 0.6), (4, 0.5)]
    assert cap_per_document(ranked, docs.__getitem__, k=3, max_per_doc=1) == [(0, 0.9), (3, 0.6)]


def test_the_first_places_go_to_different_documents_first() -> None:
    # one long document with many close passages ("a"), then two short ones
    doc_of = ["a", "a", "a", "b", "c"].__getitem__
    ranked = [(0, 0.9), (1, 0.8), (2, 0.7), (3, 0.6), (4, 0.5)]
    assert cap_per_document(ranked, doc_of, k=5, max_per_doc=3, distinct=0) == ranked
    assert cap_per_document(ranked, doc_of, k=5, max_per_doc=3, distinct=2) == [(0, 0.9), (3, 0.6), (1, 0.8), (2, 0.7), (4, 0.5)]
    assert cap_per_document(ranked, doc_of, k=5, max_per_doc=3, distinct=3) == [(0, 0.9), (3, 0.6), (4, 0.5), (1, 0.8), (2, 0.7)]
    assert cap_per_document(ranked, doc_of, k=2, max_per_doc=3, distinct=3) == [(0, 0.9), (3, 0.6)]  # the head of the same list
    assert cap_per_document(ranked, doc_of, k=4, max_per_doc=2, distinct=3) == [(0, 0.9), (3, 0.6), (4, 0.5), (1, 0.8)]
    alone = ranked[:3]  # fewer documents than distinct places: the rest follow in order
    assert cap_per_document(alone, doc_of, k=5, max_per_doc=3, distinct=3) == alone


def test_answer_first_reorders_passages_within_their_document_only() -> None:
    def hit(rank: int, doc: str, score: float, answer: float) -> Hit:
        return Hit(rank, score, Chunk(f"{doc}{rank}", doc, rank, "t", (), None, 0, 1, "x"), Answer("x", 0, 1, answer))

    hits = [hit(1, "a", 0.9, 0.2), hit(2, "b", 0.8, 0.9), hit(3, "a", 0.7, 0.6), hit(4, "a", 0.6, 0.3)]
    ordered = answer_first(hits, weight=1.0)
    assert [h.chunk.id for h in ordered] == ["a3", "b2", "a1", "a4"]  # a3 answers best (0.7 + 0.6 > 0.9 + 0.2)
    assert [(h.rank, h.score) for h in ordered] == [(h.rank, h.score) for h in hits]  # places keep rank and score
    assert [h.chunk.id for h in answer_first(hits, weight=0.1)] == ["a1", "b2", "a3", "a4"]
    stating = answer_first(hits, weight=1.0, stating=lambda h: h.chunk.id == "a4")  # only a4's answer has the date asked for
    assert [h.chunk.id for h in stating] == ["a4", "b2", "a3", "a1"]
    # One scoring under half its document's best stays where it was: a date of something else.
    weak = [hit(1, "a", 0.9, 0.2), hit(2, "a", 0.4, 0.3)]
    assert [h.chunk.id for h in answer_first(weak, weight=1.0, stating=lambda h: h.chunk.id == "a2")] == ["a1", "a2"]


def test_a_passage_in_the_other_language_stating_the_date_asked_goes_before_a_first_that_does_not() -> None:
    def hit(rank: int, doc: str) -> Hit:
        return Hit(rank, 1.0 - rank / 10, Chunk(f"{doc}{rank}", doc, rank, "t", (), None, 0, 1, "x"), Answer("x", 0, 1, 0.5))

    hits = [hit(1, "en"), hit(2, "zh"), hit(3, "zh2"), hit(4, "zh3")]
    other = lambda h: h.chunk.doc_id.startswith("zh")  # noqa: E731
    moved = other_stating_first(hits, lambda h: h.chunk.doc_id in {"zh2", "zh3"}, other)  # only their answers have the date
    assert [h.chunk.doc_id for h in moved] == ["zh2", "en", "zh", "zh3"]
    assert [h.rank for h in moved] == [1, 2, 3, 4] and moved[0].score == hits[2].score  # it keeps its own score
    assert other_stating_first(hits, lambda h: True, other) == hits, "the first states it already"
    assert other_stating_first(hits, lambda h: h.chunk.doc_id == "zh3", other) == hits, "beyond the third place"
    assert other_stating_first(hits, lambda h: h.chunk.doc_id == "zh2", lambda h: False) == hits, "not in the other language"
    same_document = [hit(1, "en"), hit(2, "en"), hit(3, "zh")]  # a Chinese line of the first's own English document
    assert other_stating_first(same_document, lambda h: h.rank == 2, lambda h: h.rank > 1) == same_document


def test_a_passage_in_the_other_language_is_read_with_the_question_terms_of_that_language() -> None:
    chinese = Query.of("2021年寄给391间公司的问卷，GreenTech有几间填妥？")
    idf = dict.fromkeys(chinese.terms, 1.0)
    read = other_language_terms(chinese, idf, {"questionnair": 2.0})
    assert set(read) == {"questionnair", "391", "greentech"}  # figures and Latin words read alike; the year is left out
    assert other_language_terms(chinese, idf, {}) == idf  # no dictionary English: its own terms
    english = Query.of("How many firms completed the survey?")
    assert set(other_language_terms(english, dict.fromkeys(english.terms, 1.0), {"问卷": 3.0})) == {*english.terms, "问卷"}


def test_a_passage_in_the_other_language_holding_more_of_the_question_goes_first() -> None:
    def hit(rank: int, doc: str) -> Hit:
        return Hit(rank, 1.0 - rank / 10, Chunk(f"{doc}{rank}", doc, rank, "t", (), None, 0, 1, "x"), Answer("x", 0, 1, 0.5))

    hits = [hit(1, "en"), hit(2, "zh"), hit(3, "zh2")]
    other = lambda h: h.chunk.doc_id.startswith("zh")  # noqa: E731
    shares = {"en": 0.3, "zh": 0.5, "zh2": 0.9}
    moved = other_covering_first(hits, lambda h: shares[h.chunk.doc_id], 0.05, other)
    assert [h.chunk.doc_id for h in moved] == ["zh", "en", "zh2"]  # the first of the other language that holds more
    assert [h.rank for h in moved] == [1, 2, 3] and moved[0].score == hits[1].score
    close = {"en": 0.3, "zh": 0.33, "zh2": 0.1}
    assert other_covering_first(hits, lambda h: close[h.chunk.doc_id], 0.05, other) == hits, "not by the margin"
    assert other_covering_first(hits, lambda h: shares[h.chunk.doc_id], 0.05, lambda h: False) == hits


def test_passages_trade_places_among_those_they_hold() -> None:
    def hit(rank: int, doc: str) -> Hit:
        return Hit(rank, 1.0 - rank / 10, Chunk(f"{doc}{rank}", doc, rank, "t", (), None, 0, 1, "x"), Answer("x", 0, 1, 0.5))

    hits = [hit(1, "zh"), hit(2, "en"), hit(3, "zh2"), hit(4, "en2"), hit(5, "en3")]
    english = lambda h: h.chunk.doc_id.startswith("en")  # noqa: E731
    close = {"en": 0.1, "en2": 0.35, "en3": 0.05}
    moved = reordered(hits, english, lambda h: close[h.chunk.doc_id])
    assert [h.chunk.doc_id for h in moved] == ["zh", "en2", "zh2", "en", "en3"]  # 0.6 + 0.35 > 0.8 + 0.1 > 0.5 + 0.05
    assert [(h.rank, h.score) for h in moved] == [(h.rank, h.score) for h in hits]  # places keep rank and score
    assert reordered(hits, english, lambda h: 0.0) == hits


def test_a_chinese_question_is_glossed_in_english_with_its_figures() -> None:
    gloss = gloss_of(Query.of("绿皮书说2000年时制造业占GDP的比例是多少？"))
    assert {"green", "paper", "manufacturing", "2000", "GDP"} <= set(gloss.split())


def test_fewer_passages_are_the_head_of_the_same_list(shipped_service: Service) -> None:
    for question in ("Who was Governor of Guangdong when the 2017 framework agreement was signed?",
                     "When was the Greater Bay Area income tax subsidy extended to?", "香港科学园深圳分园是什么时候开幕的？"):
        ten = [h.chunk.id for h in shipped_service.search(question, k=10)]
        assert [h.chunk.id for h in shipped_service.search(question, k=1)] == ten[:1]
        assert [h.chunk.id for h in shipped_service.search(question, k=4)] == ten[:4]


@pytest.mark.parametrize("matching", [0, 5, 99, 100, 101, 3_000, 30_000, 100_000])
def test_top_rows_are_the_highest_positive_scores(matching: int) -> None:
    """The sampled bound must never drop a row of the top: checked against a plain sort, with many tied scores (BM25
    of one common term gives whole runs of equal values) and matches bunched at either end of the collection."""
    rng = np.random.default_rng(matching)
    for layout in ("spread", "first", "last"):
        scores = np.zeros(100_000, dtype=np.float32)
        rows = {"spread": rng.choice(100_000, matching, replace=False), "first": np.arange(matching),
                "last": np.arange(100_000 - matching, 100_000)}[layout]
        scores[rows] = rng.choice([0.5, 1.0, 1.5], matching) + np.where(rng.random(matching) < 0.01, rng.random(matching) * 9, 0)
        picked = top_rows(scores, 100)
        assert len(set(picked.tolist())) == len(picked) == min(matching, 100)
        assert (scores[picked] > 0).all()
        expected = np.sort(scores[scores > 0])[::-1][:100]
        assert np.array_equal(np.sort(scores[picked])[::-1], expected), layout


def test_top_rows_falls_back_when_the_sample_sees_too_few_matches() -> None:
    """Fewer than ``wanted`` rows reach the sample's bound: every matching row is searched."""
    scores = np.zeros(10_000, dtype=np.float32)
    scores[::TOP_ROWS_STRIDE] = 5.0  # every sampled row scores high ...
    scores[1::TOP_ROWS_STRIDE] = 1.0  # ... and the rest of the top lies between the samples
    picked = top_rows(scores, 300)
    assert len(picked) == 300 and (scores[picked] == 5.0).sum() == len(scores[::TOP_ROWS_STRIDE])
