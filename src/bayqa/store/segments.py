"""A segment on disk: the vectors of a run of consecutive rows, their sentence codes and where the sentences are.

A segment folder also holds its chunk database (bayqa.store.chunkdb) and the BM25 counts of its passages
(``keyword/``, bayqa.keyword); its files are never changed once written.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from bayqa.postings import mapped

VECTORS_FILE = "vectors.faiss"
SENTENCES_FILE = "sentences.npy"
SPANS_FILE = "sentence_spans.npy"
CHINESE_FILE = "chinese.npy"  # for each passage, 1 when it is mostly Chinese: hybrid search weighs by language
MULTILINGUAL_FILE = "multilingual.faiss"  # the second model's passage vectors, when the index has one
KEYWORD_FOLDER = "keyword"
#: FAISS maps the codes of flat indexes and the graph and codes of HNSW ones from the file (faiss/index_io.h).
MAPPED = faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY


@dataclass(frozen=True)
class Part:
    """The contents of a segment: its vectors, its sentence vectors and their (row in segment, start, end), and the
    multilingual model's passage vectors (None in an index built without one)."""

    vectors: Any  # a faiss.Index once stored, a float32 matrix while being built
    sentences: np.ndarray
    spans: np.ndarray
    multilingual: Any = None  # like ``vectors``
    chinese: np.ndarray | None = None  # uint8 a passage (None in a segment written before the file existed)


def new_segment_name() -> str:
    """Random, and long enough never to meet another in the shared folder (a rebuild always gets a new name)."""
    return f"seg-{secrets.token_hex(8)}"


def read_segment(folder: Path) -> Part:
    """A segment's vectors, sentence codes and spans (and multilingual vectors, when it has them), mapped read-only
    from its files rather than copied into this process: every process that reads the segment shares one copy in the
    page cache. Its files never change, and a file deleted while mapped stays readable on a local file system until
    it is unmapped."""
    vectors = faiss.read_index(str(folder / VECTORS_FILE), MAPPED)
    multilingual, chinese = folder / MULTILINGUAL_FILE, folder / CHINESE_FILE
    return Part(vectors, mapped(folder / SENTENCES_FILE), mapped(folder / SPANS_FILE),
                faiss.read_index(str(multilingual), MAPPED) if multilingual.exists() else None,
                mapped(chinese) if chinese.exists() else None)


def write_segment(
    folder: Path, index: faiss.Index, sentences: np.ndarray, spans: np.ndarray, multilingual: faiss.Index | None = None,
    chinese: np.ndarray | None = None,
) -> None:
    folder.mkdir()
    faiss.write_index(index, str(folder / VECTORS_FILE))
    np.save(folder / SENTENCES_FILE, sentences)
    np.save(folder / SPANS_FILE, spans.astype(np.int32))  # rows and character offsets: int32 is plenty
    if multilingual is not None:
        faiss.write_index(multilingual, str(folder / MULTILINGUAL_FILE))
    if chinese is not None:
        np.save(folder / CHINESE_FILE, chinese.astype(np.uint8))
