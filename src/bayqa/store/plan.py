"""Patch or rebuild: how the next generation is written from the live one.

A patch keeps the live main segment (linked, never rewritten), writes a new exact tail of the tail's kept rows
and the new ones, and retires the main rows of changed and removed documents. A rebuild writes one segment of
every live row. ``patch_plan`` chooses, from a ``Layout`` of the live generation, with no I/O.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from bayqa.store.loaded import LiveSummary
from bayqa.store.manifest import Layout, Retired

TAIL_ROWS = 5_000  # most rows of the exact tail segment that updates write: small enough that exact search of it is cheap
RETIRED_SHARE = 0.2  # past this share of retired main rows, a build compacts everything into one segment


@dataclass(frozen=True)
class PatchPlan:
    """What a patch build keeps of the live generation's tail, and what it retires of its main segment."""

    kept_tail_rows: tuple[int, ...]
    kept_tail_documents: frozenset[str]
    retired: Retired


@dataclass(frozen=True)
class Plan:
    """How a build writes its generation: from which live generation it keeps the rows of ``reuse``, and whether
    by patching it (``patch``) or by rebuilding everything into one segment (``patch`` None)."""

    previous: LiveSummary | None
    reuse: frozenset[str]
    patch: PatchPlan | None


def patch_plan(layout: Layout, reuse: Collection[str], replaced: Collection[str], new_rows: int) -> PatchPlan | None:
    """How to patch the generation of ``layout`` when the documents of ``reuse`` are kept, those of ``replaced``
    (changed or removed) are not, and ``new_rows`` rows are added; None when it must be rebuilt instead (the tail
    would outgrow TAIL_ROWS, or more than RETIRED_SHARE of the main rows would be retired)."""
    replaced_main = {d: rows for d, rows in layout.main.items() if d in replaced}
    retired = Retired(
        tuple(sorted(set(layout.retired.rows).union(*replaced_main.values()))),
        tuple(sorted(set(layout.retired.documents) | set(replaced_main))),
    )
    kept_docs = frozenset(d for d in layout.tail if d in reuse)
    kept_rows = tuple(sorted(r for d in kept_docs for r in layout.tail[d]))
    if len(kept_rows) + new_rows > TAIL_ROWS or len(retired.rows) > RETIRED_SHARE * layout.main_rows:
        return None
    return PatchPlan(kept_rows, kept_docs, retired)
