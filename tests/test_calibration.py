import numpy as np

from bayqa.calibration import Model, Observed, fit, flagged, held_out_flags, highest_low
from bayqa.evaluation import Question


def _observed(doc: str | None, similarity: float, coverage: float, missing: bool = False) -> Observed:
    return Observed(Question(f"{doc}-{similarity}-{coverage}", "q", "en", doc, None, ""), similarity, coverage, missing)


def _set() -> list[Observed]:
    rng = np.random.default_rng(0)
    answerable = [_observed(f"doc{i % 4}", 0.6 + 0.3 * rng.random(), 0.5 + 0.5 * rng.random()) for i in range(40)]
    unanswerable = [_observed(None, 0.2 + 0.3 * rng.random(), 0.4 * rng.random()) for _ in range(12)]
    return answerable + unanswerable


def test_highest_low_flags_at_most_the_share() -> None:
    scores = np.linspace(0.0, 1.0, 40)
    low = highest_low(scores, 0.05)
    assert np.sum(scores < low) == 2 and low == scores[2]
    assert highest_low(scores, 0.0) == scores[0]


def test_fit_separates_and_keeps_answerables_unflagged() -> None:
    observed = _set()
    model = fit(observed)
    assert model.similarity_weight > 0 and model.coverage_weight > 0
    unflagged, unanswerable, answerable_flagged, answerable = flagged(observed, model.flags(observed))
    assert answerable_flagged <= 0.05 * answerable and unflagged == unanswerable == 12


def test_the_answer_type_check_flags_whatever_the_score() -> None:
    sure = _observed("doc", 1.0, 1.0, missing=True)
    assert Model(3.0, 3.0, -2.0, 0.5).flags([sure]).tolist() == [True]


def test_held_out_flags_cover_every_question() -> None:
    observed = _set()
    flags = held_out_flags(observed)
    assert flags.shape == (len(observed),)
    assert flagged(observed, flags)[0] >= 10
