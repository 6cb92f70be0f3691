"""Cross-validate the answer sentence's weights (bayqa.highlight.LEXICAL_WEIGHT, FIGURE_WEIGHT) over question sets.

    PYTHONPATH=src HF_HUB_OFFLINE=1 python scripts/fit_answers.py QUESTIONS:CORPUS:INDEX [...]

Every pair of the grid answers every question of every set (indexes must exist: run `bayqa eval` on each first);
five folds by document choose a pair on the other folds, and each set's figures are printed with the shipped
weights and held out, then each pair's answer@1 and answer@5 on all questions.
"""

import itertools, sys
from dataclasses import replace
from pathlib import Path
from bayqa import highlight
from bayqa.config import Settings
from bayqa.crossval import best, folds_by_document
from bayqa.evaluation import question_scores, read_questions
from bayqa.service import Service
sets = []
for spec in sys.argv[1:]:
    qf, corpus, index = spec.split(":")
    s = Service(Settings(corpus=Path(corpus), index=Path(index))); s.load()
    sets.append((qf, s, read_questions(Path(qf))))
grid = [(0.2, 0.1)] + [g for g in itertools.product((0.1, 0.2, 0.3, 0.5), (0.05, 0.1, 0.2)) if g != (0.2, 0.1)]
answered = {}
for lex, fig in grid:
    highlight.LEXICAL_WEIGHT, highlight.FIGURE_WEIGHT = lex, fig
    answered[f"{lex}/{fig}"] = [(q, s.answer(q.question, k=5)) for _, s, qs in sets for q in qs]
named = [replace(q, doc=f"{label}:{q.doc}") if q.doc else q for label, _, qs in sets for q in qs]
folds = folds_by_document(named, 5)
held = [None] * len(named)
for f in range(5):
    chosen = best(answered, [x != f for x in folds]); print('fold', f, chosen, flush=True)
    for i, x in enumerate(folds):
        if x == f: held[i] = answered[chosen][i]
print('on all:', best(answered, [True] * len(folds)))
start = 0
for label, _, qs in sets:
    span = range(start, start + len(qs)); start += len(qs)
    for name, pairs in (('shipped', [answered['0.2/0.1'][i] for i in span]), ('held out', [held[i] for i in span])):
        sc = question_scores(pairs); print(label.split('/')[-1][:10], name, {k: round(sc[k], 4) for k in ('hit@1', 'answer@1', 'answer@5', 'notfound_recall', 'answerable_flagged')})
for n in answered:
    sc = question_scores(answered[n]); print(n, {k: round(sc[k], 4) for k in ('answer@1', 'answer@5')})
