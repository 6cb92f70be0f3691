"""Sentence vectors as 4-bit codes: the form in which they are stored, held in memory and scored."""

from __future__ import annotations

import numpy as np

#: Codes cover this many standard deviations of a vector's components on either side (what lies further out is
#: clipped): closer to the vectors, on average and at worst, than codes that cover the largest component.
CODE_SPREAD = 3.0
CODE_LEVELS = 16  # four bits a component
CODE_CENTRE = (CODE_LEVELS - 1) / 2  # the code of 0.0, halfway between two codes


def quantize(vectors: np.ndarray) -> np.ndarray:
    """Unit vectors as 4-bit codes, two to a byte, with one float32 step per vector (records: ``step``, ``codes``).

    Sentence vectors are the largest part of an index (several per passage): these codes take half the room of
    int8 and a quarter of float16. Component ``i`` is ``(code_i - CODE_CENTRE) * step``. The error they add to a
    cosine is small enough to leave the evaluation figures as they were (docs/BENCHMARKS.md). Kept as one array
    of records so that rows are gathered, sliced and joined like any array.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.shape[1] % 2:  # an odd dimension gets a zero component, so that codes pair up
        vectors = np.hstack([vectors, np.zeros((len(vectors), 1), dtype=np.float32)])
    step = CODE_SPREAD * vectors.std(axis=1) / CODE_CENTRE  # 0 for a zero vector, which then decodes to zeros
    units = vectors / np.where(step > 0, step, 1.0)[:, np.newaxis]
    codes = np.clip(np.floor(units + CODE_CENTRE + 0.5), 0, CODE_LEVELS - 1).astype(np.uint8)
    rows = np.zeros(len(vectors), dtype=np.dtype([("step", "<f4"), ("codes", "u1", (vectors.shape[1] // 2,))]))
    rows["step"] = step
    rows["codes"] = codes[:, 0::2] << 4 | codes[:, 1::2]
    return rows


def dequantize(rows: np.ndarray, dimension: int) -> np.ndarray:
    """float32 vectors (of ``dimension`` components) back from ``quantize``'s records."""
    codes = np.empty((len(rows), rows["codes"].shape[1] * 2), dtype=np.float32)
    codes[:, 0::2], codes[:, 1::2] = rows["codes"] >> 4, rows["codes"] & 15
    return ((codes - CODE_CENTRE) * rows["step"][:, np.newaxis])[:, :dimension]


def quantized_scores(rows: np.ndarray, query: np.ndarray) -> np.ndarray:
    """The inner products of ``query`` with the vectors of ``quantize``'s records, without decoding them:
    the high and low halves of the bytes are the even and odd components."""
    query = np.asarray(query, dtype=np.float32)
    if len(query) % 2:
        query = np.append(query, np.float32(0.0))
    high, low = (rows["codes"] >> 4).astype(np.float32), (rows["codes"] & 15).astype(np.float32)
    return (high @ query[0::2] + low @ query[1::2] - CODE_CENTRE * query.sum()) * rows["step"]
