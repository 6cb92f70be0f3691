"""The index store: generations of (FAISS vectors, SQLite metadata, BM25 counts, manifest) in a folder.

It writes what it is handed and never embeds (bayqa.indexing decides what to embed, embeds it, and hands it over).
Layout of the folder (format 10; docs/index-format.md describes every file)::

    CURRENT              name of the live generation (replaced atomically)
    write.lock           held by the one process that is building
    gen-<time>-<rand>/   one complete generation: manifest.json (naming its one or two segments) and retired.json
                         (when rows are retired)
    gen-…partial/        a generation being written (removed if its build died)
    segments/seg-<rand>/ a run of consecutive rows, shared by every generation that names it: chunks.sqlite,
                         keyword/, vectors.faiss, sentences.npy and sentence_spans.npy (bayqa.store.shared)

Row ``i`` of the segments, taken in order, is row ``i`` of the vectors, of the chunk tables and of the BM25
counts. A build either patches the live generation (keeps its main segment, writes a small exact tail, retires
the main rows of changed and removed documents) or rebuilds one segment of every live row (bayqa.store.plan);
either way it keeps the rows of unchanged documents. A generation goes live only once it is complete on disk,
and the folder keeps the live generation and the one before it; a segment no generation names is deleted after a
grace period.
"""

from bayqa.store.codes import quantize
from bayqa.store.folder import IndexStore
from bayqa.store.generations import GENERATION_NAME, fsync_dir, generation_order
from bayqa.store.loaded import LiveSummary, LoadedIndex
from bayqa.store.manifest import (
    FORMAT_VERSION, LOCK_FILE, DocumentInfo, IndexBusy, IndexMismatch, IndexMissing, IndexStoreError, Manifest,
)
from bayqa.store.segments import Part
from bayqa.store.vectors import vector_index
from bayqa.store.writer import Contents

__all__ = [
    "FORMAT_VERSION", "GENERATION_NAME", "LOCK_FILE", "Contents", "DocumentInfo", "IndexBusy", "IndexMismatch",
    "IndexMissing", "IndexStore", "IndexStoreError", "LiveSummary", "LoadedIndex", "Manifest", "Part", "fsync_dir",
    "generation_order", "quantize", "vector_index",
]
