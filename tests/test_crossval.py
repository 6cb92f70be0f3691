"""Cross-validation by document (bayqa.crossval), on constructed answers: no index, no model."""

import pytest

from bayqa.chunking import Chunk
from bayqa.confidence import Confidence
from bayqa.config import Settings
from bayqa.crossval import CROWDING, cross_validate, folds_by_document
from bayqa.evaluation import Question
from bayqa.highlight import Answer
from bayqa.search import DISTINCT, Answers, Hit


def _question(n: int, doc: str | None) -> Question:
    return Question(f"q{n}", f"question {n}?", "en", doc, "yes" if doc else None, "fact")


def _answers(doc: str, answered: bool = True) -> Answers:
    """One passage of ``doc`` whose sentence holds the expected answer ("yes") or not."""
    chunk = Chunk("c", doc, 0, "t", (), None, 0, 3, "yes" if answered else "no")
    return Answers("hybrid", [Hit(1, 1.0, chunk, Answer(chunk.text, 0, 3, 1.0))], Confidence(0.9, False))


QUESTIONS = [_question(0, "a"), _question(1, "a"), _question(2, "b"), _question(3, None), _question(4, "c"),
             _question(5, None), _question(6, "b"), _question(7, None)]


def test_folds_keep_a_documents_questions_together_and_deal_out_the_unanswerable() -> None:
    assert folds_by_document(QUESTIONS, 3) == [0, 0, 1, 0, 2, 1, 1, 2]
    assert folds_by_document(QUESTIONS, 2) == [0, 0, 1, 0, 0, 1, 1, 0]
    for wrong in (1, 4):
        with pytest.raises(ValueError, match="between 2 and the number of documents with questions \\(3\\)"):
            folds_by_document(QUESTIONS, wrong)


def test_each_fold_is_measured_with_the_setting_the_other_folds_chose() -> None:
    # "current" misses every answer of document b; "other" misses those of a and c: the other folds disagree
    current = [(q, _answers(q.doc or "a", q.doc != "b")) for q in QUESTIONS]
    other = [(q, _answers(q.doc or "a", q.doc == "b")) for q in QUESTIONS]
    folds = folds_by_document(QUESTIONS, 3)
    validation = cross_validate({"current": current, "other": other}, folds)
    assert [f.documents for f in validation.folds] == [("a",), ("b",), ("c",)]
    # without a: "other" wins on b's two questions against c's one; without b: "current"; without c: a tie (2 to 2)
    assert [f.chosen for f in validation.folds] == ["other", "current", "current"]
    assert [f.held_out["answer@1"] for f in validation.folds] == [0.0, 0.0, 1.0]
    # held out, only c's answer is shown, though each setting shows 3 or 2 of the 5 on the whole set
    assert validation.pooled["answer@1"] == 0.2 and validation.pooled["questions"] == len(QUESTIONS)
    assert validation.chosen_on_all == "current"
    # a tie goes to the first candidate listed; a better one wins
    assert cross_validate({"other": current, "current": current}, folds).chosen_on_all == "other"
    better = [(q, _answers(q.doc or "a")) for q in QUESTIONS]
    with_better = cross_validate({"current": current, "better": better}, folds)
    assert [f.chosen for f in with_better.folds] == ["better", "current", "better"]  # without b the two tie
    assert with_better.chosen_on_all == "better"


def test_the_service_setting_is_the_first_crowding_candidate() -> None:
    assert CROWDING[0].options == {"max_per_doc": Settings.model_fields["max_per_doc"].default, "distinct": DISTINCT}
    assert len({c.name for c in CROWDING}) == len(CROWDING)
