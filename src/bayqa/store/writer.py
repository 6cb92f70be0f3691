"""Writing a generation's segments from what a build hands the store: by patching the live one, or rebuilding."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bayqa.chunking import Chunk
from bayqa.documents import Document
from bayqa.keyword import KeywordIndex
from bayqa.store.chunkdb import document_text, headings, read_chunks, read_only, write_chunk_db
from bayqa.store.loaded import LoadedIndex
from bayqa.store.manifest import CHUNK_STORE, SHARED_SEGMENTS, DocumentInfo
from bayqa.store.plan import Plan
from bayqa.store.segments import KEYWORD_FOLDER, Part, new_segment_name, read_segment, write_segment
from bayqa.store.shared import adopt
from bayqa.store.vectors import exact_index, vector_index
from bayqa.terms import is_mostly_chinese


@dataclass(frozen=True)
class Contents:
    """What a build hands the store: the documents of the new generation and the rows it embedded for them."""

    model: str
    dimension: int
    chunking: dict[str, int | str]
    corpus_fingerprint: str
    built_at: str
    documents: Sequence[Document]  # every document of the generation, in the order of the corpus
    infos: Sequence[DocumentInfo]  # what the index records of each, in the same order
    chunks: Sequence[Chunk]  # the passages of the documents not reused, in that order: the new rows
    rows: Part  # their vectors (a float32 matrix), sentence codes and (passage number, start, end) of each sentence
    keyword_texts: Sequence[str]  # what BM25 counts of each new passage
    recount: bool = False  # count every passage's terms again (the terms changed); only a rebuild does
    multilingual: str = ""  # the multilingual model of ``rows.multilingual`` ("" when the build has none)
    # The multilingual vectors of kept passages, by chunk id, when the live generation has none of this model's.
    kept_multilingual: Mapping[str, np.ndarray] = field(default_factory=dict)


def write_patch(segments: Path, contents: Contents, plan: Plan) -> list[tuple[str, int]]:
    """Keep the live main segment and write the tail anew into the shared ``segments`` folder: its kept rows, then
    the new ones. Writes nothing and reads nothing of the main segment, however large (a format 9 one is linked or
    copied into the shared folder once)."""
    previous, patch = plan.previous, plan.patch
    assert previous is not None and patch is not None
    main, *tail = previous.manifest.segments
    main_rows = main[1]
    if previous.manifest.format < SHARED_SEGMENTS:
        adopt(previous.manifest.segment_folder(previous.path, main[0]), main_rows, segments.parent)
    tail_numbers = [n for n, d in enumerate(contents.documents) if d.id in patch.kept_tail_documents]
    tail_numbers += [n for n, d in enumerate(contents.documents) if d.id not in plan.reuse]
    kept_chunks: list[Chunk] = []
    joined = contents.rows
    if tail and patch.kept_tail_rows:
        local = np.asarray(patch.kept_tail_rows, dtype=np.int64) - main_rows
        old_tail = previous.manifest.segment_folder(previous.path, tail[0][0])
        old = read_segment(old_tail)
        with read_only(old_tail / CHUNK_STORE) as db:
            kept_chunks = read_chunks(db, headings, lambda doc_id: document_text(db, doc_id), patch.kept_tail_rows)
        picked = np.isin(old.spans[:, 0], local)
        spans = old.spans[picked]
        spans[:, 0] = np.searchsorted(local, spans[:, 0])  # row within the kept rows, in their order
        joined = Part(np.vstack([old.vectors.reconstruct_batch(local), contents.rows.vectors]),
                      np.concatenate([old.sentences[picked], contents.rows.sentences]),
                      np.concatenate([spans, contents.rows.spans + [len(local), 0, 0]]),
                      None if old.multilingual is None
                      else np.vstack([old.multilingual.reconstruct_batch(local), contents.rows.multilingual]))
        keyword = KeywordIndex.load(old_tail / KEYWORD_FOLDER, tail[0][1]).extended(local.tolist(), contents.keyword_texts)
    else:
        keyword = KeywordIndex.build(contents.keyword_texts)
    if not len(joined.vectors) and not tail_numbers:
        return [main]
    name = new_segment_name()
    multilingual = None if joined.multilingual is None else exact_index(joined.multilingual)
    write_segment(segments / name, exact_index(joined.vectors), joined.sentences, joined.spans, multilingual,
                  chinese_passages([*kept_chunks, *contents.chunks]))
    keyword.save(segments / name / KEYWORD_FOLDER)
    write_chunk_db(segments / name / CHUNK_STORE, contents.documents, [contents.infos[n] for n in tail_numbers],
                   [*kept_chunks, *contents.chunks], first_row=main_rows)
    return [main, (name, len(joined.vectors))]


def write_rebuild(segments: Path, contents: Contents, plan: Plan, exact_below: int) -> list[tuple[str, int]]:
    """Everything in one new segment of the shared ``segments`` folder: kept documents' rows (in their old order)
    and then the new ones."""
    previous = LoadedIndex(plan.previous.path) if plan.previous is not None and plan.reuse else None
    new = contents.rows
    first_row = {doc_id: rows[0] for doc_id, rows in previous.rows_by_doc.items()} if previous is not None else {}
    kept = sorted((d for d in contents.documents if d.id in plan.reuse), key=lambda d: first_row.get(d.id, -1))
    kept_rows = [r for d in kept for r in previous.rows_by_doc.get(d.id, [])] if previous is not None else []
    kept_chunks = previous.chunks.many(kept_rows) if previous is not None else []
    old_vectors = previous.vectors_of(kept_rows) if previous is not None else new.vectors[:0]
    main = previous.vectors.parts[0] if previous is not None else None
    index = vector_index(np.vstack([old_vectors, new.vectors]), exact_below, main)
    sentences, spans = _sentences_in_order(previous, kept_rows, new)
    multilingual = None
    if contents.multilingual:
        if previous is not None and previous.manifest.multilingual == contents.multilingual:
            old_multilingual = previous.multilingual_of(kept_rows)
        else:
            old_multilingual = np.array([contents.kept_multilingual[c.id] for c in kept_chunks], dtype=np.float32).reshape(-1, new.multilingual.shape[1])
        old_main = previous.multilingual.parts[0] if previous is not None and previous.manifest.multilingual == contents.multilingual else None
        multilingual = vector_index(np.vstack([old_multilingual, new.multilingual]), exact_below, old_main)
    if previous is not None and previous.chinese is not None:
        chinese = np.concatenate([previous.chinese[np.asarray(kept_rows, dtype=np.int64)], chinese_passages(contents.chunks)])
    else:
        chinese = chinese_passages([*kept_chunks, *contents.chunks])
    name = new_segment_name()
    write_segment(segments / name, index, sentences, spans, multilingual, chinese)
    write_chunk_db(segments / name / CHUNK_STORE, contents.documents, contents.infos, [*kept_chunks, *contents.chunks])
    if contents.recount:
        keyword = KeywordIndex.build([c.embedding_text for c in [*kept_chunks, *contents.chunks]])
    else:
        counts = previous.keyword_counts() if previous is not None else KeywordIndex.empty()
        keyword = counts.extended(kept_rows, contents.keyword_texts)
    keyword.save(segments / name / KEYWORD_FOLDER)
    return [(name, len(kept_chunks) + len(contents.chunks))]


def chinese_passages(chunks: Sequence[Chunk]) -> np.ndarray:
    """1 for each passage that is mostly Chinese, else 0 (uint8, one a passage)."""
    return np.array([is_mostly_chinese(c.text) for c in chunks], dtype=np.uint8)


def _sentences_in_order(previous: LoadedIndex | None, kept_rows: Sequence[int], new: Part) -> tuple[np.ndarray, np.ndarray]:
    """Sentence vectors and (chunk row, start, end) rows in the new chunk order: kept chunks first, then new ones.

    The kept chunks' sentences are copied from the previous generation in one gather, not chunk by chunk: a loop
    over the chunks of a large collection would cost more than the rest of the copy.
    """
    vectors, spans = [new.sentences[:0]], [np.zeros((0, 3), dtype=np.int64)]
    if previous is not None and len(kept_rows):
        picked, lengths = previous.sentence_rows(np.asarray(kept_rows, dtype=np.int64))
        vectors.append(previous.sentence_vectors[picked])
        chunk_rows = np.repeat(np.arange(len(kept_rows), dtype=np.int64), lengths)
        spans.append(np.column_stack([chunk_rows, previous.sentence_spans[picked]]).astype(np.int64))
    vectors.append(new.sentences)
    spans.append(new.spans + [len(kept_rows), 0, 0])
    return np.concatenate(vectors), np.concatenate(spans)
