"""Retrieval quality pieces: tokenization, keyword and hybrid search, fusion, highlighting, the not-found flag."""

import numpy as np
import pytest

from bayqa.asking import asks_for, expected_answer
from bayqa.confidence import CHECK_BELOW, CHECK_LOW, Confidence, checked, confidence, needs_check, unstated
from bayqa.embedding import Embedder
from bayqa.fusion import HYBRID_WEIGHTS, convex, hybrid_weights
from bayqa.highlight import best_sentence
from bayqa.keyword import B, K1, KeywordIndex
from bayqa.postings import KeywordSearch, Postings
from bayqa.query import Query
from bayqa.search import MODES
from bayqa.service import Service
from bayqa.statements import counts, states, states_count, terms_of
from bayqa.terms import is_mostly_chinese, sentence_spans, term_spans, terms, without_enumerator


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("RMB 150 billion", ["rmb", "150", "billion"]),
        ("an area of 14.92 km²", ["area", "14.92", "km²"]),
        ("Guohan [2012] No. 58", ["guohan", "2012", "no", "58"]),
        ("plate LL7999, 56,000 square kilometres", ["plate", "ll7999", "56000", "squar", "kilometr"]),
        ("The zones were approved", ["zone", "approv"]),
        ("河套合作区3.89平方公里", ["河套", "套合", "合作", "作区", "3.89", "平方", "方公", "公里"]),
        ("河套的面积是多少？", ["河套", "面积"]),  # particles and question words are the Chinese stopwords
        ("香港园区什么时候开幕的", ["香港", "港园", "园区", "开幕"]),
        # A footnote marker glued to a word is no part of it; codes keep their digits.
        ("some 210 hectares4 of land", ["210", "hectar", "land", "hectares4"]),  # the glued whole too: a gene's "beta1"
        ("the BUD Fund21 and", ["bud", "fund", "fund21"]),
        ("IPv6, Web3, G20, A380 and COVID-19 in 5G", ["ipv6", "web3", "g20", "a380", "covid", "19", "5g"]),
    ],
)
def test_terms_keep_figures_codes_and_chinese(text: str, expected: list[str]) -> None:
    assert terms(text) == expected


def test_term_spans_say_what_each_term_was_made_of() -> None:
    text = "The zones were APPROVED: 56,000 km² for LL7999 in 河套合作区的面积。İzmir"
    spans = term_spans(text)
    assert [term for term, _, _ in spans] == terms(text)
    assert [(term, text[start:end]) for term, start, end in spans] == [
        ("zone", "zones"), ("approv", "APPROVED"), ("56000", "56,000"), ("km²", "km²"), ("ll7999", "LL7999"),
        ("河套", "河套"), ("套合", "套合"), ("合作", "合作"), ("作区", "作区"), ("面积", "面积"),
        ("zmir", "zmir"),  # "İ" lower-cases to two characters, "i" and a combining dot: offsets still point into text
    ]


def test_term_spans_skip_footnote_markers_and_keep_the_glued_whole() -> None:
    text = "some 210 hectares4 of land in the BUD Fund21."
    assert [(term, text[start:end]) for term, start, end in term_spans(text)] == [
        ("210", "210"), ("hectares4", "hectares4"), ("hectar", "hectares"), ("land", "land"), ("bud", "BUD"),
        ("fund21", "Fund21"), ("fund", "Fund"),
    ]
    assert sorted(term for term, _, _ in term_spans(text)) == sorted(terms(text))


def test_sentences_do_not_break_inside_document_numbers() -> None:
    text = "It issued Guohan [2012] No. 58 in 2012. Then came more.\n河套很小。面积3.89平方公里！"
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "It issued Guohan [2012] No. 58 in 2012.", "Then came more.", "河套很小。", "面积3.89平方公里！",
    ]


def test_a_list_enumerator_stays_with_its_item() -> None:
    text = "Four parties signed:\n\n1. He Lifeng, then Director;\n2. Ma Xingrui, then Governor.\nIt ends in 2. Then more."
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "Four parties signed:", "1. He Lifeng, then Director;", "2. Ma Xingrui, then Governor.", "It ends in 2.", "Then more.",
    ]
    assert without_enumerator("5. **Effect:** the bridge") == "**Effect:** the bridge"
    assert without_enumerator("2018. A year") == "2018. A year"
    assert without_enumerator("2.9 Challenges for Switzerland") == "Challenges for Switzerland"  # a section number
    assert without_enumerator("2.9 million people live there") == "2.9 million people live there"  # a figure
    assert not states("figure", "2.9 Challenges for Switzerland", frozenset())
    assert states("figure", "2.9 million people live there", frozenset())
    for sentence in ("5. **Effect:** the bridge opened", "2018. A year", "(iv) Item four", "b) 3 bridges", "3.1.2 Land supply"):
        assert terms_of(sentence) == frozenset(terms(without_enumerator(sentence)))


def test_keyword_index_scores_round_trip(tmp_path) -> None:
    index = KeywordIndex.build(["Qianhai covers 14.92 km²", "河套合作区面积3.89平方公里", "Talent tax subsidy"])
    index.save(tmp_path / "kw")
    loaded = KeywordIndex.load(tmp_path / "kw", 3)
    assert int(np.argmax(loaded.scores(Query.of("14.92 km²")))) == 0
    assert int(np.argmax(loaded.scores(Query.of("河套的面积是多少")))) == 1
    assert not loaded.scores(Query.of("zebra crossing")).any()
    assert loaded.idf("zebra") > loaded.idf("tax") > 0


KEYWORD_TEXTS = [
    "Qianhai covers 14.92 km² after the expansion of the Qianhai zone",
    "The Hong Kong-Zhuhai-Macao Bridge opened to traffic in October 2018",
    "Talent tax subsidy for Hong Kong talents working in the bay area",
    "河套合作区面积3.89平方公里，河套位于深圳河",
    "Northbound Travel lets Hong Kong cars drive into Guangdong",
]


def test_keyword_scores_are_lucene_bm25_as_bm25s_computes_it() -> None:
    import bm25s

    reference = bm25s.BM25(k1=K1, b=B, method="lucene")
    reference.index([terms(t) for t in KEYWORD_TEXTS], show_progress=False)
    ours = KeywordIndex.build(KEYWORD_TEXTS)
    for question in ("Hong Kong bridge traffic", "Qianhai Qianhai area", "河套的面积", "tax for talents in Hong Kong"):
        wanted = [t for t in (*terms(question), *Query.of(question).translated) if t in reference.vocab_dict]  # with its English terms
        np.testing.assert_allclose(ours.scores(Query.of(question)), reference.get_scores(wanted), rtol=1e-5, atol=1e-6)


def test_keyword_index_extended_equals_one_built_from_scratch() -> None:
    first = KeywordIndex.build(KEYWORD_TEXTS[:3])
    # keep rows 2 and 0 (in that order), drop row 1, add two new passages with new terms
    updated = first.extended([2, 0], KEYWORD_TEXTS[3:])
    scratch = KeywordIndex.build([KEYWORD_TEXTS[2], KEYWORD_TEXTS[0], *KEYWORD_TEXTS[3:]])
    assert updated.size == scratch.size == 4
    for question in ("Hong Kong talents", "Qianhai zone", "河套面积", "bridge"):
        np.testing.assert_allclose(updated.scores(Query.of(question)), scratch.scores(Query.of(question)), rtol=1e-6)
        assert updated.idf(terms(question)[0]) == pytest.approx(scratch.idf(terms(question)[0]))
    assert not updated.scores(Query.of("bridge")).any(), "a dropped passage's terms no longer score"


def test_segments_keyword_counts_joined_equal_one_index_of_all_passages() -> None:
    """Each segment counts its passages with its own columns; joined, they score like one index of them all."""
    parts = [KeywordIndex.build(KEYWORD_TEXTS[:2]), KeywordIndex.build(KEYWORD_TEXTS[2:4]), KeywordIndex.build(KEYWORD_TEXTS[4:])]
    joined = KeywordIndex.joined(parts)
    whole = KeywordIndex.build(KEYWORD_TEXTS)
    assert joined.size == whole.size and set(joined.vocab) == set(whole.vocab)
    assert all(joined.vocab[t] == c for t, c in parts[0].vocab.items()), "the first segment keeps its columns"
    for question in ("Hong Kong talents", "Qianhai zone", "河套面积", "bridge traffic"):
        np.testing.assert_allclose(joined.scores(Query.of(question)), whole.scores(Query.of(question)), rtol=1e-6)
    assert KeywordIndex.joined(parts[:1]) is parts[0]
    assert parts[0].counts.shape == (2, len(parts[0].vocab)), "the parts are left as they were"


def test_segment_postings_with_retired_rows_score_like_bm25s_over_the_passages_that_count(tmp_path) -> None:
    """What a server searches: each segment's postings mapped from its files, numbered across segments, retired rows
    left out of the scores and of the statistics."""
    import bm25s

    for number, texts in enumerate((KEYWORD_TEXTS[:3], KEYWORD_TEXTS[3:])):
        KeywordIndex.build(texts).save(tmp_path / str(number))
    search = KeywordSearch([Postings.load(tmp_path / "0", 3), Postings.load(tmp_path / "1", 2)], retired=[1])
    assert isinstance(search.parts[0].rows.base, np.memmap), "mapped, not read"
    alive = [0, 2, 3, 4]
    reference = bm25s.BM25(k1=K1, b=B, method="lucene")
    reference.index([terms(KEYWORD_TEXTS[row]) for row in alive], show_progress=False)
    for question in ("Hong Kong bridge traffic", "Qianhai Qianhai area", "河套的面积", "tax for talents in Hong Kong"):
        wanted = [t for t in (*terms(question), *Query.of(question).translated) if t in reference.vocab_dict]  # with its English terms
        scores = search.scores(Query.of(question))
        assert scores[1] == 0, "a retired passage never scores"
        np.testing.assert_allclose(scores[alive], reference.get_scores(wanted), rtol=1e-5, atol=1e-6)
    assert search.query_terms(Query.of("bridge traffic")) == [], "terms of retired passages alone are in none"
    assert search.found_in(1, terms("bridge")) == set() and search.found_in(4, terms("Guangdong cars")) == set(terms("Guangdong cars"))


@pytest.mark.parametrize("mode", ["keyword", "hybrid"])
def test_figures_and_codes_are_found(shipped_service: Service, mode: str) -> None:
    hits = shipped_service.search("Guohan [2012] No. 58", k=3, mode=mode)
    assert hits[0].chunk.doc_id == "05_qianhai_cooperation_zone.md" and "No. 58" in hits[0].chunk.text
    hits = shipped_service.search("LL7999", k=3, mode=mode)
    assert "LL7999" in hits[0].chunk.text


@pytest.mark.parametrize("mode", ["keyword", "hybrid", "dense"])
def test_chinese_question_finds_chinese_passage(shipped_service: Service, mode: str) -> None:
    hits = shipped_service.search("香港园区的面积是多少公顷？", k=3, mode=mode)
    assert hits[0].chunk.doc_id == "11_hetao_brief_zh.md"


def test_modes_differ_and_unknown_mode_is_refused(shipped_service: Service) -> None:
    question = "How much rent does Hong Kong pay for its port area at Shenzhen Bay?"
    ranked = {m: [h.chunk.id for h in shipped_service.search(question, k=10, mode=m)] for m in ("dense", "keyword", "hybrid")}
    assert ranked["dense"] != ranked["keyword"]
    with pytest.raises(ValueError, match="unknown mode"):
        shipped_service.search(question, mode="fuzzy")


def test_matches_are_the_passage_terms_that_bm25_counted(shipped_service: Service) -> None:
    index = shipped_service.searcher.index
    rows = {c.id: row for row, c in enumerate(index.chunks)}
    for question in ("When did the Hong Kong-Zhuhai-Macao Bridge open?", "How many talents did Qianhai approve?",
                     "Guohan [2012] No. 58", "河套合作区的总面积是多少？"):
        query = shipped_service.searcher.crossing.with_other_language_terms(Query.of(question))  # the terms the search counted
        for mode in MODES:
            hits = shipped_service.search(question, k=10, mode=mode)
            assert any(hit.matches for hit in hits)
            for hit in hits:
                chunk = hit.chunk
                # A passage in the other language is marked with the question's terms in that language: a Chinese
                # question's dictionary English (bayqa.translate), an English one's own and its names' characters.
                crossed = query.chinese != is_mostly_chinese(chunk.text)
                asked = (query.translated if query.chinese else (*query.terms, *query.translated)) if crossed else query.terms
                passage = [(t, chunk.start + s, chunk.start + e) for t, s, e in term_spans(chunk.text) if t in asked]
                assert [tuple(m) for m in hit.matches] == passage
                assert {m.term for m in hit.matches} <= index.keyword.found_in(rows[chunk.id], asked)


def test_convex_fusion_rewards_agreement() -> None:
    dense = np.array([0.80, 0.79, 0.50, 0.60])
    keyword = np.array([0.0, 9.0, 10.0, 1.0])
    fused = convex((dense, keyword), (0.5, 0.5))
    assert int(np.argmax(fused)) == 1  # near the top of both lists beats the top of one
    assert fused.min() >= 0 and fused.max() <= 1
    assert not convex((np.ones(3), np.ones(3)), (0.5, 0.5)).any()  # no spread, no preference
    assert list(np.argsort(-convex((dense, keyword), (1.0, 0.0)))) == list(np.argsort(-dense))
    with pytest.raises(ValueError):
        convex((dense, keyword), (1.0,))


def test_best_sentence_scores_take_each_chunks_closest_sentence(shipped_service: Service, embedder: Embedder) -> None:
    index = shipped_service.searcher.index
    query = embedder.encode_query("When did the Hong Kong-Zhuhai-Macao Bridge open to traffic?")
    rows = np.array([5, 0, len(index.chunks) - 1, 5])
    got = index.best_sentence_scores(rows, query)
    each = index.sentence_scores(rows, query)
    assert len(each) == len(rows) and index.sentence_scores(rows[:0], query) == []
    for row, score, cosines in zip(rows.tolist(), got.tolist(), each):
        vectors, spans = index.sentences_of(row)
        assert len(cosines) == len(spans) > 0
        assert np.allclose(cosines, vectors @ query, atol=1e-6)
        assert score == pytest.approx(float(cosines.max()), abs=1e-6)


def test_highlight_picks_the_answering_sentence(embedder: Embedder) -> None:
    passage = (
        "Qianhai is a district of Shenzhen facing Hong Kong. The zone has a long history of reform. "
        "After the 2021 expansion the zone covers 120.56 km². Companies register there for tax reasons. Key dates:\n"
        "- 26 August 2010: plan approved"
    )
    spans = np.array([(100 + s, 100 + e) for s, e in sentence_spans(passage)])
    vectors = embedder.encode([passage[s - 100:e - 100] for s, e in spans])

    def cosines(question: str) -> np.ndarray:
        return vectors @ embedder.encode_query(question)

    question = "How large is the Qianhai zone after it was enlarged?"
    answer = best_sentence(cosines(question), dict.fromkeys(terms(question), 1.0), asks_for(question), spans, passage, 100)
    assert answer is not None and answer.text == "After the 2021 expansion the zone covers 120.56 km²."
    assert passage[answer.start - 100:answer.end - 100] == answer.text
    question = "Which key dates matter?"
    answer = best_sentence(cosines(question), dict.fromkeys(terms(question), 1.0), asks_for(question), spans, passage, 100)
    assert answer is not None and answer.text == "- 26 August 2010: plan approved"  # a colon points to the list after it
    assert best_sentence(cosines(question)[:0], {}, None, spans[:0], passage, 100) is None


def _by_terms(passage: str, question: str, idf: dict[str, float] | None = None) -> str:
    """The sentence chosen on terms alone (every cosine 0: no semantic signal)."""
    spans = np.array(sentence_spans(passage))
    idf = idf or dict.fromkeys(terms(question), 1.0)
    answer = best_sentence(np.zeros(len(spans), dtype=np.float32), idf, asks_for(question), spans, passage, 0)
    assert answer is not None and passage[answer.start:answer.end] == answer.text
    return answer.text


def test_a_colon_shows_the_best_list_item_or_the_next_sentence() -> None:
    passage = (
        "Four parties signed the framework agreement:\n1. He Lifeng, then Director of the NDRC;\n"
        "2. Ma Xingrui, then Governor of Guangdong;\n3. Carrie Lam, then Chief Executive.\nIt was signed in Hong Kong."
    )
    question = "Who was governor when the framework agreement was signed?"
    idf = {"governor": 3.0, "sign": 2.0, "framework": 2.0, "agreement": 2.0}
    assert _by_terms(passage, question, idf) == "2. Ma Xingrui, then Governor of Guangdong;"
    assert _by_terms("The rule is simple:\nEvery permit lasts five years. Fees vary.", "What is the rule?") == (
        "The rule is simple:\nEvery permit lasts five years."
    )


def _answer(passage: str, question: str, cosines: list[float] | None = None) -> str:
    """The answer chosen for a question analysed as a search does, every question term weighing the same (and every
    cosine 0 unless given)."""
    spans = np.array(sentence_spans(passage))
    query = Query.of(question)
    found = np.zeros(len(spans), dtype=np.float32) if cosines is None else np.array(cosines, dtype=np.float32)
    named = [frozenset(terms(name)) for name in (*query.names, *sorted(query.years))]
    answer = best_sentence(found, dict.fromkeys(query.terms, 1.0), query.answer_kind, spans, passage, 0, query.parts, named=named,
                           counted=query.counted, why=query.why, measure=query.measure)
    assert answer is not None and passage[answer.start:answer.end] == answer.text  # the offsets cover the whole span
    return answer.text


def test_a_question_of_two_parts_gets_the_sentence_each_part_needs() -> None:
    used = "The scheme was first used on 1 July 2023 by private cars."
    raised = "The quota was raised to 100 vehicles a day on 1 November 2023."
    passage = f"Northbound Travel began as a pilot. {used} {raised} Applications are made online."
    assert _answer(passage, "When was the scheme first used, and when was the quota raised?") == f"{used} {raised}"
    assert _answer(passage, "When was the scheme first used?") == used  # one part: the sentence that answers it
    linked = "Three pairs of cities are linked by the new lines."
    strongest = "The Shenzhen–Hong Kong link is the strongest."
    passage = f"{linked} Trains run every hour. {strongest} Fares are set each year."
    assert _answer(passage, "Which pairs of cities are linked, and which link is strongest?") == (
        f"{linked} Trains run every hour. {strongest}"  # up to three consecutive sentences
    )
    far = f"{linked} Trains run every hour. Most run at night. {strongest}"
    assert _answer(far, "Which pairs of cities are linked, and which link is strongest?") == linked  # out of reach


def test_an_answer_runs_on_into_the_next_sentence_that_states_what_is_asked() -> None:
    about = "The crossing pass lets residents drive their own cars over the bridge."
    passage = f"{about} The pass is priced at HK$500 a year. Other passes exist."
    close = [0.9, 0.3, 0.1]  # the first sentence is closest to the question but states no figure
    assert _answer(passage, "How much is the crossing pass?", close) == f"{about} The pass is priced at HK$500 a year."
    assert _answer(passage, "Who can use the crossing pass?", close) == about  # nothing asked that it lacks
    unrelated = f"{about} Parking costs HK$20 an hour."
    assert _answer(unrelated, "How much is the crossing pass?", close[:2]) == about  # no term of the question
    items = "- The crossing pass lets residents drive their own cars over the bridge.\n- Pass holders paid HK$500 in 2024."
    assert _answer(items, "How much is the crossing pass?", close[:2]) == items.split("\n")[0]  # another item


def test_an_answer_reads_on_into_a_next_sentence_with_the_question_terms_it_lacks() -> None:
    lead = "92. The Hong Kong stock market has maintained its strong momentum."
    detail = "The average daily turnover has reached a record this year."
    passage = f"{lead} {detail} Other markets slowed."
    close = [0.9, 0.3, 0.1]  # the lead is closest to the question, but the turnover is in the next sentence
    assert _answer(passage, "What has the daily turnover of the Hong Kong stock market reached?", close) == f"{lead} {detail}"
    assert _answer(passage, "Has the Hong Kong stock market maintained its momentum?", close) == lead  # nothing lacking
    apart = f"{lead} Other markets slowed. {detail}"
    assert _answer(apart, "What has the daily turnover of the Hong Kong stock market reached?", close) == lead  # not next


def test_the_answer_to_why_takes_in_the_sentence_that_gives_the_reason() -> None:
    lacks = "While Hong Kong is abundant in hot money, it lacks venture capital."
    cause = "This is perhaps caused by the lack of commercialization opportunities."
    close = [0.9, 0.3, 0.1]  # the restatement of the question is closest to it
    assert _answer(f"{lacks} {cause} Funds come later.", "Why does Hong Kong lack venture capital?", close) == f"{lacks} {cause}"
    assert _answer(f"{lacks} {cause} Funds come later.", "Does Hong Kong lack venture capital?", close) == lacks  # no "why"
    short = "In other words, the supply chain in finance is rather short."
    assert _answer(f"{short} {lacks} Funds come later.", "为什么香港缺乏风险投资？", [0.1, 0.9, 0.1]) == f"{short} {lacks}"
    assert _answer(f"{lacks} Funds come later. {cause}", "Why does Hong Kong lack venture capital?", close) == lacks  # not next


def test_a_sentence_that_announces_a_list_goes_on_into_it() -> None:
    announces = "The plan assigns the bay area five strategic positions."
    first = "1. a vibrant world-class city cluster;"
    passage = f"{announces}\n{first}\n2. an innovation hub."
    close = [0.9, 0.2, 0.1]
    assert _answer(passage, "What is the first of the strategic positions of the plan?", close) == f"{announces}\n{first}"
    ways = "There are two traditional ways of government intervention."
    keynes = "One is the Keynesian way of demand management."
    assert _answer(f"{ways} {keynes} More follows.", "Which are the ways of government intervention?", close) == f"{ways} {keynes}"
    plain = "The plan assigns the bay area a strategic position."
    assert _answer(f"{plain}\n{first}", "What position does the plan assign?", close[:2]) == plain  # announces no number


def test_an_answer_reads_on_to_the_year_asked_about() -> None:
    plan = "The plan makes Hengqin a showcase of one country, two systems."
    target = "By 2035 it should show the system's vitality."
    close = [0.9, 0.3, 0.1]
    assert _answer(f"{plan} {target} Later more.", "What should the Hengqin plan show in 2035?", close) == f"{plan} {target}"
    assert _answer(f"{plan} {target} Later more.", "What does the Hengqin plan make of it?", close) == plan


def test_a_list_item_goes_on_in_prose_to_the_figure_asked_for() -> None:
    item = "(ix) Expand the residential care scheme in Guangdong."
    detail = "Starting from October, the care homes taking part will increase from 15 to 24."
    close = [0.9, 0.3, 0.1]
    passage = f"{item} {detail} (x) Launch a pilot."
    assert _answer(passage, "How many care homes will take part in the residential care scheme?", close) == f"{item} {detail}"
    row = "| Expand the residential care scheme | Guangdong |"
    assert _answer(f"{row}\n{detail}", "How many care homes will take part in the residential care scheme?", close[:2]) == row


def test_an_answer_goes_on_to_the_name_asked_about() -> None:
    first = "In 2020, spending on R&D came to about 1% of GDP in Hong Kong."
    on = "Although this has doubled since 2001, it trails Singapore at 1.9% and South Korea at 4.6%."
    passage = f"{first} {on} Other places spend less."
    close = [0.6, 0.4, 0.1]  # the first sentence is closest, and states a figure: Hong Kong's
    assert _answer(passage, "How much does South Korea spend on R&D as a share of GDP?", close) == f"{first} {on}"
    assert _answer(passage, "How much does Hong Kong spend on R&D as a share of GDP?", close) == first  # named already
    apart = f"{first} South Korea spends 4.6%."  # names it, but does not carry the sentence before on
    assert _answer(apart, "How much does South Korea spend on R&D as a share of GDP?", close[:2]) == first
    # A year asked about counts as a name the answer should reach.
    assert _answer(passage, "How much did Hong Kong spend on R&D as a share of GDP in 2001?", close) == f"{first} {on}"
    no_figure = f"{first} Although this is more than before, it trails South Korea."
    assert _answer(no_figure, "How much does South Korea spend on R&D as a share of GDP?", close[:2]) == first


def test_a_sentence_inside_a_quotation_brings_the_one_that_opens_it() -> None:
    opens = "研究会会长彭澎估计：「前海已经实践港人港企。"
    inside = "我相信横琴也会有类似情况。」"
    passage = f"{opens}{inside}其他方面另有安排。"
    close = [0.1, 0.6, 0.2]
    assert _answer(passage, "谁估计横琴也会有类似情况？", close) == f"{opens}{inside}"  # who said it is named where it opens
    closed = "彭澎说：「前海已经实践。」我相信横琴也会有类似情况。其他方面另有安排。"
    assert _answer(closed, "谁估计横琴也会有类似情况？", close) == "我相信横琴也会有类似情况。"  # after the quotation
    english = "The minister said: “Qianhai came first. Hengqin will follow.” Others disagreed."
    assert _answer(english, "Which zone will follow?", close).startswith("The minister said")


def test_a_figure_of_what_the_question_counts_answers_how_many() -> None:
    passage = ("Applicants must have been in Israel for no more than two years. "
               "Scholarship students are required to volunteer 24 hours every year in industry.")
    close = [0.6, 0.45]  # the first sentence is closer, and states a figure too
    assert _answer(passage, "How many hours a year must scholarship students volunteer?", close).startswith("Scholarship")
    assert _answer(passage, "How many years may applicants have been in Israel?", close).startswith("Applicants")


def test_a_chinese_count_carries_its_measure_word() -> None:
    assert counts("注册港企达1.2万家。", "家") and counts("已有60多家企业入驻。", "家") and counts("共有三座大楼。", "座")
    assert not counts("总面积由14.92平方公里扩展至120.56平方公里。", "家")  # an area is no count of companies
    assert counts("In 2021, 184 companies answered.", "compani") and not counts("It had 184 staff.", "compani")
    # The answer-type check: a Chinese count answered in Chinese names its measure word; in English, any figure.
    assert states_count("figure", "注册港企达1.2万家。", frozenset(), "家")
    assert not states_count("figure", "总面积由14.92平方公里扩展至120.56平方公里。", frozenset(), "家")
    assert states_count("figure", "Some 184 firms answered the survey.", frozenset(), "家")
    assert counts("It handled about 68,000 passengers a day.", "passeng")
    assert not counts("It has offered 24-hour passenger clearance since 2003.", "passeng")  # a figure of hours


def test_the_number_of_a_figure_table_or_chapter_is_no_figure() -> None:
    assert not states("figure", "Figure 3 shows the share of jobs from 1997 to 2021.", frozenset())
    assert not states("figure", "Chapter 10 is the origin of the platforms (see Table 2a, p. 45).", frozenset())
    assert states("figure", "Figure 3 compares four cities.", frozenset())  # a count beside the label
    assert states("figure", "The share fell to 3% (Figure 3).", frozenset())  # the same digit as a measure


def test_when_wants_a_date_and_how_many_a_number_that_is_no_date() -> None:
    passage = "The subsidy is capped at RMB 5 million a year. It was extended to 31 December 2027."
    idf = {"subsidi": 1.0, "extend": 1.0}
    answer = _by_terms(passage, "Until when was the subsidy extended?", idf)
    assert answer == passage  # the date's sentence, with the one "It" points back to
    passage = "After a meeting on 6 November 2019 the government announced 16 measures. Seven were aimed at residents."
    question = "How many of the 16 measures announced in November 2019 targeted residents?"
    idf = dict.fromkeys(terms(question), 1.0) | {"resid": 3.0}
    assert _by_terms(passage, question, idf) == "Seven were aimed at residents."  # the "6" of a date is not the count


def test_rare_question_words_and_figures_in_words_choose_the_sentence() -> None:
    passage = (
        "Hong Kong airport serves Hong Kong with three runways. "
        "The runway project cost HK$141.5 billion. "
        "A valid permit is needed by each resident. "
        "Each permit is valid for five years."
    )
    spans = np.array([(s, e) for s, e in sentence_spans(passage)])
    no_signal = np.zeros(len(spans), dtype=np.float32)  # every sentence equally close: terms alone decide
    idf = {"hong": 0.1, "kong": 0.1, "airport": 1.0, "cost": 3.0}
    answer = best_sentence(no_signal, idf, "figure", spans, passage, 0)
    assert answer is not None and answer.text == "The runway project cost HK$141.5 billion."  # one rare word beats three common ones
    idf = dict.fromkeys(terms("How long is a permit valid?"), 1.0)
    assert best_sentence(no_signal, idf, None, spans, passage, 0).text.startswith("A valid permit")
    answer = best_sentence(no_signal, idf, "figure", spans, passage, 0)
    assert answer is not None and answer.text == "Each permit is valid for five years."  # "five" is the figure asked for


def test_a_sentence_that_points_back_brings_the_one_before() -> None:
    passage = (
        "The study looks at three small open economies: Israel, Singapore and Switzerland. "
        "We choose these three economies as our benchmarks because of their similarity to Hong Kong. "
        "Hong Kong has a similar population."
    )
    spans = np.array([(s, e) for s, e in sentence_spans(passage)])
    idf = dict.fromkeys(terms("Which economies did the study choose as benchmarks?"), 1.0)
    found = np.array([0.2, 0.6, 0.1], dtype=np.float32)
    answer = best_sentence(found, idf, None, spans, passage, 0)
    assert answer is not None and answer.text.startswith("The study looks") and answer.text.endswith("Hong Kong.")
    found = np.array([0.2, 0.1, 0.6], dtype=np.float32)  # "Hong Kong has …" points nowhere
    assert best_sentence(found, idf, None, spans, passage, 0).text == "Hong Kong has a similar population."
    passage = "60. The Government has an agreement with a leading aeronautic services company. The company will recycle aircraft."
    spans = np.array([(s, e) for s, e in sentence_spans(passage)])
    answer = best_sentence(np.array([0.1, 0.6], dtype=np.float32), idf, None, spans, passage, 0)
    assert answer is not None and answer.text == passage  # "The company" names again what the sentence before introduced


def test_a_figure_in_chinese_numerals_answers_a_question_about_what_it_counts() -> None:
    sentence = "《粵港澳大灣區發展規劃綱要》共有十一章三十五節，全文約二萬七千字。"
    assert states("figure", sentence, frozenset(terms("规划纲要全文共有几章几节？")))
    assert states("figure", "構建“半小時交通圈”。", frozenset(terms("要構建多長時間的交通圈？")))  # time: how long
    assert not states("figure", "是大湾区四个重大合作平台之一。", frozenset(terms("合作区总面积是多少平方公里？")))
    assert not states("figure", "推进一国两制，建设一个统一的市场。", frozenset(terms("有多少个市场？")))  # no figures


def test_for_a_chinese_question_the_figure_asked_for_counts_for_more() -> None:
    passage = "河套深港科技创新合作区横跨深圳河两岸。两个园区隔河相望。合作区总面积约3.89平方公里。"
    spans = np.array([(s, e) for s, e in sentence_spans(passage)])
    idf = {"河套": 2.8, "合作": 1.1, "作区": 1.1}  # the first sentence holds them all, the third 44% of their weight
    flat = np.zeros(len(spans), dtype=np.float32)  # the English model reads Chinese too poorly to tell them apart
    assert best_sentence(flat, idf, "figure", spans, passage, 0).text.startswith("河套")
    assert best_sentence(flat, idf, "figure", spans, passage, 0, chinese=True).text == "合作区总面积约3.89平方公里。"


def test_cosines_fade_out_when_the_model_does_not_understand_the_question() -> None:
    assert hybrid_weights(Query.of("When did the bridge open?"), 0.6) == HYBRID_WEIGHTS
    assert hybrid_weights(Query.of("LL7999"), 0.15) == (0.0, 0.0, HYBRID_WEIGHTS[2])  # BM25 alone
    halfway = hybrid_weights(Query.of("NDRC"), 0.25)
    assert 0 < halfway[0] < HYBRID_WEIGHTS[0] and 0 < halfway[1] < HYBRID_WEIGHTS[1]


def test_figure_and_date_questions_are_recognised() -> None:
    assert asks_for("When did the bridge open?") == asks_for("香港科学园深圳分园是什么时候开幕的？") == "date"
    assert asks_for("How many jobs are there?") == asks_for("香港园区的面积是多少公顷？") == "figure"
    assert asks_for("How many destinations could passengers reach when the line opened?") == "figure"  # the first asks
    assert asks_for("Who signed the agreement?") is None


def test_what_an_answer_must_state() -> None:
    assert expected_answer("How much is the toll for a car on the bridge?") == expected_answer("写字楼租金是多少？") == "amount"
    assert expected_answer("How much did the airport's third runway cost?") == "amount"
    assert expected_answer("How many jobs will the zone create?") == "figure" and expected_answer("When did it open?") == "date"
    assert expected_answer("Who signed the agreement?") is None
    asked = frozenset(terms("How much did the runway cost in 2016?"))
    assert states("amount", "The project cost HK$141.5 billion.", asked) and states("amount", "总投资约3亿元。", asked)
    assert not states("amount", "More than 950,000 trips were made.", asked), "a figure, but no money"
    assert not states("amount", "It was approved in 2016 at a cost set by HK$ rules.", asked), "money, but no new figure"
    when = frozenset(terms("When did the bridge open after the 2009 start?"))
    assert states("date", "It opened on 23 October 2018.", when) and not states("date", "It opened after the 2009 start.", when)
    assert states("figure", "Three runways.", frozenset()) and not states("figure", "It opened in 2018.", frozenset())


def test_a_question_whose_answer_kind_no_top_sentence_states_is_flagged(shipped_service: Service) -> None:
    cost = shipped_service.answer("How much did Hong Kong airport's three-runway system cost?", k=3)
    assert not cost.confidence.low and cost.confidence.missing is None
    fare = shipped_service.answer("How much does a ticket on the Express Rail Link to West Kowloon cost?", k=3)
    assert fare.confidence.low and fare.confidence.missing == "amount" and fare.hits
    for mode in MODES:  # the top three answer sentences are read whatever k is
        one, ten = (shipped_service.answer("How many chapters does the Outline Development Plan contain?", k=k, mode=mode)
                    for k in (1, 10))
        assert one.confidence == ten.confidence, mode
    assert unstated(Confidence(0.95, False), "date") == Confidence(0.95, True, None, "date")
    assert unstated(Confidence(0.95, False), None) == Confidence(0.95, False)


def test_confidence_is_monotonic() -> None:
    assert confidence(0.2, 0.0).low and not confidence(0.8, 1.0).low
    assert confidence(0.5, 0.5).score < confidence(0.6, 0.5).score < confidence(0.6, 0.9).score
    assert 0.0 <= confidence(-1.0, 0.0).score <= confidence(1.0, 1.0).score <= 1.0


def test_the_verifier_can_only_add_a_flag() -> None:
    sure, unsure = confidence(0.8, 1.0), confidence(0.2, 0.0)
    assert checked(sure, CHECK_LOW - 0.01).low and not checked(sure, CHECK_LOW + 0.01).low
    assert checked(unsure, 0.99).low  # a confident cross-encoder does not clear what the cheap signals flagged
    assert checked(sure, 0.05).score == sure.score and checked(sure, 0.05).check == 0.05
    assert not needs_check(unsure) and not needs_check(Confidence(CHECK_BELOW, False)) and needs_check(Confidence(0.7, False))


def test_off_topic_question_is_flagged(shipped_service: Service) -> None:
    off_topic = shipped_service.answer("What is a good recipe for chocolate chip cookies?", k=3)
    assert off_topic.confidence.low and off_topic.hits  # still returns the closest passages
    answerable = shipped_service.answer("When did the Hong Kong–Zhuhai–Macao Bridge open to traffic?", k=3)
    assert not answerable.confidence.low
    assert answerable.confidence.score > off_topic.confidence.score


def test_simplified_and_traditional_text_share_their_terms_and_offsets() -> None:
    from bayqa.terms import term_spans, terms

    assert terms("粤港澳大湾区发展规划纲要") == terms("粵港澳大灣區發展規劃綱要")
    assert terms("什么时候开通") == terms("什麼時候開通"), "Traditional question words are dropped like Simplified ones"
    traditional = "香港國際機場第三跑道"
    spans = term_spans(traditional)
    assert [t for t, _, _ in spans] == terms("香港国际机场第三跑道")
    assert all(len(traditional[a:b]) == len(t) for t, a, b in spans), "offsets point at the document's own characters"


def test_a_question_about_a_year_no_top_passage_mentions_is_flagged(shipped_service: Service) -> None:
    asked = shipped_service.answer("What will the population of the Greater Bay Area be in 2090?", k=3).confidence
    assert asked.low and asked.missing == "year"
    mentioned = shipped_service.answer("When did the Hong Kong-Zhuhai-Macao Bridge open in 2018?", k=3).confidence
    assert mentioned.missing != "year"


def test_a_year_only_passages_below_the_first_two_mention_is_flagged(shipped_service: Service) -> None:
    answers = shipped_service.answer("What was Shenzhen's GDP in 2024?", k=5)
    mentions = ["2024" in f"{h.chunk.context} {h.chunk.text}" for h in answers.hits]
    assert not any(mentions[:2]) and any(mentions[2:]), "the premise of this test: only lower places speak of 2024"
    assert answers.confidence.low and answers.confidence.missing == "year"
