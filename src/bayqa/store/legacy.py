"""Reading formats 7 and 8, converted in memory to what formats 9 and 10 hold (the next build writes the current one).

They differ from formats 9 and 10 in three places: a chunk database holds each passage's text and title and its
documents' plain texts; sentence vectors are int8 codes with a scale per vector; and one file of BM25 counts
(``keyword/`` in the generation folder, its retired rows already blank) serves the whole generation.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import numpy as np

from bayqa.chunking import Chunk
from bayqa.store.chunkdb import compressed
from bayqa.store.codes import quantize
from bayqa.store.segments import Part

#: The formats read through this module (9 differs from the current one only in where its segments are).
LEGACY_FORMATS = (7, 8)


def read_legacy_chunks(db: sqlite3.Connection, headings: Callable[[str], tuple[str, ...]]) -> tuple[dict[str, bytes], list[Chunk]]:
    """A format 7 or 8 chunk database: its documents' texts compressed as later formats keep them, and its passages."""
    texts = {doc_id: compressed(text) for doc_id, text in db.execute("SELECT id, text FROM documents")}
    chunks = [
        Chunk(id=r[0], doc_id=r[1], ordinal=r[2], title=r[3], headings=headings(r[4]), page=r[5], start=r[6], end=r[7], text=r[8])
        for r in db.execute("SELECT id, doc_id, ordinal, title, headings, page, start, end_, text FROM chunks ORDER BY row")
    ]
    return texts, chunks


def legacy_part(part: Part) -> Part:
    """A format 7 or 8 segment's contents with its sentence vectors in the later formats' 4-bit codes."""
    return Part(part.vectors, quantize(_legacy_dequantize(part.sentences)), part.spans)


def _legacy_dequantize(rows: np.ndarray) -> np.ndarray:
    """float32 vectors back from format 7 and 8 sentence records (int8 codes with a scale per vector)."""
    return rows["codes"].astype(np.float32) * rows["scale"][:, np.newaxis]
