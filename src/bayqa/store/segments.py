"""A segment on disk: the vectors of a run of consecutive rows, their sentence codes and where the sentences are.

A segment folder also holds its chunk database (bayqa.store.chunkdb) and the BM25 counts of its passages
(``keyword/``, bayqa.keyword); its files are never changed once written.
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

VECTORS_FILE = "vectors.faiss"
SENTENCES_FILE = "sentences.npy"
SPANS_FILE = "sentence_spans.npy"
MULTILINGUAL_FILE = "multilingual.faiss"  # the second model's passage vectors, when the index has one
KEYWORD_FOLDER = "keyword"


@dataclass(frozen=True)
class Part:
    """The contents of a segment: its vectors, its sentence vectors and their (row in segment, start, end), and the
    multilingual model's passage vectors (None in an index built without one)."""

    vectors: Any  # a faiss.Index once stored, a float32 matrix while being built
    sentences: np.ndarray
    spans: np.ndarray
    multilingual: Any = None  # like ``vectors``


def new_segment_name() -> str:
    return f"seg-{secrets.token_hex(4)}"


def read_segment(folder: Path) -> Part:
    multilingual = folder / MULTILINGUAL_FILE
    return Part(faiss.read_index(str(folder / VECTORS_FILE)), np.load(folder / SENTENCES_FILE), np.load(folder / SPANS_FILE),
                faiss.read_index(str(multilingual)) if multilingual.exists() else None)


def write_segment(folder: Path, index: faiss.Index, sentences: np.ndarray, spans: np.ndarray, multilingual: faiss.Index | None = None) -> None:
    folder.mkdir()
    faiss.write_index(index, str(folder / VECTORS_FILE))
    np.save(folder / SENTENCES_FILE, sentences)
    np.save(folder / SPANS_FILE, spans.astype(np.int32))  # rows and character offsets: int32 is plenty
    if multilingual is not None:
        faiss.write_index(multilingual, str(folder / MULTILINGUAL_FILE))


def link_segment(source: Path, target: Path) -> None:
    """Share a segment with a new generation: segment files are never changed after they are written, so a
    hard link is as safe as a copy, and free. Copies where the file system cannot link."""
    target.mkdir()
    for path in source.iterdir():
        if path.is_dir():  # keyword/
            link_segment(path, target / path.name)
            continue
        try:
            os.link(path, target / path.name)
        except OSError:
            shutil.copy2(path, target / path.name)
