"""Choose bayqa.confidence.CROSS_LOW (and whether a share of terms should join the cosine) with documents left out.

    PYTHONPATH=src HF_HUB_OFFLINE=1 python scripts/fit_cross_low.py QUESTIONS:CORPUS:INDEX [...]

Only questions whose first passage is in the other language than the question count: for each, the multilingual
cosine of that passage, the IDF-weighted share of the question's terms in that language which the passage holds (a
Chinese question's dictionary and sound terms; an English question's terms in the passage's dictionary English),
and whether the other checks flag it anyway. Rule: flagged when cosine + weight x share < threshold. One fold per
answer document (unanswerable questions dealt round the folds); each fold's rule maximises flagged unanswerable
minus COST x flagged answerable on the others. Prints the choices, the held-out flags, and the shipped rule's.
"""

import sys
from pathlib import Path

import numpy as np

import bayqa.confidence as confidence
from bayqa.config import Settings
from bayqa.evaluation import read_questions
from bayqa.query import Query
from bayqa.search import coverage
from bayqa.service import Service
from bayqa.terms import terms
from bayqa.translate import english_text

COST = 2.0  # a false flag counts as this many missed ones
WEIGHTS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5)
shipped = confidence.CROSS_LOW
rows = []
for spec in sys.argv[1:]:
    qf, corpus, index = spec.split(":")
    searcher = Service(Settings(corpus=Path(corpus), index=Path(index))).load()
    row_of = {c.id: r for r, c in enumerate(searcher.index.chunks.many(list(range(len(searcher.index.chunks)))))}
    keyword = searcher.index.keyword
    for q in read_questions(Path(qf)):
        query = searcher.crossing.with_other_language_terms(Query.of(q.question))
        confidence.CROSS_LOW = shipped
        hits = searcher.answer(q.question, k=10).hits
        if not hits:
            continue
        top, row = hits[0], row_of[hits[0].chunk.id]
        if bool(searcher.chinese_rows(np.array([row]))[0]) == query.chinese:
            continue
        cosine = float((searcher.index.multilingual_of([row]) @ searcher.multilingual.encode([query.read])[0])[0])
        wanted = list(query.translated) if query.chinese else [*query.terms, *query.translated]
        found = keyword.found_in(row, set(wanted))
        if not query.chinese:
            found |= set(terms(english_text(f"{top.chunk.context} {top.chunk.text}")))
        share = coverage(wanted, found, {t: keyword.idf(t) for t in set(wanted)})
        confidence.CROSS_LOW = -10.0  # what the other checks say alone
        other = searcher.answer(q.question, k=10).confidence.low
        rows.append(dict(id=q.id, doc=q.doc, cosine=cosine, share=share, other=other))
confidence.CROSS_LOW = shipped


def flags(rows: list[dict], weight: float, threshold: float) -> list[bool]:
    return [r["other"] or r["cosine"] + weight * r["share"] < threshold for r in rows]


def gain(rows: list[dict], weight: float, threshold: float) -> float:
    return sum((-COST if r["doc"] else 1.0) * f for r, f in zip(rows, flags(rows, weight, threshold)))


def fit(rows: list[dict]) -> tuple[float, float]:
    best = None
    for weight in WEIGHTS:
        values = sorted({r["cosine"] + weight * r["share"] for r in rows})
        for threshold in [values[0] - 1e-3] + [(a + b) / 2 for a, b in zip(values, values[1:])]:
            key = (gain(rows, weight, threshold), -weight)
            if best is None or key > best[0]:
                best = (key, weight, threshold)
    return best[1], best[2]


def counts(flagged: dict[str, bool]) -> str:
    unanswerable = [flagged[r["id"]] for r in rows if not r["doc"]]
    answerable = [flagged[r["id"]] for r in rows if r["doc"]]
    return f"unanswerable flagged {sum(unanswerable)} of {len(unanswerable)}, answerable {sum(answerable)} of {len(answerable)}"


documents = sorted({r["doc"] for r in rows if r["doc"]})
fold = {r["id"]: documents.index(r["doc"]) for r in rows if r["doc"]}
fold.update({r["id"]: i % len(documents) for i, r in enumerate(r for r in rows if not r["doc"])})
held = {}
for f in range(len(documents)):
    weight, threshold = fit([r for r in rows if fold[r["id"]] != f])
    print(f"fold {f}: weight {weight}, threshold {threshold:.3f}")
    test = [r for r in rows if fold[r["id"]] == f]
    held.update({r["id"]: x for r, x in zip(test, flags(test, weight, threshold))})
print(f"{len(rows)} questions answered first in the other language")
print("held out:", counts(held))
print(f"shipped ({shipped}):", counts({r["id"]: x for r, x in zip(rows, flags(rows, 0.0, shipped))}))
weight, threshold = fit(rows)
print(f"on all: weight {weight}, threshold {threshold:.3f},", counts({r["id"]: x for r, x in zip(rows, flags(rows, weight, threshold))}))
