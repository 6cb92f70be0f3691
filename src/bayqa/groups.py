"""Which questions of a question file form the groups that a bilingual set is measured by (bayqa.evaluation).

A question's language is its ``lang``: Chinese when it starts with "zh" (``zh``, ``zh-Hans``, ``zh-Hant``), English
otherwise. A document's language is read from its text, so no corpus needs labels: Chinese when its CJK ideographs
outnumber its words in Latin letters (an ideograph is about a word), which holds for a Chinese text that quotes
English names or a URL and for an English one that quotes Chinese names; only a text that is half and half is in
doubt. The groups:
- ``en_to_zh``: answerable English questions whose expected document is Chinese;
- ``zh_to_en``: answerable Chinese questions whose expected document is not;
- ``zh``: every answerable Chinese question, whatever its document;
- ``zh_unanswerable``: Chinese questions the documents do not answer;
- twins: two questions that name each other in ``twin`` (the same question in Simplified and Traditional script).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import Protocol

GROUPS = ("en_to_zh", "zh_to_en", "zh", "zh_unanswerable")
# The figures printed per group: (name, group, the question_scores measure it is); "flagged" is "not found".
GROUP_FIGURES = (
    ("en_to_zh_hit@1", "en_to_zh", "hit@1"),
    ("en_to_zh_hit@5", "en_to_zh", "hit@5"),
    ("en_to_zh_answer@1", "en_to_zh", "answer@1"),
    ("zh_to_en_hit@1", "zh_to_en", "hit@1"),
    ("zh_to_en_hit@5", "zh_to_en", "hit@5"),
    ("zh_to_en_answer@1", "zh_to_en", "answer@1"),
    ("zh_hit@5", "zh", "hit@5"),
    ("zh_unanswerable_flagged", "zh_unanswerable", "notfound_recall"),
    ("zh_answerable_flagged", "zh", "answerable_flagged"),
)
_IDEOGRAPH = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")


class Asked(Protocol):
    """What grouping reads of a question (bayqa.evaluation.Question)."""

    id: str
    lang: str
    doc: str | None
    twin: str | None


def is_chinese_question(lang: str) -> bool:
    return lang.lower().startswith("zh")


def is_chinese_text(text: str) -> bool:
    return len(_IDEOGRAPH.findall(text)) > len(_LATIN_WORD.findall(text))


def question_groups(questions: Sequence[Asked], chinese_documents: Collection[str]) -> dict[str, list[int]]:
    """Each group's questions, as positions in ``questions``; ``chinese_documents`` are the ids of Chinese documents."""
    groups: dict[str, list[int]] = {name: [] for name in GROUPS}
    for i, question in enumerate(questions):
        chinese = is_chinese_question(question.lang)
        if question.doc is None:
            if chinese:
                groups["zh_unanswerable"].append(i)
            continue
        if chinese:
            groups["zh"].append(i)
        if chinese != (question.doc in chinese_documents):
            groups["zh_to_en" if chinese else "en_to_zh"].append(i)
    return groups


def twin_pairs(questions: Sequence[Asked]) -> list[tuple[int, int]]:
    """Positions of the pairs of questions that name each other as twins, each pair once; a one-sided link is no pair."""
    position = {q.id: i for i, q in enumerate(questions)}
    pairs = []
    for i, question in enumerate(questions):
        j = position.get(question.twin) if question.twin else None
        if j is not None and j > i and questions[j].twin == question.id:
            pairs.append((i, j))
    return pairs


def twin_agreement(first_passages: Sequence[str | None], pairs: Sequence[tuple[int, int]]) -> float:
    """The share of pairs whose two questions put the same passage first (``first_passages``: each question's first
    passage id, None when it got none)."""
    if not pairs:
        return 0.0
    same = sum(1 for i, j in pairs if first_passages[i] is not None and first_passages[i] == first_passages[j])
    return round(same / len(pairs), 4)


def format_groups(figures: dict[str, dict[str, float]]) -> str:
    """The modes side by side, one figure a line with the size of its group: what ``bayqa eval`` prints below the
    question measures."""
    modes = list(figures)
    first = figures[modes[0]]
    lines = [f"{'by group':<32}" + "".join(f"{m:>10}" for m in modes)]
    for name, group, _ in GROUP_FIGURES:
        if name in first:
            label = f"{name} ({first[group + '_questions']:.0f})"
            lines.append(f"{label:<32}" + "".join(f"{figures[m][name]:>10.4f}" for m in modes))
    if "twin_agreement" in first:
        label = f"twin_agreement ({first['twin_pairs']:.0f} pairs)"
        lines.append(f"{label:<32}" + "".join(f"{figures[m]['twin_agreement']:>10.4f}" for m in modes))
    return "\n".join(lines)
