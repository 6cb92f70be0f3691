"""The places of a result list: which passages are shown, and in what order.

A long document has many passages to match a question by chance; the first places go to different documents
(``cap_per_document``), and of a document's passages the one whose sentence answers comes first (``answer_first``);
a passage in the other language that states the date or figure asked for goes before a first one that does not
(``other_stating_first``).
Pure functions over ranked rows and hits, so a searcher over any store arranges its results the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from bayqa.chunking import Chunk
from bayqa.highlight import Answer, Match


# A passage stating what the question asks for goes first only if it scores at least this share of its document's best:
# one far weaker ("Submit legislative proposals … within 2026" for when a wage rate takes effect) is no answer.
STATING_REACH = 0.5


@dataclass(frozen=True)
class Hit:
    """A passage in its place: ``rank`` 1 first, its fused ``score``, its answer and where the question's terms are."""

    rank: int
    score: float
    chunk: Chunk
    answer: Answer | None
    matches: tuple[Match, ...] = ()  # where the question's terms occur in the passage text


def cap_per_document(
    ranked: Iterable[tuple[int, float]], doc_of: Callable[[int], str], k: int, max_per_doc: int, distinct: int = 0
) -> list[tuple[int, float]]:
    """The first ``k`` of ``ranked`` (row, score) pairs, keeping at most ``max_per_doc`` passages of one document (the
    one ``doc_of`` a row names), and none of a document's later passages in the first ``distinct`` places while another
    document has a passage to show there: those wait, in their order, until the first ``distinct`` places are taken."""
    taken: list[tuple[int, float]] = []
    waiting: list[tuple[int, float]] = []
    per_doc: dict[str, int] = {}
    for pair in ranked:
        doc = doc_of(pair[0])
        count = per_doc.get(doc, 0)
        if count >= max_per_doc:
            continue
        per_doc[doc] = count + 1
        if count and len(taken) < distinct:
            waiting.append(pair)
            continue
        taken.append(pair)
        if len(taken) == distinct:
            taken.extend(waiting)
            waiting.clear()
        if len(taken) >= k:
            return taken[:k]
    return (taken + waiting)[:k]


def answer_first(hits: list[Hit], weight: float, stating: Callable[[Hit], bool] = lambda hit: True) -> list[Hit]:
    """The hits with each document's passages reordered among the places they hold: those whose answer is ``stating``
    what the question asks for (a date, a figure) first, then by score + ``weight`` x answer score. Of two passages of
    the top document, the one whose sentence answers comes first.

    Documents keep their places, and scores stay with the places.
    """
    places: dict[str, list[int]] = {}
    for i, hit in enumerate(hits):
        places.setdefault(hit.chunk.doc_id, []).append(i)
    ordered = list(hits)
    for slots in places.values():
        if len(slots) > 1:
            top = max(hits[i].score for i in slots)
            first = {i for i in slots if stating(hits[i]) and hits[i].score >= STATING_REACH * top}
            best_first = sorted(slots, key=lambda i: (i not in first, -(hits[i].score + weight * _answer_score(hits[i]))))
            for slot, i in zip(slots, best_first):
                ordered[slot] = replace(hits[i], rank=hits[slot].rank, score=hits[slot].score)
    return ordered


def other_stating_first(
    hits: list[Hit], stating: Callable[[Hit], bool], other: Callable[[Hit], bool], reach: int = 3
) -> list[Hit]:
    """The hits with the first passage in the other language among the first ``reach`` places, of another document
    than the first, moved to the front when its answer is ``stating`` what the question asks for and the first's is
    not: the one place where the two languages' passages meet, as ``answer_first`` does within a document. Each keeps
    its own score."""
    return other_first_if(hits, lambda hit, first: stating(hit) and not stating(first), other, reach)


def other_covering_first(
    hits: list[Hit], covering: Callable[[Hit], float], margin: float, other: Callable[[Hit], bool], reach: int = 3
) -> list[Hit]:
    """As ``other_stating_first``, for a passage in the other language that holds more of the question's terms: its
    ``covering`` share is above the first's by more than ``margin``."""
    if not hits:
        return hits
    bar = covering(hits[0]) + margin  # the first's share, read once for every candidate
    return other_first_if(hits, lambda hit, _: covering(hit) > bar, other, reach)


def other_first_if(
    hits: list[Hit], better: Callable[[Hit, Hit], bool], other: Callable[[Hit], bool], reach: int = 3
) -> list[Hit]:
    """The hits with the first passage in the other language among the first ``reach`` places, of another document
    than the first, that is ``better`` than the first moved to the front. Each keeps its own score."""
    if not hits or other(hits[0]):
        return hits
    for i in range(1, min(reach, len(hits))):
        hit = hits[i]
        if other(hit) and hit.chunk.doc_id != hits[0].chunk.doc_id and better(hit, hits[0]):
            moved = [hit, *hits[:i], *hits[i + 1 :]]
            return [replace(h, rank=rank) for rank, h in enumerate(moved, start=1)]
    return hits


def _answer_score(hit: Hit) -> float:
    return hit.answer.score if hit.answer else 0.0


def reordered(hits: list[Hit], among: Callable[[Hit], bool], bonus: Callable[[Hit], float]) -> list[Hit]:
    """The hits with those ``among`` reordered among the places they hold by score + ``bonus``; the others keep their
    places, and scores stay with the places."""
    slots = [i for i, hit in enumerate(hits) if among(hit)]
    ordered = list(hits)
    for slot, i in zip(slots, sorted(slots, key=lambda i: -(hits[i].score + bonus(hits[i])))):
        ordered[slot] = replace(hits[i], rank=hits[slot].rank, score=hits[slot].score)
    return ordered
