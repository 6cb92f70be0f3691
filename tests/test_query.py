"""The Query: a question checked at the boundary and analysed once, whatever part of the search reads it."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict

import numpy as np
import pytest

from bayqa.crossing import gloss_of
from bayqa.embedding import Embedder
from bayqa.query import Query, QuestionError
from bayqa.search import MODES, Searcher
from bayqa.service import Service
from bayqa.statements import states
from bayqa.terms import term_spans
from bayqa.terms import terms
from bayqa.verify import SHIPPED, Verifier


def test_parse_checks_and_strips_the_question() -> None:
    query = Query.parse("  How much is the toll for a car on the bridge?\n", 1000)
    assert query.text == "How much is the toll for a car on the bridge?"
    for bad, message in (("   ", "empty"), ("x" * 1001, "the limit is 1000"), ("a\ud800b", "unpaired UTF-16 surrogate")):
        with pytest.raises(QuestionError, match=message):
            Query.parse(bad, 1000)


@pytest.mark.parametrize(
    ("text", "chinese", "answer_kind", "wants"),
    [
        ("How much is the toll for a car on the bridge?", False, "amount", "figure"),
        ("How many jobs will the zone create?", False, "figure", "figure"),
        ("香港科学园深圳分园是什么时候开幕的？", True, "date", "date"),
        ("Who signed the agreement?", False, None, None),
    ],
)
def test_of_analyses_terms_language_and_answer_kind(text: str, chinese: bool, answer_kind: str | None, wants: str | None) -> None:
    query = Query.of(text)
    assert query.terms == tuple(terms(text)) and query.chinese is chinese
    assert query.answer_kind == answer_kind and query.wants == wants
    assert query.vector is None and query.with_vector(np.ones(3)) == query  # the vector is no part of what it is


ANALYSES = ("terms", "term_spans", "is_mostly_chinese", "asks_for", "expected_answer")


@pytest.fixture()
def analyses(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], dict[str, int]]]:
    """Counts, per analysis function, the calls made on a given text, wherever in bayqa the function was imported."""
    calls: list[tuple[str, str]] = []

    def counting(name: str, function: Callable) -> Callable:
        def wrapper(text, *args, **kwargs):
            calls.append((name, text))
            return function(text, *args, **kwargs)
        return wrapper

    for module in [m for name, m in sys.modules.items() if name.startswith("bayqa.")]:
        for name in ANALYSES:
            if callable(getattr(module, name, None)):
                monkeypatch.setattr(module, name, counting(name, getattr(module, name)))
    yield lambda text: {name: sum(1 for n, t in calls if n == name and t == text) for name in ANALYSES}


@pytest.fixture()
def encodings(monkeypatch: pytest.MonkeyPatch, embedder: Embedder) -> list[str]:
    encoded: list[str] = []
    real = embedder.encode_query
    monkeypatch.setattr(embedder, "encode_query", lambda text: encoded.append(text) or real(text))
    return encoded


@pytest.fixture(scope="module")
def checking(shipped_service: Service, embedder: Embedder) -> Searcher:
    """A searcher with the verifier, so that every reader of the question runs."""
    return Searcher(shipped_service.searcher.index, embedder, Verifier.from_setting(SHIPPED))


@pytest.mark.parametrize("mode", MODES)
def test_a_search_analyses_its_question_once(checking: Searcher, analyses, encodings, mode: str) -> None:
    for question in ("How many chapters does the Outline Development Plan contain?", "河套合作区什么时候开始建设？"):
        assert checking.answer(question, k=5, mode=mode).hits
        assert analyses(question) == {"terms": 1, "term_spans": 0, "is_mostly_chinese": 1, "asks_for": 1, "expected_answer": 1}
        assert encodings.count(question) == 1


def test_a_query_answers_like_its_text_and_keeps_its_vector(shipped_service: Service, embedder: Embedder, encodings) -> None:
    searcher = shipped_service.searcher
    for question in ("How much did Hong Kong airport's three-runway system cost?", "香港园区的面积是多少公顷？"):
        query = Query.of(question).with_vector(embedder.encode_query(question))
        encodings.clear()
        for mode in MODES:
            by_query, by_text = searcher.answer(query, k=5, mode=mode), searcher.answer(question, k=5, mode=mode)
            assert by_query.hits == by_text.hits and asdict(by_query.confidence) == asdict(by_text.confidence)
        # The question's dictionary English (bayqa.crossing.gloss_of) is embedded for a Chinese one: another text.
        assert [e for e in encodings if e != gloss_of(query)] == [question] * len(MODES), "a query that has its vector is not embedded again"


def test_the_service_takes_a_query_or_a_string(shipped_service: Service) -> None:
    question = "When did the Hong Kong-Zhuhai-Macao Bridge open?"
    assert shipped_service.search(Query.parse(f" {question} ", 1000), k=3) == shipped_service.search(question, k=3)


def test_full_width_letters_and_digits_are_the_ascii_ones() -> None:
    # Chinese input methods type "２０２０" and "ＧＤＰ"; some Chinese documents print them.
    wide, narrow = Query.of("大湾区２０２０年末ＧＤＰ是多少？"), Query.of("大湾区2020年末GDP是多少？")
    assert wide.terms == narrow.terms and wide.years == narrow.years == frozenset({"2020"})
    sentence = "河套合作区计划于２０３５年前建成，总面积约３.８９平方公里。"
    assert states("date", sentence, frozenset()) and ("3.89", 21, 25) in term_spans(sentence)
