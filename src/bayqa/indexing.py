"""Indexing: bring the index in line with a set of documents, embedding only what is new.

A build compares the documents with the live generation by content hash (added, changed, removed, unchanged),
chunks the added and changed ones, embeds their passages and sentences, and hands the result to the store
(bayqa.store), which writes the next generation. Unchanged documents keep their chunks, chunk vectors and sentence
vectors, unless the build is forced or the model or the chunking settings changed: then everything is embedded again.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from bayqa.chunking import Chunk, ChunkSettings, chunk_document
from bayqa.documents import Document
from bayqa.store import FORMAT_VERSION, Contents, DocumentInfo, IndexStore, IndexStoreError, LiveSummary, LoadedIndex, Part, quantize
from bayqa.terms import sentence_spans

EMBED_SLICE = 64  # chunks embedded between two progress reports (two batches of 32)


class TextEncoder(Protocol):
    """What embeds whole texts: the multilingual model (bayqa.embedding.multilingual) fits."""

    model_id: str
    dimension: int

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray: ...


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


def build(
    store: IndexStore, documents: Sequence[Document], encoder: Encoder, settings: ChunkSettings, *, wait: float = 0, **options: Any,
) -> BuildReport:
    """Bring the index of ``store`` in line with ``documents``, re-embedding only what changed.

    Holds the folder's write lock for the whole build, waiting up to ``wait`` seconds for another process to
    finish its build; raises IndexBusy if it does not. ``options`` are those of ``build_holding_lock``.
    """
    with store.writing(wait):
        return build_holding_lock(store, documents, encoder, settings, **options)


def build_holding_lock(
    store: IndexStore,
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
    multilingual: TextEncoder | None = None,
) -> BuildReport:
    """``build`` for a caller inside ``store.writing()``. ``problems`` (files that could not be read) pass into the
    report; ``force`` re-embeds unchanged documents too; ``progress`` shows progress bars, and ``on_progress(done,
    total)`` reports embedded texts. ``before_switch`` runs on the finished generation just before it goes live
    (a hook for tests). ``multilingual``, a second model, embeds every passage again into a space shared by
    English and Chinese (bayqa.embedding.multilingual). A build that fails leaves the live generation as it was, and nothing half written.
    """
    started = time.perf_counter()
    store.remove_partial_generations()
    notes: list[str] = []
    wanted = multilingual.model_id if multilingual else ""
    previous, reread, recount = _previous_for_reuse(store, encoder, settings, notes)
    remultilingual = previous is not None and previous.manifest.multilingual != wanted
    if remultilingual:
        notes.append(f"multilingual model changed from {previous.manifest.multilingual or 'none'!r} to {wanted or 'none'!r}: "
                     "kept passages get its vectors, and keep the others")
    old_docs = previous.documents if previous else {}
    new_ids = {d.id for d in documents}
    added = tuple(d.id for d in documents if d.id not in old_docs)
    same_bytes = {d.id for d in documents if d.id in old_docs and old_docs[d.id].content_hash == d.content_hash}
    if reread and previous is not None:
        same_bytes -= _read_differently(previous, [d for d in documents if d.id in same_bytes], encoder, settings)
    changed = tuple(d.id for d in documents if d.id in old_docs and d.id not in same_bytes)
    unchanged = tuple(d.id for d in documents if d.id in same_bytes)
    removed = tuple(sorted(set(old_docs) - new_ids))
    fingerprint = corpus_fingerprint(documents)
    current = previous is not None and previous.manifest.format == FORMAT_VERSION
    if (current and not force and not reread and not recount and not remultilingual and not (added or changed or removed)
            and previous.manifest.corpus_fingerprint == fingerprint):
        store.prune()
        return BuildReport(None, unchanged=unchanged, problems=tuple(problems), chunks_total=previous.manifest.chunks,
                           seconds=time.perf_counter() - started, notes=tuple(notes))

    reuse = set(unchanged) if previous is not None and not force else set()
    new_docs = [d for d in documents if d.id not in reuse]
    doc_chunks = {d.id: chunk_document(d, encoder.count_tokens, settings) for d in new_docs}
    to_embed = [c for d in new_docs for c in doc_chunks[d.id]]
    rows = embed_chunks(encoder, to_embed, settings, batch_size, progress, on_progress, multilingual)
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")

    def info(d: Document) -> DocumentInfo:
        return DocumentInfo(
            id=d.id, title=d.title, kind=d.kind, content_hash=d.content_hash, size=d.size, pages=d.pages,
            chunks=len(doc_chunks[d.id]) if d.id in doc_chunks else old_docs[d.id].chunks,
            added_at=old_docs[d.id].added_at if d.id in old_docs else now,
            indexed_at=old_docs[d.id].indexed_at if d.id in reuse else now,
        )

    contents = Contents(
        model=encoder.model_id, dimension=encoder.dimension, chunking=asdict(settings), corpus_fingerprint=fingerprint,
        built_at=now, documents=documents, infos=[info(d) for d in documents], chunks=to_embed, rows=rows,
        keyword_texts=[c.embedding_text for c in to_embed], recount=recount, multilingual=wanted,
        kept_multilingual=_kept_multilingual(previous, reuse, multilingual, batch_size, progress, on_progress) if remultilingual else {},
    )
    plan = store.plan(previous, reuse, (*changed, *removed), len(to_embed))
    if recount or remultilingual:  # every row's counts or multilingual vectors anew: only a rebuild writes every row
        plan = replace(plan, patch=None)
    manifest = store.write(contents, plan, started=started, before_switch=before_switch, progress=progress)
    return BuildReport(
        manifest.generation, added=added, changed=changed, removed=removed, unchanged=unchanged, problems=tuple(problems),
        chunks_embedded=len(to_embed), chunks_total=manifest.chunks, seconds=time.perf_counter() - started,
        notes=tuple(notes),
    )


def corpus_fingerprint(documents: Sequence[Document]) -> str:
    digest = hashlib.sha256()
    for doc in sorted(documents, key=lambda d: d.id):
        digest.update(f"{doc.id}\0{doc.content_hash}\n".encode())
    return digest.hexdigest()


def _previous_for_reuse(
    store: IndexStore, encoder: Encoder, settings: ChunkSettings, notes: list[str],
) -> tuple[LiveSummary | None, bool, bool]:
    """The live generation, if its vectors can be reused (same model and chunking); whether the document readers
    changed since it was built (then its documents are compared passage by passage, not by their bytes); and whether
    the search terms changed (then BM25 is counted again for every passage)."""
    try:
        previous = store.live()
    except IndexStoreError as exc:
        notes.append(f"previous index not reused: {exc}")
        return None, False, False
    if previous is None:
        return None, False, False
    if previous.manifest.model != encoder.model_id or previous.manifest.dimension != encoder.dimension:
        notes.append(f"model changed from {previous.manifest.model!r} to {encoder.model_id!r}: everything is re-embedded")
        return None, False, False
    before, now = {"reader": 0, "terms": 0, **previous.manifest.chunking}, asdict(settings)
    changed = {k for k in now if before.get(k) != now[k]}
    if changed and changed <= {"reader", "terms"}:
        if "reader" in changed:
            notes.append(f"the document readers changed (version {before['reader']} to {now['reader']}): documents whose "
                         "passages now come out differently are embedded again, the others keep their vectors")
        if "terms" in changed:
            notes.append(f"search terms changed (version {before['terms']} to {now['terms']}): BM25 is counted again")
        return previous, "reader" in changed, "terms" in changed
    if changed == {"sentence_vectors"}:
        notes.append(f"sentence vectors changed from {before['sentence_vectors']} to {now['sentence_vectors']}: everything is re-embedded")
        return None, False, False
    if changed:
        notes.append("chunking settings changed: everything is re-chunked and re-embedded")
        return None, False, False
    return previous, False, False


def _kept_multilingual(
    previous: LiveSummary | None, reuse: set[str], multilingual: TextEncoder | None, batch_size: int, progress: bool,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, np.ndarray]:
    """The multilingual vectors of the kept documents' passages, by chunk id, when the live generation has none of
    this model's (the model was turned on or changed): only they are embedded, not the English model's vectors."""
    if previous is None or multilingual is None or not reuse:
        return {}
    loaded = LoadedIndex(previous.path)
    kept = loaded.chunks.many([row for doc in sorted(reuse) for row in loaded.rows_by_doc.get(doc, [])])
    vectors = _embed(multilingual, [c.embedding_text for c in kept], batch_size, progress, "kept passages (multilingual)", on_progress)
    return {c.id: v for c, v in zip(kept, vectors)}


def _read_differently(previous: LiveSummary, documents: Sequence[Document], encoder: Encoder, settings: ChunkSettings) -> set[str]:
    """Ids of ``documents`` (same bytes as in ``previous``) whose text, passages or sentences a new reader makes
    differently. Loads the previous generation whole: this runs once, on the first build after an upgrade."""
    loaded = LoadedIndex(previous.path)
    differ = set()
    for doc in documents:
        rows = loaded.rows_by_doc.get(doc.id, [])
        stored = [loaded.chunks[row] for row in rows]
        made = chunk_document(doc, encoder.count_tokens, settings)
        if loaded.document_text(doc.id) != doc.text or made != stored or any(
                loaded.sentence_spans_of(row).tolist() != [list(span) for span in chunk_sentences(chunk)] for row, chunk in zip(rows, made)):
            differ.add(doc.id)
    return differ


def embed_chunks(
    encoder: Encoder, chunks: Sequence[Chunk], settings: ChunkSettings, batch_size: int = 32, progress: bool = False,
    on_progress: Callable[[int, int], None] | None = None, multilingual: TextEncoder | None = None,
) -> Part:
    """The vectors of ``chunks``, their sentences' vectors as 4-bit codes, (passage number, start, end) of each
    sentence, and with ``multilingual`` the passages' vectors by that model: what the store writes for new rows."""
    sentences = {c.id: chunk_sentences(c) for c in chunks}
    extra = len(chunks) if multilingual is not None else 0  # the multilingual pass comes last, a text a passage
    main_total = [0]

    def main_progress(done: int, total: int) -> None:
        main_total[0] = total
        if on_progress is not None:
            on_progress(done, total + extra)

    if settings.sentence_vectors == "pooled":
        vectors, sentence_vectors = _embed_pooled(encoder, chunks, sentences, batch_size, progress, main_progress)
    else:
        vectors, sentence_vectors = _embed_separately(encoder, chunks, sentences, batch_size, progress, main_progress)
    second = None
    if multilingual is not None:
        second = _embed(multilingual, [c.embedding_text for c in chunks], batch_size, progress, "passages (multilingual)",
                        on_progress and (lambda done, _: on_progress(main_total[0] + done, main_total[0] + extra)))
    spans = [(row, s, e) for row, c in enumerate(chunks) for s, e in sentences[c.id]]
    return Part(vectors, quantize(sentence_vectors), np.asarray(spans, dtype=np.int64).reshape(-1, 3), second)


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
    encoder: Encoder | TextEncoder, texts: list[str], batch_size: int, progress: bool, what: str,
    on_progress: Callable[[int, int], None] | None,
) -> np.ndarray:
    """Embed in slices so a long build can report how far it got (and show a progress bar of ``what``).

    The texts go to the model longest first, so that the texts of one batch, padded to its longest, are about
    as long as each other; slices in document order waste much of each batch on padding.
    """
    from tqdm import tqdm

    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    vectors = np.zeros((len(texts), encoder.dimension), dtype=np.float32)
    with tqdm(total=len(texts), desc=f"embedding {what}", unit=what.split()[0][:-1], disable=not progress or not texts) as bar:
        for start in range(0, len(texts), EMBED_SLICE):
            rows = order[start : start + EMBED_SLICE]
            vectors[rows] = encoder.encode([texts[i] for i in rows], batch_size=batch_size)
            bar.update(len(rows))
            if on_progress is not None:
                on_progress(start + len(rows), len(texts))
    return vectors


def sentence_embedding_text(chunk: Chunk, start: int, end: int) -> str:
    """What is embedded for the sentence at document offsets [start, end) of ``chunk``: it with the passage's
    title and heading path, since "It opened in 2018" needs to know what "it" is."""
    return f"{chunk.context}: {chunk.text[start - chunk.start : end - chunk.start]}"


def chunk_sentences(chunk: Chunk) -> list[tuple[int, int]]:
    """(start, end) document offsets of the sentences of a chunk: the candidates for its answer."""
    return [(chunk.start + s, chunk.start + e) for s, e in sentence_spans(chunk.text)]
