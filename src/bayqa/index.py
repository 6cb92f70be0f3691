"""The index store: generations of (FAISS vectors, SQLite metadata, manifest) on disk.

Layout of the index folder::

    CURRENT                 name of the live generation (replaced atomically)
    gen-<time>-<rand>/      one complete index: manifest.json and one or two segments, seg-<rand>/, each
                            holding a run of consecutive chunk rows and the documents they come from:
                            chunks.sqlite (passages as offsets into their document's text, which is stored
                            compressed), keyword/ (the BM25 term counts of its passages),
                            vectors.faiss, sentences.npy + sentence_spans.npy (a vector for each sentence
                            of each chunk, for answer highlighting, in 4-bit codes with a step per sentence)
                            retired.json: the main segment's rows and documents replaced or removed since it was written
    gen-…partial/           a generation being written (removed if a build died)
    write.lock              held by the one process that is building

A build writes a whole new generation beside the live one, flushes it to disk, and only then replaces
``CURRENT``. A crash at any moment therefore leaves ``CURRENT`` naming a complete generation. Row ``i``
of the segments (taken in order) is row ``i`` of the vectors, of the ``chunks`` tables and of the keyword counts.

Two kinds of build:

- **Patch** (the usual update): the previous generation's main segment is hard-linked, not copied (its
  files are never modified, so two generations can share them), and the tail, a small exact segment of at
  most ``TAIL_ROWS`` rows, is written anew: its unchanged passages, then every new one (of added and
  changed documents). The main-segment rows of changed and removed documents are *retired*: listed in the
  generation's ``retired.json`` (with the documents whose main-segment entry no longer counts), blanked in
  the BM25 counts when they are loaded, and skipped by searches. Nothing is loaded or written in proportion to
  the collection, so changing or removing a document costs about what adding one does, where rebuilding the
  HNSW graph of 100k passages takes over a minute.
- **Rebuild** (the tail is full, more than ``RETIRED_SHARE`` of the main rows are retired, or a forced
  build): one segment with every live row.

Either way, documents whose content hash did not change keep their chunks, chunk vectors and sentence
vectors, so only new text is embedded and counted for BM25 (the keyword index keeps per-passage term
counts, from which the collection statistics are recomputed on loading).

After a switch the folder keeps the new generation and the one that was live before it (a process
that has not switched yet may still be loading it); everything else is removed. A loaded generation
holds everything it serves in memory, so deleting its folder never breaks a process still using it.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import sqlite3
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import faiss
import numpy as np
from filelock import FileLock, Timeout

from bayqa.chunking import Chunk, ChunkSettings, chunk_document
from bayqa.documents import Document
from bayqa.keyword import KeywordIndex
from bayqa.terms import sentence_spans

FORMAT_VERSION = 9
#: Formats 7 and 8 (8 is 7 with retired rows) are read, converted in memory (see _read_legacy_chunks), and served;
#: the next build rewrites them as format 9 reusing their vectors, so nothing is embedded again.
READABLE_FORMATS = (7, 8, 9)
RETIRED_FILE = "retired.json"
CURRENT_FILE = "CURRENT"
LOCK_FILE = "write.lock"
CHUNK_STORE = "chunks.sqlite"  # in each segment: its passages (with their global row numbers) and its documents
EMBED_SLICE = 64  # chunks embedded between two progress reports (two batches of 32)
HNSW_NEIGHBOURS = 32  # M: links per vector (recall@10 vs exact search 0.995 on the 11.4k SciFact train passages)
HNSW_BUILD_DEPTH = 80  # efConstruction
HNSW_SEARCH_DEPTH = 256  # efSearch: candidates examined per question (stored in the index file)
CLIP_COSINE = 0.9999  # least cosine of a vector to itself clipped to a graph's code ranges, for a rebuild to keep them
TAIL_ROWS = 5_000  # most rows of the exact tail segment that updates write: exact search of 5,000 vectors takes 0.15 ms
RETIRED_SHARE = 0.2  # past this share of retired main rows, a build compacts everything into one segment


class IndexStoreError(Exception):
    """Base of index problems; the message tells the user what to do."""


class IndexMissing(IndexStoreError):
    pass


class IndexMismatch(IndexStoreError):
    pass


class IndexBusy(IndexStoreError):
    pass


@dataclass(frozen=True)
class Manifest:
    format: int
    generation: str
    model: str
    dimension: int
    chunking: dict[str, int | str]
    documents: int
    chunks: int
    corpus_fingerprint: str
    built_at: str
    build_seconds: float
    segments: tuple[tuple[str, int], ...]  # (folder name, rows) of each segment, in row order
    retired: int = 0  # main-segment rows that no longer count (``chunks`` is the rows of the segments less these)

    @classmethod
    def read(cls, path: Path) -> Manifest:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") not in READABLE_FORMATS:
            raise IndexMismatch(
                f"index at {path.parent} has format {data.get('format')}, this bayqa reads formats {', '.join(map(str, READABLE_FORMATS))}; "
                "rebuild it with `bayqa index`"
            )
        fields = {k: data[k] for k in cls.__dataclass_fields__ if k != "retired"}
        chunking = {"sentence_vectors": "separate", **data["chunking"]}  # the only kind before the setting existed
        return cls(**fields | {"segments": tuple((str(n), int(r)) for n, r in data["segments"]), "retired": int(data.get("retired", 0)),
                               "chunking": chunking})


@dataclass(frozen=True)
class Retired:
    """What of a generation's main segment no longer counts: rows of changed or removed documents, and the
    documents whose main-segment entry is superseded (by the tail's) or removed."""

    rows: tuple[int, ...] = ()
    documents: tuple[str, ...] = ()

    @classmethod
    def read(cls, generation: Path) -> Retired:
        path = generation / RETIRED_FILE
        if not path.exists():
            return cls()
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(tuple(int(r) for r in data["rows"]), tuple(str(d) for d in data["documents"]))

    def write(self, generation: Path) -> None:
        if self.rows or self.documents:
            (generation / RETIRED_FILE).write_text(json.dumps({"rows": list(self.rows), "documents": list(self.documents)}), encoding="utf-8")


@dataclass(frozen=True)
class DocumentInfo:
    """What the index knows about a document, without its text."""

    id: str
    title: str
    kind: str
    content_hash: str
    size: int
    pages: int | None
    chunks: int
    added_at: str
    indexed_at: str


@dataclass(frozen=True)
class BuildReport:
    generation: str | None
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    chunks_embedded: int = 0
    chunks_total: int = 0
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def up_to_date(self) -> bool:
        return not (self.added or self.changed or self.removed) and self.generation is None


def corpus_fingerprint(documents: Sequence[Document]) -> str:
    digest = hashlib.sha256()
    for doc in sorted(documents, key=lambda d: d.id):
        digest.update(f"{doc.id}\0{doc.content_hash}\n".encode())
    return digest.hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Segments:
    """The vector index of a generation: FAISS indexes over consecutive runs of rows, searched as one.

    Offers the two calls of a FAISS index the rest of bayqa uses (``search``, ``reconstruct_batch``),
    with rows numbered across the segments.
    """

    def __init__(self, parts: Sequence[faiss.Index]) -> None:
        self.parts = list(parts)
        self.offsets = np.cumsum([0, *(p.ntotal for p in self.parts)])
        self.ntotal = int(self.offsets[-1])

    @property
    def kind(self) -> str:
        """The FAISS index types, main segment first ("IndexHNSWSQ+IndexFlatIP")."""
        return "+".join(type(p).__name__ for p in self.parts)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Best ``k`` inner products and their rows for each query, like ``faiss.Index.search`` (row -1 = none)."""
        filled = [(part, offset) for part, offset in zip(self.parts, self.offsets) if part.ntotal]
        if len(filled) <= 1:  # FAISS refuses k=0, so an empty segment is never asked
            part, offset = filled[0] if filled else (self.parts[0], 0)
            found_scores, found_rows = part.search(queries, k)
            return found_scores, np.where(found_rows >= 0, found_rows + offset, -1)
        scores, rows = [], []
        for part, offset in filled:
            found_scores, found_rows = part.search(queries, min(k, part.ntotal))
            scores.append(np.where(found_rows >= 0, found_scores, -np.inf))
            rows.append(np.where(found_rows >= 0, found_rows + offset, -1))
        all_scores, all_rows = np.hstack(scores), np.hstack(rows)
        best = np.argsort(-all_scores, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(all_scores, best, axis=1), np.take_along_axis(all_rows, best, axis=1)

    def reconstruct_batch(self, rows: np.ndarray) -> np.ndarray:
        """The stored vectors of ``rows``."""
        out = np.zeros((len(rows), self.parts[0].d if self.parts else 0), dtype=np.float32)
        which = np.searchsorted(self.offsets, rows, side="right") - 1
        for number, part in enumerate(self.parts):
            mine = np.flatnonzero(which == number)
            if len(mine):
                out[mine] = part.reconstruct_batch(rows[mine] - self.offsets[number])
        return out


class LoadedIndex:
    """One generation in memory: its vector segments, every chunk, and document metadata."""

    def __init__(self, path: Path, previous: LoadedIndex | None = None) -> None:
        """Load the generation at ``path``. If ``previous`` (the generation being served) has the same main
        segment, that segment's passages, vectors and sentences are taken from memory, not disk: after an
        addition to 100k passages, 0.15-0.77 s against 2.0-2.7 s for a full load in ``bayqa bench`` (two runs)."""
        self.path = path
        self.manifest = Manifest.read(path / "manifest.json")
        headings = lru_cache(maxsize=None)(_headings)  # a section's passages share one tuple
        retired = Retired.read(path)
        self.chunks: list[Chunk] = []
        parts: list[Part] = []
        main_name = self.manifest.segments[0][0]
        tail_documents: dict[str, DocumentInfo] = {}
        tail_texts: dict[str, bytes] = {}
        from_disk = self.manifest.segments
        legacy = self.manifest.format < FORMAT_VERSION
        keywords: list[KeywordIndex] = []
        if previous is not None and _same_main_segment(previous.manifest, self.manifest):
            # Segments never change once written: the main rows, their documents and vectors are those of ``previous``.
            rows = self.manifest.segments[0][1]
            sentences = int(previous.sentence_offsets[rows])
            self.chunks.extend(previous.chunks[:rows])
            self._main_documents, self._main_texts = previous._main_documents, previous._main_texts
            keywords = [previous._main_keyword]
            chunk_of_sentence = np.repeat(np.arange(rows, dtype=np.int64), np.diff(previous.sentence_offsets[: rows + 1]))
            spans = np.column_stack([chunk_of_sentence, previous.sentence_spans[:sentences]])
            parts.append(Part(previous.vectors.parts[0], previous.sentence_vectors[:sentences], spans))
            from_disk = self.manifest.segments[1:]
        for name, _ in from_disk:
            with _read_only(path / name / CHUNK_STORE) as db:
                if legacy:
                    texts, chunks = _read_legacy_chunks(db, headings)
                else:
                    texts = dict(db.execute("SELECT id, text FROM documents"))
                    chunks = _read_chunks(db, headings, texts)
                self.chunks.extend(chunks)
                documents = _document_infos(db)
            if name == main_name:
                self._main_documents, self._main_texts = documents, texts
            else:
                tail_documents.update(documents)
                tail_texts.update(texts)
            part = read_segment(path / name)
            parts.append(Part(part.vectors, quantize(_legacy_dequantize(part.sentences)), part.spans) if legacy else part)
            if not legacy:
                keywords.append(KeywordIndex.load(path / name / "keyword"))
        if legacy:  # one file of counts for the whole generation, its retired rows already blank
            keywords = [KeywordIndex.load(path / "keyword")]
        gone = set(retired.documents)
        self.documents: dict[str, DocumentInfo] = dict(sorted(
            ({k: v for k, v in self._main_documents.items() if k not in gone} | tail_documents).items()
        ))
        self._texts = {k: v for k, v in self._main_texts.items() if k not in gone} | tail_texts
        self.vectors = Segments([p.vectors for p in parts])
        if self.vectors.ntotal != len(self.chunks):
            raise IndexMismatch(f"index at {path} is inconsistent ({self.vectors.ntotal} vectors, {len(self.chunks)} chunks); rebuild it")
        #: False for retired rows (None when there are none): searches skip them.
        self.alive: np.ndarray | None = None
        if retired.rows:
            self.alive = np.ones(len(self.chunks), dtype=bool)
            self.alive[np.asarray(retired.rows, dtype=np.int64)] = False
        self.rows_by_doc: dict[str, list[int]] = {}
        for row, chunk in enumerate(self.chunks):
            if self.alive is None or self.alive[row]:
                self.rows_by_doc.setdefault(chunk.doc_id, []).append(row)
        self._main_keyword = keywords[0]  # as stored, so that the next generation patched from this one can share it
        self.keyword = KeywordIndex.joined(keywords).blanked(retired.rows).prepare()
        self.sentence_vectors: np.ndarray = _joined([p.sentences for p in parts])
        spans = _joined([p.spans + [offset, 0, 0] for p, offset in zip(parts, self.vectors.offsets)])
        self.sentence_spans: np.ndarray = spans[:, 1:]
        # Sentences are stored in chunk order: those of chunk ``r`` are rows sentence_offsets[r]:sentence_offsets[r + 1].
        self.sentence_offsets: np.ndarray = np.searchsorted(spans[:, 0], np.arange(len(self.chunks) + 1))
        if self.keyword.size != len(self.chunks) or len(self.sentence_vectors) != len(spans):
            raise IndexMismatch(f"index at {path} is inconsistent (keyword or sentence files do not match the chunks); rebuild it")

    @property
    def generation(self) -> str:
        return self.manifest.generation

    def document_text(self, doc_id: str) -> str | None:
        """The whole text of a document (kept compressed in memory: a third of the size, for the rare reader)."""
        stored = self._texts.get(doc_id)
        return None if stored is None else _decompressed(stored)

    def sentences_of(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """Sentence vectors and (start, end) document offsets of chunk ``row``'s sentences."""
        first, last = self.sentence_offsets[row], self.sentence_offsets[row + 1]
        return dequantize(self.sentence_vectors[first:last], self.manifest.dimension), self.sentence_spans[first:last]

    def sentence_spans_of(self, row: int) -> np.ndarray:
        """(start, end) document offsets of chunk ``row``'s sentences."""
        return self.sentence_spans[self.sentence_offsets[row] : self.sentence_offsets[row + 1]]

    def best_sentence_scores(self, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
        """For each chunk of ``rows``, the highest cosine between ``query`` and one of its sentences (-1 if none)."""
        scores, lengths = self._sentence_cosines(rows, query)
        best = np.full(len(rows), -1.0, dtype=np.float64)
        has = lengths > 0
        if has.any():
            best[has] = np.maximum.reduceat(scores, (np.cumsum(lengths) - lengths)[has])
        return best

    def sentence_scores(self, rows: np.ndarray, query: np.ndarray) -> list[np.ndarray]:
        """For each chunk of ``rows``, the cosines between ``query`` and its sentences, in order. One product over
        all of them: a search's ten hits took 0.04 ms so, against 0.1 ms decoding each hit's sentences apart."""
        if not len(rows):
            return []
        scores, lengths = self._sentence_cosines(rows, query)
        return np.split(scores, np.cumsum(lengths)[:-1])

    def _sentence_cosines(self, rows: np.ndarray, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        picked, lengths = self.sentence_rows(rows)
        return quantized_scores(self.sentence_vectors[picked], query), lengths

    def sentence_rows(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The sentence rows of chunks ``rows``, chunk after chunk, and how many each chunk has."""
        starts, ends = self.sentence_offsets[rows], self.sentence_offsets[rows + 1]
        lengths = ends - starts
        firsts = np.cumsum(lengths) - lengths
        return np.arange(int(lengths.sum())) + np.repeat(starts - firsts, lengths), lengths

    def vectors_of(self, rows: Sequence[int]) -> np.ndarray:
        if not rows:
            return np.zeros((0, self.manifest.dimension), dtype=np.float32)
        return self.vectors.reconstruct_batch(np.asarray(rows, dtype=np.int64)).astype(np.float32)


@dataclass(frozen=True)
class LiveSummary:
    """What a build needs to know of the live generation before deciding how to build: no vectors, no texts."""

    path: Path
    manifest: Manifest
    documents: dict[str, DocumentInfo]
    retired: Retired

    @classmethod
    def read(cls, path: Path) -> LiveSummary:
        manifest = Manifest.read(path / "manifest.json")
        retired = Retired.read(path)
        documents: dict[str, DocumentInfo] = {}
        for number, (name, _) in enumerate(manifest.segments):
            with _read_only(path / name / CHUNK_STORE) as db:
                found = _document_infos(db)
            documents.update({k: v for k, v in found.items() if k not in retired.documents} if number == 0 else found)
        return cls(path, manifest, documents, retired)


@dataclass(frozen=True)
class Part:
    """The contents of a segment: its vectors, its sentence vectors and their (row in segment, start, end)."""

    vectors: Any  # a faiss.Index once stored, a float32 matrix while being built
    sentences: np.ndarray
    spans: np.ndarray


def read_segment(folder: Path) -> Part:
    return Part(faiss.read_index(str(folder / "vectors.faiss")), np.load(folder / "sentences.npy"),
                np.load(folder / "sentence_spans.npy"))


def write_segment(folder: Path, index: faiss.Index, sentences: np.ndarray, spans: np.ndarray) -> None:
    folder.mkdir()
    faiss.write_index(index, str(folder / "vectors.faiss"))
    np.save(folder / "sentences.npy", sentences)
    np.save(folder / "sentence_spans.npy", spans.astype(np.int32))  # rows and character offsets: int32 is plenty


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


def _same_main_segment(old: Manifest, new: Manifest) -> bool:
    """Whether ``new`` was patched from ``old`` (or from a generation patched from it): segment names are random,
    so a shared main segment means no build since ``old`` rebuilt it (a rebuild always writes a new one)."""
    return (old.format, old.model, old.dimension, old.chunking, old.segments[:1]) == (
        new.format, new.model, new.dimension, new.chunking, new.segments[:1]
    )


@contextmanager
def _read_only(path: Path) -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        yield db
    finally:
        db.close()


#: Sentence codes cover this many standard deviations of a vector's components on either side (what lies
#: further out is clipped): closer to the vectors than covering the largest component (cosine 0.9931 against
#: 0.9924 on average over 20,000 SciFact sentences, 0.9864 against 0.9784 at worst).
CODE_SPREAD = 3.0
CODE_LEVELS = 16  # four bits a component
CODE_CENTRE = (CODE_LEVELS - 1) / 2  # the code of 0.0, halfway between two codes


def quantize(vectors: np.ndarray) -> np.ndarray:
    """Unit vectors as 4-bit codes, two to a byte, with one float32 step per vector (records: ``step``, ``codes``).

    Sentence vectors are the largest part of an index (3-5 per passage): at 100k passages 271 MiB as float16,
    137 MiB as int8, 69 MiB as these codes. Component ``i`` is ``(code_i - CODE_CENTRE) * step``. A cosine to another
    vector moves by 0.005 on average (0.0003 for int8); on the GBA set and SciFact that changes no figure
    beyond one question's noise (README, "What was tried"). Kept as one array of records so that rows are gathered,
    sliced and joined like any array.
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


def _joined(arrays: Sequence[np.ndarray]) -> np.ndarray:
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)


def _headings(stored: str) -> tuple[str, ...]:
    """A chunk's heading path as stored in its chunk store (a JSON list)."""
    return tuple(json.loads(stored))


def _read_chunks(
    db: sqlite3.Connection, headings: Callable[[str], tuple[str, ...]], texts: dict[str, bytes], where: str = "", args: Sequence[Any] = ()
) -> list[Chunk]:
    """The passages of a segment's chunk store in row order (``where``: an SQL condition on them).

    A passage is stored as offsets into its document, whose text (``texts``, compressed as stored) is
    decompressed once for all its passages: the rows come in document order.
    """
    chunks: list[Chunk] = []
    doc_id, text, title = None, "", ""
    for r in db.execute(
        f"SELECT c.id, c.doc_id, c.ordinal, d.title, c.headings, c.page, c.start, c.end_ FROM chunks c "
        f"JOIN documents d ON d.id = c.doc_id {where} ORDER BY c.row", args
    ):
        if r[1] != doc_id:
            doc_id, title, text = r[1], r[3], _decompressed(texts[r[1]])
        chunks.append(Chunk(id=r[0], doc_id=doc_id, ordinal=r[2], title=title, headings=headings(r[4]), page=r[5],
                            start=r[6], end=r[7], text=text[r[6] : r[7]]))
    return chunks


def _read_legacy_chunks(db: sqlite3.Connection, headings: Callable[[str], tuple[str, ...]]) -> tuple[dict[str, bytes], list[Chunk]]:
    """A format 7 or 8 chunk store, which held each passage's text and title and its documents' plain texts: the
    documents' texts compressed as format 9 keeps them, and the passages."""
    texts = {doc_id: _compressed(text) for doc_id, text in db.execute("SELECT id, text FROM documents")}
    chunks = [
        Chunk(id=r[0], doc_id=r[1], ordinal=r[2], title=r[3], headings=headings(r[4]), page=r[5], start=r[6], end=r[7], text=r[8])
        for r in db.execute("SELECT id, doc_id, ordinal, title, headings, page, start, end_, text FROM chunks ORDER BY row")
    ]
    return texts, chunks


def _legacy_dequantize(rows: np.ndarray) -> np.ndarray:
    """float32 vectors back from format 7 and 8 sentence records (int8 codes with a scale per vector)."""
    return rows["codes"].astype(np.float32) * rows["scale"][:, np.newaxis]


def _compressed(text: str) -> bytes:
    """A document's text as stored: zlib, about half the size of plain UTF-8 for a short abstract, a third for long text."""
    return zlib.compress(text.encode("utf-8"), 6)


def _decompressed(stored: bytes) -> str:
    return zlib.decompress(stored).decode("utf-8")


def _document_infos(db: sqlite3.Connection) -> dict[str, DocumentInfo]:
    return {
        r[0]: DocumentInfo(*r)
        for r in db.execute("SELECT id, title, kind, content_hash, size, pages, chunks, added_at, indexed_at FROM documents ORDER BY id")
    }


def vector_index(vectors: np.ndarray, exact_below: int, previous: faiss.Index | None = None) -> faiss.Index:
    """Exact inner-product search for small collections, an HNSW graph once exact search gets slow.

    Exact search reads every vector per question (about 9 ms per 100k on one core); the graph visits a
    few thousand whatever the size, at a small, measured loss of recall (``bayqa bench`` reports it).

    Vectors in the graph are 8-bit codes, each component within its own range (learned from the vectors):
    a quarter of float32's memory and disk, as fast to visit, and recall@10 against exact search of 0.995
    (0.999 for float16, on the 11.4k SciFact train passages with 800 real questions and 1,000 sentences).
    A rebuild whose kept vectors come from ``previous``'s graph keeps its ranges while they still hold the
    vectors (none moves by more than CLIP_COSINE when clipped to them), so decoding and encoding again gives
    the same codes: compacting many times does not add error.
    """
    count, dimension = vectors.shape
    if count < exact_below:
        return exact_index(vectors)
    index = faiss.IndexHNSWSQ(dimension, faiss.ScalarQuantizer.QT_8bit, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_BUILD_DEPTH
    index.hnsw.efSearch = HNSW_SEARCH_DEPTH
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    ranges = _code_ranges(previous, dimension)
    if ranges is None or not _ranges_hold(ranges, vectors):
        index.train(vectors)
    else:
        storage = faiss.downcast_index(index.storage)
        faiss.copy_array_to_vector(ranges, storage.sq.trained)
        storage.is_trained = index.is_trained = True
    index.add(vectors)
    return index


def _code_ranges(index: faiss.Index | None, dimension: int) -> np.ndarray | None:
    """The learned component ranges of an 8-bit HNSW graph like ``vector_index``'s (None for any other index)."""
    if not isinstance(index, faiss.IndexHNSWSQ) or index.d != dimension:
        return None
    storage = faiss.downcast_index(index.storage)
    return faiss.vector_to_array(storage.sq.trained) if storage.sq.qtype == faiss.ScalarQuantizer.QT_8bit else None


def _ranges_hold(ranges: np.ndarray, vectors: np.ndarray) -> bool:
    """Whether clipping ``vectors`` to ``ranges`` (each component's lowest value, then its span) keeps every one
    within CLIP_COSINE of itself; a graph first built from few passages has too narrow ranges for later ones."""
    lowest, span = np.split(ranges, 2)
    clipped = np.clip(vectors, lowest, lowest + span)
    norms = np.linalg.norm(vectors, axis=1) * np.linalg.norm(clipped, axis=1)
    cosines = np.einsum("ij,ij->i", vectors, clipped) / np.where(norms > 0, norms, 1.0)
    return bool(np.all(cosines[norms > 0] >= CLIP_COSINE))


def exact_index(vectors: np.ndarray) -> faiss.Index:
    index = faiss.IndexFlatIP(vectors.shape[1])
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


class Encoder(Protocol):
    """What a build needs from an embedding model (bayqa.embedding.Embedder fits)."""

    model_id: str
    dimension: int
    max_tokens: int

    def count_tokens(self, text: str) -> int: ...
    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray: ...
    def encode_with_spans(
        self, texts: list[str], spans: list[list[tuple[tuple[int, int], ...]]], batch_size: int = 32
    ) -> tuple[np.ndarray, list[np.ndarray]]: ...


class IndexStore:
    """The index folder: find, open and build generations."""

    def __init__(self, root: Path, exact_below: int = 20_000) -> None:
        self.root = Path(root)
        self.exact_below = exact_below

    def current_generation(self) -> str | None:
        try:
            name = (self.root / CURRENT_FILE).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return name if name and (self.root / name / "manifest.json").exists() else None

    def rebuild_reason(self) -> str | None:
        """Why the live generation cannot be served as it is (missing, or written by another index format)."""
        name = self.current_generation()
        if name is None:
            return f"no index in {self.root}"
        try:
            Manifest.read(self.root / name / "manifest.json")
        except IndexMismatch as exc:
            return str(exc).split(";")[0]
        return None

    def open(self, model_id: str | None = None, previous: LoadedIndex | None = None) -> LoadedIndex:
        """Load the live generation; with ``model_id``, refuse an index built with another model. ``previous``,
        a generation already in memory, lends it what the two share."""
        name = self.current_generation()
        if name is None:
            raise IndexMissing(f"no index in {self.root}; build one with `bayqa index` (or start `bayqa serve`, which builds it)")
        loaded = LoadedIndex(self.root / name, previous)
        if model_id is not None and loaded.manifest.model != model_id:
            raise IndexMismatch(
                f"the index in {self.root} was built with model {loaded.manifest.model!r} "
                f"(dimension {loaded.manifest.dimension}), but the configured model is {model_id!r}; "
                f"use --model {loaded.manifest.model!r}, or rebuild with `bayqa index --model {model_id}` "
                "(or a separate --index folder)"
            )
        return loaded

    def build(
        self,
        documents: Sequence[Document],
        encoder: Encoder,
        settings: ChunkSettings,
        *,
        problems: Sequence[str] = (),
        batch_size: int = 32,
        progress: bool = False,
        force: bool = False,
        wait: float = 0,
        on_progress: Callable[[int, int], None] | None = None,
        before_switch: Callable[[Path], None] | None = None,
    ) -> BuildReport:
        """Bring the index in line with ``documents``, re-embedding only what changed.

        Holds the folder's write lock for the whole build, waiting up to ``wait`` seconds for another
        process to finish its build; raises IndexBusy if it does not. ``on_progress(done, total)``
        reports embedded chunks. ``before_switch`` runs on the finished generation just before it
        goes live (a hook for tests).
        """
        with self.writing(wait):
            return self.build_holding_lock(documents, encoder, settings, problems=problems, batch_size=batch_size,
                                           progress=progress, force=force, on_progress=on_progress, before_switch=before_switch)

    @contextmanager
    def writing(self, wait: float = 0) -> Iterator[None]:
        """Hold the folder's write lock (waiting up to ``wait`` seconds for another build; IndexBusy if it does not
        end): what a build reads of the corpus must be read while this is held, or it may land an older snapshot
        over a newer generation."""
        self.root.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.root / LOCK_FILE))
        try:
            lock.acquire(timeout=wait)
        except Timeout as exc:
            raise IndexBusy(f"another process is updating the index in {self.root}; try again when it has finished") from exc
        try:
            yield
        finally:
            lock.release()

    def build_holding_lock(
        self,
        documents: Sequence[Document],
        encoder: Encoder,
        settings: ChunkSettings,
        *,
        problems: Sequence[str] = (),
        batch_size: int = 32,
        progress: bool = False,
        force: bool = False,
        on_progress: Callable[[int, int], None] | None = None,
        before_switch: Callable[[Path], None] | None = None,
    ) -> BuildReport:
        """``build`` for a caller inside ``writing()``. A build that fails removes what it had written."""
        try:
            return self._build_locked(documents, encoder, settings, problems, batch_size, progress, force, on_progress, before_switch)
        except BaseException:
            self._remove_partial_generations()
            raise

    def _build_locked(
        self,
        documents: Sequence[Document],
        encoder: Encoder,
        settings: ChunkSettings,
        problems: Sequence[str],
        batch_size: int,
        progress: bool,
        force: bool,
        on_progress: Callable[[int, int], None] | None,
        before_switch: Callable[[Path], None] | None,
    ) -> BuildReport:
        started = time.perf_counter()
        self._remove_partial_generations()
        live = self.current_generation()
        notes: list[str] = []
        previous = self._previous_for_reuse(encoder, settings, notes)
        old_docs = previous.documents if previous else {}
        new_ids = {d.id for d in documents}
        added = tuple(d.id for d in documents if d.id not in old_docs)
        changed = tuple(d.id for d in documents if d.id in old_docs and old_docs[d.id].content_hash != d.content_hash)
        unchanged = tuple(d.id for d in documents if d.id in old_docs and old_docs[d.id].content_hash == d.content_hash)
        removed = tuple(sorted(set(old_docs) - new_ids))
        fingerprint = corpus_fingerprint(documents)
        current = previous is not None and previous.manifest.format == FORMAT_VERSION
        if current and not force and not (added or changed or removed) and previous.manifest.corpus_fingerprint == fingerprint:
            self._remove_old_generations(keep={live, *self._generation_before(live)})
            return BuildReport(None, unchanged=unchanged, problems=tuple(problems), chunks_total=previous.manifest.chunks,
                               seconds=time.perf_counter() - started, notes=tuple(notes))

        reuse = set(unchanged) if previous is not None and not force else set()
        new_docs = [d for d in documents if d.id not in reuse]
        doc_chunks = {d.id: chunk_document(d, encoder.count_tokens, settings) for d in new_docs}
        to_embed = [c for d in new_docs for c in doc_chunks[d.id]]
        fresh_sentences = {c.id: chunk_sentences(c) for c in to_embed}
        if settings.sentence_vectors == "pooled":
            fresh, sentence_vectors = _embed_pooled(encoder, to_embed, fresh_sentences, batch_size, progress, on_progress)
        else:
            fresh, sentence_vectors = _embed_separately(encoder, to_embed, fresh_sentences, batch_size, progress, on_progress)
        fresh_sentence_vectors = quantize(sentence_vectors)
        fresh_spans = [(row, s, e) for row, c in enumerate(to_embed) for s, e in fresh_sentences[c.id]]
        new_part = Part(fresh, fresh_sentence_vectors, np.asarray(fresh_spans, dtype=np.int64).reshape(-1, 3))

        generation = f"gen-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"
        partial = self.root / f"{generation}.partial"
        partial.mkdir()
        now = _now()

        def info(d: Document) -> DocumentInfo:
            return DocumentInfo(
                id=d.id, title=d.title, kind=d.kind, content_hash=d.content_hash, size=d.size, pages=d.pages,
                chunks=len(doc_chunks[d.id]) if d.id in doc_chunks else old_docs[d.id].chunks,
                added_at=old_docs[d.id].added_at if d.id in old_docs else now,
                indexed_at=old_docs[d.id].indexed_at if d.id in reuse else now,
            )

        plan = _patch_plan(previous, reuse, (*changed, *removed), len(to_embed)) if current and reuse else None
        if plan is not None:
            assert previous is not None
            kept = {d.id: d for d in documents if d.id in plan.kept_tail_documents}
            tail_docs = [*kept.values(), *new_docs]
            segments = self._patch(previous, partial, plan, tail_docs, [info(d) for d in tail_docs], to_embed, new_part)
            retired = plan.retired
        else:
            segments = self._rebuild(previous, partial, documents, [info(d) for d in documents], reuse, doc_chunks, new_part)
            retired = Retired()
        retired.write(partial)

        manifest = Manifest(
            format=FORMAT_VERSION, generation=generation, model=encoder.model_id, dimension=encoder.dimension,
            chunking=asdict(settings), documents=len(documents), chunks=sum(rows for _, rows in segments) - len(retired.rows),
            corpus_fingerprint=fingerprint, built_at=now, build_seconds=round(time.perf_counter() - started, 3),
            segments=tuple(segments), retired=len(retired.rows),
        )
        (partial / "manifest.json").write_text(json.dumps(asdict(manifest), indent=2), encoding="utf-8")
        _fsync_tree(partial)
        final = self.root / generation
        os.replace(partial, final)
        if before_switch is not None:
            before_switch(final)
        self._switch(generation)
        self._remove_old_generations(keep={generation, live or generation})
        return BuildReport(
            generation, added=added, changed=changed, removed=removed, unchanged=unchanged, problems=tuple(problems),
            chunks_embedded=len(to_embed), chunks_total=manifest.chunks, seconds=time.perf_counter() - started,
            notes=tuple(notes),
        )

    def _patch(
        self, previous: LiveSummary, partial: Path, plan: PatchPlan, tail_docs: Sequence[Document], tail_infos: Sequence[DocumentInfo],
        new_chunks: Sequence[Chunk], new_part: Part,
    ) -> list[tuple[str, int]]:
        """Link the main segment and write the tail anew: its kept rows, then the new ones.

        At 100k chunks this writes a few MB instead of a 200 MB generation, and reads nothing of the main
        segment (measured in README "Performance").
        """
        main, *tail = previous.manifest.segments
        main_rows = main[1]
        link_segment(previous.path / main[0], partial / main[0])
        kept_chunks: list[Chunk] = []
        joined = new_part
        new_texts = [c.embedding_text for c in new_chunks]
        keyword = KeywordIndex.build(new_texts)
        if tail and plan.kept_tail_rows:
            local = np.asarray(plan.kept_tail_rows, dtype=np.int64) - main_rows
            old = read_segment(previous.path / tail[0][0])
            with _read_only(previous.path / tail[0][0] / CHUNK_STORE) as db:
                kept_chunks = _read_chunks(db, _headings, dict(db.execute("SELECT id, text FROM documents")),
                                           "WHERE row IN (SELECT value FROM json_each(?))", [json.dumps(list(plan.kept_tail_rows))])
            picked = np.isin(old.spans[:, 0], local)
            spans = old.spans[picked]
            spans[:, 0] = np.searchsorted(local, spans[:, 0])  # row within the kept rows, in their order
            joined = Part(np.vstack([old.vectors.reconstruct_batch(local), new_part.vectors]),
                          np.concatenate([old.sentences[picked], new_part.sentences]),
                          np.concatenate([spans, new_part.spans + [len(local), 0, 0]]))
            keyword = KeywordIndex.load(previous.path / tail[0][0] / "keyword").extended(local.tolist(), new_texts)
        if not len(joined.vectors) and not tail_docs:
            return [main]
        name = f"seg-{secrets.token_hex(4)}"
        write_segment(partial / name, exact_index(joined.vectors), joined.sentences, joined.spans)
        keyword.save(partial / name / "keyword")
        _write_sqlite(partial / name / CHUNK_STORE, tail_docs, tail_infos, [*kept_chunks, *new_chunks], first_row=main_rows)
        return [main, (name, len(joined.vectors))]

    def _rebuild(
        self, summary: LiveSummary | None, partial: Path, documents: Sequence[Document], infos: Sequence[DocumentInfo],
        reuse: set[str], doc_chunks: dict[str, list[Chunk]], new_part: Part,
    ) -> list[tuple[str, int]]:
        """Everything in one new segment: kept documents' rows (in their old order) and then the new ones."""
        previous = LoadedIndex(summary.path) if summary is not None and reuse else None
        first_row = {doc_id: rows[0] for doc_id, rows in previous.rows_by_doc.items()} if previous is not None else {}
        kept = sorted((d for d in documents if d.id in reuse), key=lambda d: first_row.get(d.id, -1))
        kept_rows = [r for d in kept for r in previous.rows_by_doc.get(d.id, [])] if previous is not None else []
        kept_chunks = [previous.chunks[r] for r in kept_rows] if previous is not None else []
        all_chunks = [*kept_chunks, *(c for d in documents if d.id not in reuse for c in doc_chunks[d.id])]
        old_vectors = previous.vectors_of(kept_rows) if previous is not None else new_part.vectors[:0]
        main = previous.vectors.parts[0] if previous is not None else None
        index = vector_index(np.vstack([old_vectors, new_part.vectors]), self.exact_below, main)
        sentences, spans = _sentences_in_order(previous, kept_rows, new_part)
        name = f"seg-{secrets.token_hex(4)}"
        write_segment(partial / name, index, sentences, spans)
        _write_sqlite(partial / name / CHUNK_STORE, documents, infos, all_chunks)
        keyword = previous.keyword if previous is not None else KeywordIndex.empty()
        keyword.extended(kept_rows, [c.embedding_text for c in all_chunks[len(kept_rows):]]).save(partial / name / "keyword")
        return [(name, len(all_chunks))]

    def _previous_for_reuse(self, encoder: Encoder, settings: ChunkSettings, notes: list[str]) -> LiveSummary | None:
        """The live generation, if its vectors can be reused (same model and chunking)."""
        name = self.current_generation()
        if name is None:
            return None
        try:
            previous = LiveSummary.read(self.root / name)
        except (IndexStoreError, sqlite3.Error, KeyError, ValueError) as exc:
            notes.append(f"previous index not reused: {exc}")
            return None
        if previous.manifest.model != encoder.model_id or previous.manifest.dimension != encoder.dimension:
            notes.append(f"model changed from {previous.manifest.model!r} to {encoder.model_id!r}: everything is re-embedded")
            return None
        before, now = previous.manifest.chunking, asdict(settings)
        if before != now:
            if {k: v for k, v in before.items() if k != "sentence_vectors"} == {k: v for k, v in now.items() if k != "sentence_vectors"}:
                notes.append(f"sentence vectors changed from {before['sentence_vectors']} to {now['sentence_vectors']}: everything is re-embedded")
            else:
                notes.append("chunking settings changed: everything is re-chunked and re-embedded")
            return None
        return previous

    def _switch(self, generation: str) -> None:
        tmp = self.root / f"{CURRENT_FILE}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(generation + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.root / CURRENT_FILE)
        fsync_dir(self.root)

    def _generations(self) -> list[Path]:
        return sorted(p for p in self.root.glob("gen-*") if p.is_dir() and not p.name.endswith(".partial"))

    def _generation_before(self, live: str | None) -> list[str]:
        """The newest generation older than ``live``: a process that has not switched yet may still load it."""
        older = [p.name for p in self._generations() if live is not None and p.name < live]
        return older[-1:]

    def _remove_old_generations(self, keep: set[str]) -> None:
        """Everything but ``keep``: older generations and any that a crash left unswitched."""
        for path in self._generations():
            if path.name not in keep:
                shutil.rmtree(path, ignore_errors=True)

    def _remove_partial_generations(self) -> None:
        """Left by a build that died; safe to remove because we hold the write lock."""
        for path in self.root.glob("gen-*.partial"):
            shutil.rmtree(path, ignore_errors=True)


@dataclass(frozen=True)
class PatchPlan:
    """What a patch build keeps of the live generation's tail, and what it retires of its main segment."""

    kept_tail_rows: tuple[int, ...]
    kept_tail_documents: frozenset[str]
    retired: Retired


def _patch_plan(previous: LiveSummary, reuse: set[str], replaced: Sequence[str], new_rows: int) -> PatchPlan | None:
    """How to update ``previous`` by a patch, or None when it must be rebuilt (the tail would outgrow TAIL_ROWS,
    or more than RETIRED_SHARE of the main rows would be retired)."""
    (main_name, main_rows), *tail = previous.manifest.segments
    with _read_only(previous.path / main_name / CHUNK_STORE) as db:
        wanted = [json.dumps(list(replaced))]
        rows = {r for (r,) in db.execute("SELECT row FROM chunks WHERE doc_id IN (SELECT value FROM json_each(?))", wanted)}
        in_main = {d for (d,) in db.execute("SELECT id FROM documents WHERE id IN (SELECT value FROM json_each(?))", wanted)}
    kept_rows: list[int] = []
    kept_docs: set[str] = set()
    if tail:
        with _read_only(previous.path / tail[0][0] / CHUNK_STORE) as db:
            kept_docs = {d for (d,) in db.execute("SELECT id FROM documents") if d in reuse}
            kept_rows = [r for r, d in db.execute("SELECT row, doc_id FROM chunks ORDER BY row") if d in kept_docs]
    retired = Retired(tuple(sorted(set(previous.retired.rows) | rows)), tuple(sorted(set(previous.retired.documents) | in_main)))
    if len(kept_rows) + new_rows > TAIL_ROWS or len(retired.rows) > RETIRED_SHARE * main_rows:
        return None
    return PatchPlan(tuple(kept_rows), frozenset(kept_docs), retired)


def _embed_separately(
    encoder: Encoder, chunks: Sequence[Chunk], sentences: dict[str, list[tuple[int, int]]], batch_size: int, progress: bool,
    on_progress: Callable[[int, int], None] | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Passage vectors, then a pass over every sentence with its title and section path: a row per sentence."""
    # A sentence in the overlap of two passages of a section is the same text in both: embedded once.
    sentence_texts = [sentence_embedding_text(c, s, e) for c in chunks for s, e in sentences[c.id]]
    distinct = dict.fromkeys(sentence_texts)
    total = len(chunks) + len(distinct)
    vectors = _embed(encoder, [c.embedding_text for c in chunks], batch_size, progress, "passages",
                     on_progress and (lambda done, _: on_progress(done, total)))
    distinct_vectors = _embed(encoder, list(distinct), batch_size, progress, "sentences",
                              on_progress and (lambda done, _: on_progress(len(chunks) + done, total)))
    row_of = {text: row for row, text in enumerate(distinct)}
    return vectors, distinct_vectors[[row_of[t] for t in sentence_texts]]


def _embed_pooled(
    encoder: Encoder, chunks: Sequence[Chunk], sentences: dict[str, list[tuple[int, int]]], batch_size: int, progress: bool,
    on_progress: Callable[[int, int], None] | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Passage vectors and their sentences' vectors from one pass: a sentence pools its own tokens and those of the
    title and section path in front of the passage (``Chunk.embedding_text``)."""
    from tqdm import tqdm

    texts = [c.embedding_text for c in chunks]
    spans = []
    for c in chunks:
        body = len(c.context) + 1  # the passage text starts after the context and a newline
        spans.append([((0, len(c.context)), (body + s - c.start, body + e - c.start)) for s, e in sentences[c.id]])
    vectors = np.zeros((len(chunks), encoder.dimension), dtype=np.float32)
    pooled: list[np.ndarray] = [np.zeros((0, encoder.dimension), dtype=np.float32)] * len(chunks)
    with tqdm(total=len(chunks), desc="embedding passages and their sentences", unit="passage", disable=not progress or not chunks) as bar:
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # longest first, as in _embed
        for start in range(0, len(chunks), EMBED_SLICE):
            rows = order[start : start + EMBED_SLICE]
            slice_vectors, slice_sentences = encoder.encode_with_spans([texts[i] for i in rows], [spans[i] for i in rows], batch_size)
            vectors[rows] = slice_vectors
            for i, sentence_vectors in zip(rows, slice_sentences):
                pooled[i] = sentence_vectors
            bar.update(len(rows))
            if on_progress is not None:
                on_progress(start + len(rows), len(chunks))
    return vectors, np.vstack([np.zeros((0, encoder.dimension), dtype=np.float32), *pooled])


def _embed(
    encoder: Encoder, texts: list[str], batch_size: int, progress: bool, what: str,
    on_progress: Callable[[int, int], None] | None,
) -> np.ndarray:
    """Embed in slices so a long build can report how far it got (and show a progress bar of ``what``).

    The texts go to the model longest first, so that the texts of one batch, padded to its longest, are about
    as long as each other; slices in document order waste much of each batch on padding.
    """
    from tqdm import tqdm

    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    vectors = np.zeros((len(texts), encoder.dimension), dtype=np.float32)
    with tqdm(total=len(texts), desc=f"embedding {what}", unit=what[:-1], disable=not progress or not texts) as bar:
        for start in range(0, len(texts), EMBED_SLICE):
            rows = order[start : start + EMBED_SLICE]
            vectors[rows] = encoder.encode([texts[i] for i in rows], batch_size=batch_size)
            bar.update(len(rows))
            if on_progress is not None:
                on_progress(start + len(rows), len(texts))
    return vectors


def _sentences_in_order(previous: LoadedIndex | None, kept_rows: Sequence[int], new_part: Part) -> tuple[np.ndarray, np.ndarray]:
    """Sentence vectors and (chunk row, start, end) rows in the new chunk order: kept chunks first, then new ones.

    The kept chunks' sentences are copied from the previous generation in one gather, not chunk by chunk:
    at 100k chunks that is the difference between a second and a few tens of milliseconds.
    """
    vectors, spans = [new_part.sentences[:0]], [np.zeros((0, 3), dtype=np.int64)]
    if previous is not None and len(kept_rows):
        picked, lengths = previous.sentence_rows(np.asarray(kept_rows, dtype=np.int64))
        vectors.append(previous.sentence_vectors[picked])
        chunk_rows = np.repeat(np.arange(len(kept_rows), dtype=np.int64), lengths)
        spans.append(np.column_stack([chunk_rows, previous.sentence_spans[picked]]).astype(np.int64))
    vectors.append(new_part.sentences)
    spans.append(new_part.spans + [len(kept_rows), 0, 0])
    return np.concatenate(vectors), np.concatenate(spans)


def sentence_embedding_text(chunk: Chunk, start: int, end: int) -> str:
    """What is embedded for the sentence at document offsets [start, end) of ``chunk``: it with the passage's
    title and heading path, since "It opened in 2018" needs to know what "it" is."""
    return f"{chunk.context}: {chunk.text[start - chunk.start : end - chunk.start]}"


def chunk_sentences(chunk: Chunk) -> list[tuple[int, int]]:
    """(start, end) document offsets of the sentences of a chunk: the candidates for its answer."""
    return [(chunk.start + s, chunk.start + e) for s, e in sentence_spans(chunk.text)]


_SCHEMA = """
    CREATE TABLE documents (id TEXT PRIMARY KEY, title TEXT, kind TEXT, content_hash TEXT, size INTEGER,
        pages INTEGER, chunks INTEGER, added_at TEXT, indexed_at TEXT, text BLOB);
    CREATE TABLE chunks (row INTEGER PRIMARY KEY, id TEXT, doc_id TEXT, ordinal INTEGER,
        headings TEXT, page INTEGER, start INTEGER, end_ INTEGER);
    CREATE INDEX chunks_doc ON chunks(doc_id);
"""


def _write_sqlite(
    path: Path, documents: Sequence[Document], infos: Sequence[DocumentInfo], chunks: Sequence[Chunk], first_row: int = 0
) -> None:
    """Write documents and chunks (rows numbered from ``first_row``), into a new file or one that has the tables."""
    fresh = not path.exists()
    db = sqlite3.connect(path)
    try:
        if fresh:
            db.executescript(_SCHEMA)
        texts = {d.id: d.text for d in documents}
        db.executemany(
            "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?)",
            [(i.id, i.title, i.kind, i.content_hash, i.size, i.pages, i.chunks, i.added_at, i.indexed_at, _compressed(texts[i.id]))
             for i in infos],
        )
        db.executemany(
            "INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?)",
            [(row, c.id, c.doc_id, c.ordinal, json.dumps(c.headings, ensure_ascii=False), c.page, c.start, c.end)
             for row, c in enumerate(chunks, start=first_row)],
        )
        db.commit()
    finally:
        db.close()


def _fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
        if path.is_dir():
            _fsync_tree(path)
            continue
        with open(path, "rb") as fh:
            os.fsync(fh.fileno())
    fsync_dir(folder)


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new file in ``folder`` survive a power cut."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
