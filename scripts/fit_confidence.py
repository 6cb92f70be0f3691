"""Refit the "not found" confidence on question sets and compare it with the shipped one on held-out questions.

    PYTHONPATH=src HF_HUB_OFFLINE=1 python scripts/fit_confidence.py \
        eval/gba_questions.jsonl:corpus:/tmp/conf-gba-index \
        eval/realdocs_questions.jsonl:/work/shared/realdocs:/tmp/conf-real-index

Each argument is QUESTIONS:CORPUS:INDEX; an index is built (or brought up to date) first. The hybrid search
answers every question once; then bayqa.calibration cross-validates by document over all the sets together and
prints, per set, the flags of the shipped model beside the held-out flags of the refit, and the refit on every
question (the coefficients to ship if the held-out figures are better).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from bayqa import confidence
from bayqa.calibration import Model, Observed, fit, flagged, held_out_flags
from bayqa.config import Settings
from bayqa.evaluation import read_questions
from bayqa.service import Service


def observe(questions_file: str, corpus: str, index: str) -> list[Observed]:
    service = Service(Settings(corpus=Path(corpus), index=Path(index)))
    service.update()
    observed = []
    for question in read_questions(Path(questions_file)):
        answers = service.answer(question.question, k=10, mode="hybrid")
        # Documents of different sets must not share a fold by sharing a name.
        named = replace(question, doc=f"{questions_file}:{question.doc}") if question.doc is not None else question
        observed.append(Observed(named, *answers.signals, answers.confidence.missing is not None))
    return observed


def main(arguments: list[str]) -> None:
    sets = {spec.split(":")[0]: observe(*spec.split(":")) for spec in arguments}
    everything = [o for observed in sets.values() for o in observed]
    shipped = Model(confidence.SIMILARITY_WEIGHT, confidence.COVERAGE_WEIGHT, confidence.BIAS, confidence.LOW)
    held_out = held_out_flags(everything)
    print(f"{'set':<34}{'shipped: unanswerable':>24}{'answerable':>12}{'refit held out: unanswerable':>31}{'answerable':>12}")
    start = 0
    for name, observed in sets.items():
        before = flagged(observed, shipped.flags(observed))
        after = flagged(observed, held_out[start : start + len(observed)])
        start += len(observed)
        print(f"{name:<34}{before[0]:>18}/{before[1]:<5}{before[2]:>6}/{before[3]:<5}{after[0]:>25}/{after[1]:<5}{after[2]:>6}/{after[3]:<5}")
    model = fit(everything)
    print(f"fit on all questions: SIMILARITY_WEIGHT {model.similarity_weight:.2f}, COVERAGE_WEIGHT {model.coverage_weight:.2f}, "
          f"BIAS {model.bias:.2f}, LOW {model.low:.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
