"""A generation read from disk: all of it in memory to serve searches (LoadedIndex), or the little a build needs
to decide what to write (LiveSummary)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from bayqa.keyword import KeywordIndex
from bayqa.postings import KeywordSearch, Postings
from bayqa.store.catalogue import Documents, RowsByDocument
from bayqa.store.chunkdb import document_infos, headings, read_only, rows_by_document
from bayqa.store.codes import dequantize, quantized_scores
from bayqa.store.legacy import LEGACY_FORMATS, legacy_part, read_legacy_chunks
from bayqa.store.manifest import CHUNK_STORE, MANIFEST_FILE, DocumentInfo, IndexMismatch, Layout, Manifest, Retired
from bayqa.store.passages import ListedPassages, Passages, Segment, SegmentPassages
from bayqa.store.segments import KEYWORD_FOLDER, Part, read_segment
from bayqa.store.stacked import Stacked
from bayqa.store.vectors import Segments


class LoadedIndex:
    """One generation, ready to search: its vector segments, sentence codes and term postings mapped from their
    files, its passages read when asked for, and what is known of its documents."""

    def __init__(self, path: Path, previous: LoadedIndex | None = None) -> None:
        """Load the generation at ``path``. If ``previous`` (the generation being served) has the same main
        segment, that segment's passages, vectors and sentences are taken from it, not read again: switching
        after an update then costs a fraction of a full load (``bayqa bench`` times both)."""
        self.path = path
        self.manifest = Manifest.read(path / MANIFEST_FILE)
        retired = Retired.read(path)
        legacy = self.manifest.format in LEGACY_FORMATS
        parts: list[Part] = []
        readers: list[Segment] = []
        keywords: list[Postings] = []
        from_disk = self.manifest.segments
        if previous is not None and _same_main_segment(previous.manifest, self.manifest):
            # Segments never change once written: the main rows, their documents and vectors are those of ``previous``.
            parts.append(previous._parts[0])
            readers.append(previous.chunks.parts[0])
            keywords.append(previous._keyword_parts[0])
            from_disk = self.manifest.segments[1:]
        for name, rows in from_disk:
            folder = self.manifest.segment_folder(path, name)
            first_row = sum(len(reader) for reader in readers)
            if legacy:
                with read_only(folder / CHUNK_STORE) as db:
                    texts, chunks = read_legacy_chunks(db, lru_cache(maxsize=None)(headings))
                    readers.append(ListedPassages(chunks, document_infos(db), texts, first_row))
            else:
                readers.append(SegmentPassages(folder / CHUNK_STORE, first_row))
                keywords.append(_postings(folder / KEYWORD_FOLDER, rows))
            part = read_segment(folder)
            parts.append(legacy_part(part) if legacy else part)
        self.chunks = Passages(readers)
        if legacy:  # one file of counts for the whole generation, its retired rows already blank
            keywords = [KeywordIndex.load(path / KEYWORD_FOLDER, len(self.chunks)).postings()]
        self.documents = Documents(readers, retired.documents)
        self.vectors = Segments([p.vectors for p in parts])
        #: The multilingual model's passage vectors (None when the index was built without that model).
        self.multilingual: Segments | None = None
        if self.manifest.multilingual and all(p.multilingual is not None for p in parts):
            self.multilingual = Segments([p.multilingual for p in parts])
            if self.multilingual.ntotal != len(self.chunks):
                raise IndexMismatch(f"index at {path} is inconsistent (multilingual vectors do not match the chunks); rebuild it")
        #: 1 for each passage that is mostly Chinese (None when a segment was written without that file).
        self.chinese: np.ndarray | None = None
        if all(p.chinese is not None for p in parts):
            self.chinese = np.concatenate([p.chinese for p in parts]) if len(parts) > 1 else parts[0].chinese
        if self.vectors.ntotal != len(self.chunks):
            raise IndexMismatch(f"index at {path} is inconsistent ({self.vectors.ntotal} vectors, {len(self.chunks)} chunks); rebuild it")
        #: False for retired rows (None when there are none): searches skip them.
        self.alive: np.ndarray | None = None
        if retired.rows:
            self.alive = np.ones(len(self.chunks), dtype=bool)
            self.alive[np.asarray(retired.rows, dtype=np.int64)] = False
        self.rows_by_doc = RowsByDocument(self.chunks, self.documents, self.alive)
        self._keyword_parts = keywords  # so that the next generation patched from this one can share the main one's
        self.keyword = KeywordSearch(keywords, retired.rows)
        self._parts = parts  # as read, so that the next generation patched from this one can share the main one
        # Each segment's sentence codes and spans as read from its files, mapped: shared by every process reading them.
        self.sentence_vectors = Stacked([p.sentences for p in parts])
        self.sentence_spans = Stacked([p.spans[:, 1:] for p in parts])
        # Sentences are stored in chunk order: those of chunk ``r`` are rows sentence_offsets[r]:sentence_offsets[r + 1].
        self.sentence_offsets: np.ndarray = _sentence_offsets(parts)
        if self.keyword.size != len(self.chunks) or any(len(p.sentences) != len(p.spans) for p in parts):
            raise IndexMismatch(f"index at {path} is inconsistent (keyword or sentence files do not match the chunks); rebuild it")

    @property
    def generation(self) -> str:
        return self.manifest.generation

    def document_text(self, doc_id: str) -> str | None:
        """The whole text of a document, read when asked for (a few are kept at hand)."""
        holder = self.documents.holder(doc_id)
        return None if holder is None else holder.text(doc_id)

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

    def keyword_counts(self) -> KeywordIndex:
        """The term counts of every row (retired ones included), for a build to extend."""
        return KeywordIndex.joined([KeywordIndex(p.matrix(), p.vocab) for p in self._keyword_parts])

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
            with read_only(manifest.segment_folder(path, name) / CHUNK_STORE) as db:
                found = document_infos(db)
            documents.update({k: v for k, v in found.items() if k not in retired.documents} if number == 0 else found)
        return cls(path, manifest, documents, retired)

    def layout(self, replaced: Collection[str]) -> Layout:
        """The layout of this generation's segments that a patch plan needs: of the main segment, only the rows of
        the documents of ``replaced``, so that nothing is read in proportion to the collection."""
        (main_name, main_rows), *tail = self.manifest.segments
        with read_only(self.manifest.segment_folder(self.path, main_name) / CHUNK_STORE) as db:
            main = rows_by_document(db, replaced)
        tail_rows: dict[str, tuple[int, ...]] = {}
        if tail:
            with read_only(self.manifest.segment_folder(self.path, tail[0][0]) / CHUNK_STORE) as db:
                tail_rows = rows_by_document(db)
        return Layout(main_rows, self.retired, main, tail_rows)


def _postings(folder: Path, rows: int) -> Postings:
    """A segment's postings: mapped from its files, or for a format 9 segment (a matrix of counts) read into memory."""
    return Postings.load(folder, rows) if Postings.stored_in(folder) else KeywordIndex.load(folder, rows).postings()


def _same_main_segment(old: Manifest, new: Manifest) -> bool:
    """Whether ``new`` was patched from ``old`` (or from a generation patched from it): segment names are random,
    so a shared main segment means no build since ``old`` rebuilt it (a rebuild always writes a new one)."""
    return (old.format, old.model, old.dimension, old.chunking, old.multilingual, old.segments[:1]) == (
        new.format, new.model, new.dimension, new.chunking, new.multilingual, new.segments[:1]
    )


def _sentence_offsets(parts: Sequence[Part]) -> np.ndarray:
    """Where each chunk's sentences start in the sentences of all parts, and where the last ends."""
    starts, base = [], 0
    for part in parts:
        local = np.searchsorted(part.spans[:, 0], np.arange(part.vectors.ntotal + 1))
        starts.append(local[:-1] + base)
        base += len(part.sentences)
    return np.concatenate([*starts, [base]]).astype(np.int64)


def _stored(vectors: Segments, rows: Sequence[int], dimension: int) -> np.ndarray:
    if not len(rows):
        return np.zeros((0, dimension), dtype=np.float32)
    return vectors.reconstruct_batch(np.asarray(rows, dtype=np.int64)).astype(np.float32)

