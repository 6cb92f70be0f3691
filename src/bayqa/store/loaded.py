"""A generation read from disk: all of it in memory to serve searches (LoadedIndex), or the little a build needs
to decide what to write (LiveSummary)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from bayqa.chunking import Chunk
from bayqa.keyword import KeywordIndex
from bayqa.store.chunkdb import decompressed, document_infos, document_texts, headings, read_chunks, read_only, rows_by_document
from bayqa.store.codes import dequantize, quantized_scores
from bayqa.store.legacy import legacy_part, read_legacy_chunks
from bayqa.store.manifest import CHUNK_STORE, FORMAT_VERSION, MANIFEST_FILE, DocumentInfo, IndexMismatch, Layout, Manifest, Retired
from bayqa.store.segments import KEYWORD_FOLDER, Part, read_segment
from bayqa.store.vectors import Segments


class LoadedIndex:
    """One generation in memory: its vector segments, every chunk, and document metadata."""

    def __init__(self, path: Path, previous: LoadedIndex | None = None) -> None:
        """Load the generation at ``path``. If ``previous`` (the generation being served) has the same main
        segment, that segment's passages, vectors and sentences are taken from memory, not disk: switching
        after an update then costs a fraction of a full load (``bayqa bench`` times both)."""
        self.path = path
        self.manifest = Manifest.read(path / MANIFEST_FILE)
        cached_headings = lru_cache(maxsize=None)(headings)  # a section's passages share one tuple
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
            main_multilingual = previous.multilingual.parts[0] if previous.multilingual is not None else None
            parts.append(Part(previous.vectors.parts[0], previous.sentence_vectors[:sentences], spans, main_multilingual))
            from_disk = self.manifest.segments[1:]
        for name, _ in from_disk:
            with read_only(path / name / CHUNK_STORE) as db:
                if legacy:
                    texts, chunks = read_legacy_chunks(db, cached_headings)
                else:
                    texts = document_texts(db)
                    chunks = read_chunks(db, cached_headings, texts)
                self.chunks.extend(chunks)
                documents = document_infos(db)
            if name == main_name:
                self._main_documents, self._main_texts = documents, texts
            else:
                tail_documents.update(documents)
                tail_texts.update(texts)
            part = read_segment(path / name)
            parts.append(legacy_part(part) if legacy else part)
            if not legacy:
                keywords.append(KeywordIndex.load(path / name / KEYWORD_FOLDER))
        if legacy:  # one file of counts for the whole generation, its retired rows already blank
            keywords = [KeywordIndex.load(path / KEYWORD_FOLDER)]
        gone = set(retired.documents)
        self.documents: dict[str, DocumentInfo] = dict(sorted(
            ({k: v for k, v in self._main_documents.items() if k not in gone} | tail_documents).items()
        ))
        self._texts = {k: v for k, v in self._main_texts.items() if k not in gone} | tail_texts
        self.vectors = Segments([p.vectors for p in parts])
        #: The multilingual model's passage vectors (None when the index was built without that model).
        self.multilingual: Segments | None = None
        if self.manifest.multilingual and all(p.multilingual is not None for p in parts):
            self.multilingual = Segments([p.multilingual for p in parts])
            if self.multilingual.ntotal != len(self.chunks):
                raise IndexMismatch(f"index at {path} is inconsistent (multilingual vectors do not match the chunks); rebuild it")
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
        """The whole text of a document (kept compressed in memory, a fraction of its size, for the rare reader)."""
        stored = self._texts.get(doc_id)
        return None if stored is None else decompressed(stored)

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
        all of them: cheaper than decoding each hit's sentences apart."""
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
        return _stored(self.vectors, rows, self.manifest.dimension)

    def multilingual_of(self, rows: Sequence[int]) -> np.ndarray:
        """The multilingual vectors of ``rows`` (the index must have them)."""
        assert self.multilingual is not None
        return _stored(self.multilingual, rows, self.multilingual.parts[0].d)


@dataclass(frozen=True)
class LiveSummary:
    """What a build needs to know of the live generation before deciding how to build: no vectors, no texts."""

    path: Path
    manifest: Manifest
    documents: dict[str, DocumentInfo]
    retired: Retired

    @classmethod
    def read(cls, path: Path) -> LiveSummary:
        manifest = Manifest.read(path / MANIFEST_FILE)
        retired = Retired.read(path)
        documents: dict[str, DocumentInfo] = {}
        for number, (name, _) in enumerate(manifest.segments):
            with read_only(path / name / CHUNK_STORE) as db:
                found = document_infos(db)
            documents.update({k: v for k, v in found.items() if k not in retired.documents} if number == 0 else found)
        return cls(path, manifest, documents, retired)

    def layout(self, replaced: Collection[str]) -> Layout:
        """The layout of this generation's segments that a patch plan needs: of the main segment, only the rows of
        the documents of ``replaced``, so that nothing is read in proportion to the collection."""
        (main_name, main_rows), *tail = self.manifest.segments
        with read_only(self.path / main_name / CHUNK_STORE) as db:
            main = rows_by_document(db, replaced)
        tail_rows: dict[str, tuple[int, ...]] = {}
        if tail:
            with read_only(self.path / tail[0][0] / CHUNK_STORE) as db:
                tail_rows = rows_by_document(db)
        return Layout(main_rows, self.retired, main, tail_rows)


def _same_main_segment(old: Manifest, new: Manifest) -> bool:
    """Whether ``new`` was patched from ``old`` (or from a generation patched from it): segment names are random,
    so a shared main segment means no build since ``old`` rebuilt it (a rebuild always writes a new one)."""
    return (old.format, old.model, old.dimension, old.chunking, old.multilingual, old.segments[:1]) == (
        new.format, new.model, new.dimension, new.chunking, new.multilingual, new.segments[:1]
    )


def _stored(vectors: Segments, rows: Sequence[int], dimension: int) -> np.ndarray:
    if not len(rows):
        return np.zeros((0, dimension), dtype=np.float32)
    return vectors.reconstruct_batch(np.asarray(rows, dtype=np.int64)).astype(np.float32)


def _joined(arrays: Sequence[np.ndarray]) -> np.ndarray:
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)
