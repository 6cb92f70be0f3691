"""The index store: generations of (FAISS vectors, SQLite metadata, manifest) on disk.

Layout of the index folder::

    CURRENT                 name of the live generation (replaced atomically)
    gen-<time>-<rand>/      one complete index: manifest.json, vectors.faiss, chunks.sqlite,
                            keyword/ (BM25 of every chunk), sentences.npy + sentence_spans.npy
                            (a vector for each sentence of each chunk, for answer highlighting)
    gen-…partial/           a generation being written (removed if a build died)
    write.lock              held by the one process that is building

A build writes a whole new generation beside the live one, flushes it to disk, and only then replaces
``CURRENT``. A crash at any moment therefore leaves ``CURRENT`` naming a complete generation. Row ``i``
of the FAISS index is row ``i`` of the ``chunks`` table and of the keyword index. Documents whose content
hash did not change keep their chunks, chunk vectors and sentence vectors (copied from the previous
generation), so only new text is embedded and counted for BM25 (the keyword index keeps per-passage term
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
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Protocol
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

FORMAT_VERSION = 3
CURRENT_FILE = "CURRENT"
LOCK_FILE = "write.lock"
EMBED_SLICE = 64  # chunks embedded between two progress reports (two batches of 32)
HNSW_NEIGHBOURS = 32  # M: links per vector (recall@10 0.999 vs exact on 15.9k real SciFact MiniLM vectors)
HNSW_BUILD_DEPTH = 80  # efConstruction
HNSW_SEARCH_DEPTH = 256  # efSearch: candidates examined per question (stored in the index file)


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
    chunking: dict[str, int]
    documents: int
    chunks: int
    corpus_fingerprint: str
    built_at: str
    build_seconds: float

    @classmethod
    def read(cls, path: Path) -> Manifest:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT_VERSION:
            raise IndexMismatch(
                f"index at {path.parent} has format {data.get('format')}, this bayqa reads format {FORMAT_VERSION}; "
                "rebuild it with `bayqa index`"
            )
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


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


class LoadedIndex:
    """One generation in memory: the FAISS index, every chunk, and document metadata."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.manifest = Manifest.read(path / "manifest.json")
        self.vectors = faiss.read_index(str(path / "vectors.faiss"))
        headings = lru_cache(maxsize=None)(lambda stored: tuple(json.loads(stored)))  # a section's passages share one
        with self._connect() as db:
            self.chunks: list[Chunk] = [
                Chunk(id=r[0], doc_id=r[1], ordinal=r[2], title=r[3], headings=headings(r[4]),
                      page=r[5], start=r[6], end=r[7], text=r[8])
                for r in db.execute(
                    "SELECT id, doc_id, ordinal, title, headings, page, start, end_, text FROM chunks ORDER BY row"
                )
            ]
            self.documents: dict[str, DocumentInfo] = {
                r[0]: DocumentInfo(*r)
                for r in db.execute(
                    "SELECT id, title, kind, content_hash, size, pages, chunks, added_at, indexed_at FROM documents ORDER BY id"
                )
            }
            self._texts: dict[str, str] = dict(db.execute("SELECT id, text FROM documents"))
        if self.vectors.ntotal != len(self.chunks):
            raise IndexMismatch(f"index at {path} is inconsistent ({self.vectors.ntotal} vectors, {len(self.chunks)} chunks); rebuild it")
        self.rows_by_doc: dict[str, list[int]] = {}
        for row, chunk in enumerate(self.chunks):
            self.rows_by_doc.setdefault(chunk.doc_id, []).append(row)
        self.keyword = KeywordIndex.load(path / "keyword")
        self.sentence_vectors: np.ndarray = np.load(path / "sentences.npy")
        spans = np.load(path / "sentence_spans.npy")
        self.sentence_spans: np.ndarray = spans[:, 1:]
        # Sentences are stored in chunk order: those of chunk ``r`` are rows sentence_offsets[r]:sentence_offsets[r + 1].
        self.sentence_offsets: np.ndarray = np.searchsorted(spans[:, 0], np.arange(len(self.chunks) + 1))
        if self.keyword.size != len(self.chunks) or len(self.sentence_vectors) != len(spans):
            raise IndexMismatch(f"index at {path} is inconsistent (keyword or sentence files do not match the chunks); rebuild it")

    @property
    def generation(self) -> str:
        return self.manifest.generation

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.path / 'chunks.sqlite'}?mode=ro", uri=True)

    def document_text(self, doc_id: str) -> str | None:
        return self._texts.get(doc_id)

    def sentences_of(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """Sentence vectors and (start, end) document offsets of chunk ``row``'s sentences."""
        first, last = self.sentence_offsets[row], self.sentence_offsets[row + 1]
        return self.sentence_vectors[first:last], self.sentence_spans[first:last]

    def best_sentence_scores(self, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
        """For each chunk of ``rows``, the highest cosine between ``query`` and one of its sentences (-1 if none)."""
        picked, lengths = self.sentence_rows(rows)
        best = np.full(len(rows), -1.0, dtype=np.float64)
        if not len(picked):
            return best
        scores = self.sentence_vectors[picked].astype(np.float32) @ query
        has = lengths > 0
        best[has] = np.maximum.reduceat(scores, (np.cumsum(lengths) - lengths)[has])
        return best

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


def vector_index(vectors: np.ndarray, exact_below: int) -> faiss.Index:
    """Exact inner-product search for small collections, an HNSW graph once exact search gets slow.

    Exact search reads every vector per question (about 9 ms per 100k on one core); the graph visits a
    few thousand whatever the size, at a small, measured loss of recall (``bayqa bench`` reports it).
    """
    count, dimension = vectors.shape
    if count < exact_below:
        index: faiss.Index = faiss.IndexFlatIP(dimension)
    else:
        index = faiss.IndexHNSWFlat(dimension, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_BUILD_DEPTH
        index.hnsw.efSearch = HNSW_SEARCH_DEPTH
    if count:
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


class Encoder(Protocol):
    """What a build needs from an embedding model (bayqa.embedding.Embedder fits)."""

    model_id: str
    dimension: int
    max_tokens: int

    def count_tokens(self, text: str) -> int: ...
    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray: ...


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

    def open(self, model_id: str | None = None) -> LoadedIndex:
        """Load the live generation; with ``model_id``, refuse an index built with another model."""
        name = self.current_generation()
        if name is None:
            raise IndexMissing(f"no index in {self.root}; build one with `bayqa index` (or start `bayqa serve`, which builds it)")
        loaded = LoadedIndex(self.root / name)
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
        self.root.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.root / LOCK_FILE))
        try:
            lock.acquire(timeout=wait)
        except Timeout as exc:
            raise IndexBusy(f"another process is updating the index in {self.root}; try again when it has finished") from exc
        try:
            return self._build_locked(documents, encoder, settings, problems, batch_size, progress, force, on_progress, before_switch)
        finally:
            lock.release()

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
        if previous is not None and not force and not (added or changed or removed) and previous.manifest.corpus_fingerprint == fingerprint:
            return BuildReport(None, unchanged=unchanged, problems=tuple(problems), chunks_total=len(previous.chunks),
                               seconds=time.perf_counter() - started, notes=tuple(notes))

        reuse = set(unchanged) if previous is not None and not force else set()
        doc_chunks: dict[str, list[Chunk]] = {}
        to_embed: list[Chunk] = []
        for doc in documents:
            if doc.id in reuse:
                assert previous is not None
                doc_chunks[doc.id] = [previous.chunks[r] for r in previous.rows_by_doc.get(doc.id, [])]
            else:
                doc_chunks[doc.id] = chunk_document(doc, encoder.count_tokens, settings)
                to_embed.extend(doc_chunks[doc.id])
        fresh_sentences = {c.id: chunk_sentences(c) for c in to_embed}
        sentence_texts = [sentence_embedding_text(c, s, e) for c in to_embed for s, e in fresh_sentences[c.id]]
        total = len(to_embed) + len(sentence_texts)
        fresh = _embed(encoder, [c.embedding_text for c in to_embed], batch_size, progress, "passages",
                       on_progress and (lambda done, _: on_progress(done, total)))
        fresh_sentence_vectors = _embed(encoder, sentence_texts, batch_size, progress, "sentences",
                                        on_progress and (lambda done, _: on_progress(len(to_embed) + done, total))).astype(np.float16)

        # Unchanged documents keep their rows in their old order and new text goes after them, so when nothing
        # was changed or removed the previous vector index is extended instead of rebuilt (rebuilding an HNSW
        # graph of 100k vectors takes seconds; adding one document's vectors takes milliseconds).
        first_row = {doc_id: rows[0] for doc_id, rows in previous.rows_by_doc.items()} if previous is not None else {}
        kept = sorted((d for d in documents if d.id in reuse), key=lambda d: first_row.get(d.id, -1))
        all_chunks = [c for d in [*kept, *(d for d in documents if d.id not in reuse)] for c in doc_chunks[d.id]]
        kept_rows = [r for d in kept for r in previous.rows_by_doc.get(d.id, [])] if previous is not None else []
        # Only additions: every previous row stays where it was, so the previous files can be extended.
        appending = previous is not None and not (changed or removed) and kept_rows == list(range(len(previous.chunks)))
        index = self._extended(previous, fresh, len(all_chunks)) if previous is not None and appending and kept_rows else None
        if index is None:
            old_vectors = previous.vectors_of(kept_rows) if previous is not None else fresh[:0]
            index = vector_index(np.vstack([old_vectors, fresh]), self.exact_below)

        sentence_vectors, span_rows = _sentences_in_order(all_chunks, previous, kept_rows, fresh_sentences, fresh_sentence_vectors)

        generation = f"gen-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"
        partial = self.root / f"{generation}.partial"
        partial.mkdir()
        now = _now()
        infos = [
            DocumentInfo(
                id=d.id, title=d.title, kind=d.kind, content_hash=d.content_hash, size=d.size, pages=d.pages,
                chunks=len(doc_chunks[d.id]),
                added_at=old_docs[d.id].added_at if d.id in old_docs else now,
                indexed_at=old_docs[d.id].indexed_at if d.id in reuse else now,
            )
            for d in documents
        ]
        if appending:
            assert previous is not None
            # Copy and append: 0.09 s instead of 1.25 s for writing all 90k rows again (measured, 111 MB file).
            shutil.copyfile(previous.path / "chunks.sqlite", partial / "chunks.sqlite")
            _write_sqlite(partial / "chunks.sqlite", [d for d in documents if d.id in added],
                          [i for i in infos if i.id in added], all_chunks[len(kept_rows):], first_row=len(kept_rows))
        else:
            _write_sqlite(partial / "chunks.sqlite", documents, infos, all_chunks)
        faiss.write_index(index, str(partial / "vectors.faiss"))
        keyword = previous.keyword if previous is not None and kept_rows else KeywordIndex.empty()
        keyword.extended(kept_rows, [c.embedding_text for c in all_chunks[len(kept_rows):]]).save(partial / "keyword")
        np.save(partial / "sentences.npy", sentence_vectors)
        np.save(partial / "sentence_spans.npy", span_rows)
        manifest = Manifest(
            format=FORMAT_VERSION, generation=generation, model=encoder.model_id, dimension=encoder.dimension,
            chunking=asdict(settings), documents=len(documents), chunks=len(all_chunks),
            corpus_fingerprint=fingerprint, built_at=now, build_seconds=round(time.perf_counter() - started, 3),
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
            chunks_embedded=len(to_embed), chunks_total=len(all_chunks), seconds=time.perf_counter() - started,
            notes=tuple(notes),
        )

    def _extended(self, previous: LoadedIndex, fresh: np.ndarray, total: int) -> faiss.Index | None:
        """The previous vector index with ``fresh`` appended, if it is still the kind ``vector_index`` would choose
        for ``total`` vectors; None means "rebuild"."""
        if isinstance(previous.vectors, faiss.IndexHNSW) != (total >= self.exact_below):
            return None
        index = previous.vectors  # opened for this build only, so extending it in place is safe
        if len(fresh):
            index.add(np.ascontiguousarray(fresh, dtype=np.float32))
        return index

    def _previous_for_reuse(self, encoder: Encoder, settings: ChunkSettings, notes: list[str]) -> LoadedIndex | None:
        """The live generation, if its vectors can be reused (same model and chunking)."""
        try:
            previous = self.open()
        except IndexMissing:
            return None
        except IndexStoreError as exc:
            notes.append(f"previous index not reused: {exc}")
            return None
        if previous.manifest.model != encoder.model_id or previous.manifest.dimension != encoder.dimension:
            notes.append(f"model changed from {previous.manifest.model!r} to {encoder.model_id!r}: everything is re-embedded")
            return None
        if previous.manifest.chunking != asdict(settings):
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

    def _remove_old_generations(self, keep: set[str]) -> None:
        """Everything but ``keep``: older generations and any that a crash left unswitched."""
        for path in self._generations():
            if path.name not in keep:
                shutil.rmtree(path, ignore_errors=True)

    def _remove_partial_generations(self) -> None:
        """Left by a build that died; safe to remove because we hold the write lock."""
        for path in self.root.glob("gen-*.partial"):
            shutil.rmtree(path, ignore_errors=True)


def _embed(
    encoder: Encoder, texts: list[str], batch_size: int, progress: bool, what: str,
    on_progress: Callable[[int, int], None] | None,
) -> np.ndarray:
    """Embed in slices so a long build can report how far it got (and show a progress bar of ``what``)."""
    from tqdm import tqdm

    parts = [np.zeros((0, encoder.dimension), dtype=np.float32)]
    with tqdm(total=len(texts), desc=f"embedding {what}", unit=what[:-1], disable=not progress or not texts) as bar:
        for start in range(0, len(texts), EMBED_SLICE):
            batch = texts[start: start + EMBED_SLICE]
            parts.append(encoder.encode(batch, batch_size=batch_size))
            bar.update(len(batch))
            if on_progress is not None:
                on_progress(start + len(batch), len(texts))
    return np.vstack(parts)


def _sentences_in_order(
    all_chunks: Sequence[Chunk],
    previous: LoadedIndex | None,
    kept_rows: Sequence[int],
    fresh_sentences: dict[str, list[tuple[int, int]]],
    fresh_vectors: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Sentence vectors and (chunk row, start, end) rows in the new chunk order: kept chunks first, then new ones.

    The kept chunks' sentences are copied from the previous generation in one gather, not chunk by chunk:
    at 100k chunks that is the difference between a second and a few tens of milliseconds.
    """
    vectors, spans = [fresh_vectors[:0]], [np.zeros((0, 3), dtype=np.int64)]
    if previous is not None and len(kept_rows):
        picked, lengths = previous.sentence_rows(np.asarray(kept_rows, dtype=np.int64))
        vectors.append(previous.sentence_vectors[picked])
        chunk_rows = np.repeat(np.arange(len(kept_rows), dtype=np.int64), lengths)
        spans.append(np.column_stack([chunk_rows, previous.sentence_spans[picked]]).astype(np.int64))
    vectors.append(fresh_vectors)
    fresh_rows = [(row, s, e) for row in range(len(kept_rows), len(all_chunks)) for s, e in fresh_sentences[all_chunks[row].id]]
    spans.append(np.asarray(fresh_rows, dtype=np.int64).reshape(-1, 3))
    return np.concatenate(vectors).astype(np.float16, copy=False), np.concatenate(spans)


def sentence_embedding_text(chunk: Chunk, start: int, end: int) -> str:
    """What is embedded for the sentence at document offsets [start, end) of ``chunk``: it with the passage's
    title and heading path, since "It opened in 2018" needs to know what "it" is."""
    return f"{chunk.context}: {chunk.text[start - chunk.start : end - chunk.start]}"


def chunk_sentences(chunk: Chunk) -> list[tuple[int, int]]:
    """(start, end) document offsets of the sentences of a chunk: the candidates for its answer."""
    return [(chunk.start + s, chunk.start + e) for s, e in sentence_spans(chunk.text)]


_SCHEMA = """
    CREATE TABLE documents (id TEXT PRIMARY KEY, title TEXT, kind TEXT, content_hash TEXT, size INTEGER,
        pages INTEGER, chunks INTEGER, added_at TEXT, indexed_at TEXT, text TEXT);
    CREATE TABLE chunks (row INTEGER PRIMARY KEY, id TEXT, doc_id TEXT, ordinal INTEGER, title TEXT,
        headings TEXT, page INTEGER, start INTEGER, end_ INTEGER, text TEXT);
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
            [(i.id, i.title, i.kind, i.content_hash, i.size, i.pages, i.chunks, i.added_at, i.indexed_at, texts[i.id]) for i in infos],
        )
        db.executemany(
            "INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?,?,?)",
            [(row, c.id, c.doc_id, c.ordinal, c.title, json.dumps(c.headings, ensure_ascii=False), c.page, c.start, c.end, c.text)
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
