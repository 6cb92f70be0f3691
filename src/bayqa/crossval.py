"""Choosing a setting on a question set without fitting it to that set: cross-validation, leaving documents out.

The questions are split into folds by document: all the questions about one document land in the same fold, and
the unanswerable ones (no document) are dealt round the folds in file order. For each fold, the candidate setting
that scores best on the other folds' questions is chosen and measured on the fold's own questions, which played
no part in choosing it. The pooled held-out figures are those of every question answered with the setting chosen
without it: the figures to report for a choice made on this set.

A setting scores by the mean of the SELECTION measures and of one minus each AGAINST measure: finding the
document and how high, showing the answer, flagging the unanswerable questions and not the others count alike. A tie goes to
the candidate listed first, so list the current behaviour first: a choice changes it only when the other folds
say so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bayqa.config import Settings
from bayqa.evaluation import Question, question_scores
from bayqa.search import DISTINCT, Answers, Searcher

SELECTION = ("hit@1", "hit@5", "mrr", "answer@1", "answer@5", "notfound_recall")
AGAINST = ("answerable_flagged",)


@dataclass(frozen=True)
class Candidate:
    """A setting to choose: its name and the keyword arguments of ``Searcher.answer`` it sets."""

    name: str
    options: Mapping[str, int] = field(default_factory=dict)


# How one document may fill the first places: at most ``max_per_doc`` passages of it, and the first ``distinct``
# places for as many documents (bayqa.search.cap_per_document). The service's defaults first, so they win ties.
_DEFAULTS = (Settings.model_fields["max_per_doc"].default, DISTINCT)
CROWDING = tuple(
    Candidate(f"max_per_doc={m} distinct={d}", {"max_per_doc": m, "distinct": d})
    for m, d in sorted(((m, d) for m in (3, 2, 1) for d in ((0, 2, 3, 5, 10) if m > 1 else (0,))),
                       key=lambda setting: setting != _DEFAULTS)
)


@dataclass(frozen=True)
class Fold:
    """One fold: the documents whose questions it holds, the setting chosen on the other folds, and that setting's
    figures on this fold's questions."""

    documents: tuple[str, ...]
    questions: int
    chosen: str
    held_out: dict[str, float]


@dataclass(frozen=True)
class CrossValidation:
    folds: list[Fold]
    pooled: dict[str, float]  # every question answered with the setting chosen without its fold
    chosen_on_all: str  # what the whole set would choose: the setting to ship if the folds agree with it


def folds_by_document(questions: Sequence[Question], count: int) -> list[int]:
    """The fold (0 to ``count`` - 1) of each question: documents dealt round the folds in sorted order, each
    question in its document's fold, unanswerable questions dealt round in file order."""
    documents = sorted({q.doc for q in questions if q.doc is not None})
    if not 2 <= count <= len(documents):
        raise ValueError(f"--folds must be between 2 and the number of documents with questions ({len(documents)})")
    fold_of = {doc: i % count for i, doc in enumerate(documents)}
    unanswerable = iter(range(len(questions)))
    return [fold_of[q.doc] if q.doc is not None else next(unanswerable) % count for q in questions]


def answer_with(searcher: Searcher, questions: Sequence[Question], candidates: Sequence[Candidate], mode: str,
                k: int = 5) -> dict[str, list[tuple[Question, Answers]]]:
    """Each candidate's answers to every question (the passages as the evaluation reads them: ``k`` of them)."""
    return {c.name: [(q, searcher.answer(q.question, k=k, mode=mode, **c.options)) for q in questions] for c in candidates}


def best(answered: Mapping[str, Sequence[tuple[Question, Answers]]], keep: Sequence[bool]) -> str:
    """The candidate (a name of ``answered``, which lists them in order of preference) that does best on the
    questions ``keep`` marks."""
    names = list(answered)

    def merit(name: str) -> float:
        figures = question_scores([pair for pair, kept in zip(answered[name], keep) if kept])
        return (sum(figures[m] for m in SELECTION) + sum(1 - figures[m] for m in AGAINST)) / (len(SELECTION) + len(AGAINST))
    return max(names, key=lambda name: (merit(name), -names.index(name)))


def cross_validate(answered: Mapping[str, Sequence[tuple[Question, Answers]]], folds: Sequence[int]) -> CrossValidation:
    """Per fold, the candidate that does best on the other folds and its figures on this one; ``answered`` maps each
    candidate's name (in order of preference) to its answers, question by question, in the order of ``folds``."""
    results: list[Fold] = []
    pooled: list[tuple[Question, Answers]] = []
    for fold in sorted(set(folds)):
        chosen = best(answered, [f != fold for f in folds])
        held = [pair for pair, f in zip(answered[chosen], folds) if f == fold]
        pooled.extend(held)
        documents = tuple(sorted({q.doc for q, _ in held if q.doc is not None}))
        results.append(Fold(documents, len(held), chosen, question_scores(held)))
    return CrossValidation(results, question_scores(pooled), best(answered, [True] * len(folds)))


def format_cross_validation(mode: str, validation: CrossValidation, measures: Sequence[str]) -> str:
    """Per fold: its documents, the setting chosen without it and that setting's held-out figures; then the pooled
    held-out figures and what the whole set would choose."""
    widths = [max(8, len(m) + 2) for m in measures]
    lines = [f"{mode}: cross-validation by document, {len(validation.folds)} folds (figures on each held-out fold)"]
    lines.append(f"{'fold':<8}{'questions':>10}" + "".join(f"{m:>{w}}" for m, w in zip(measures, widths)) + "  chosen on the other folds")
    for i, fold in enumerate(validation.folds, start=1):
        figures = "".join(f"{fold.held_out[m]:>{w}.4f}" for m, w in zip(measures, widths))
        lines.append(f"{i:<8}{fold.questions:>10}{figures}  {fold.chosen}  [{', '.join(fold.documents)}]")
    pooled = "".join(f"{validation.pooled[m]:>{w}.4f}" for m, w in zip(measures, widths))
    lines.append(f"{'pooled':<8}{int(validation.pooled['questions']):>10}{pooled}")
    lines.append(f"chosen on the whole set: {validation.chosen_on_all}")
    return "\n".join(lines)
