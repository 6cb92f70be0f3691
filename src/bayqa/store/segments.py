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
KEYWORD_FOLDER = "keyword"


@dataclass(frozen=True)
class Part:
    """The contents of a segment: its vectors, its sentence vectors and their (row in segment, start, end)."""

    vectors: Any  # a faiss.Index once stored, a float32 matrix while being built
    sentences: np.ndarray
    spans: np.ndarray


def new_segment_name() -> str:
    return f"seg-{secrets.token_hex(4)}"


def read_segment(folder: Path) -> Part:
    return Part(faiss.read_index(str(folder / VECTORS_FILE)), np.load(folder / SENTENCES_FILE), np.load(folder / SPANS_FILE))


def write_segment(folder: Path, index: faiss.Index, sentences: np.ndarray, spans: np.ndarray) -> None:
    folder.mkdir()
    faiss.write_index(index, str(folder / VECTORS_FILE))
    np.save(folder / SENTENCES_FILE, sentences)
    np.save(folder / SPANS_FILE, spans.astype(np.int32))  # rows and character offsets: int32 is plenty


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
