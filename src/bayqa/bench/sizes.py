"""Collections of each size, made of replicas of the real documents: latency in process and over HTTP, memory, disk,
and at the largest size the time to add, change and remove one document."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bayqa.bench.baseline import LangChainBaseline
from bayqa.bench.data import ReplayEncoder, edited, new_document, replicas
from bayqa.bench.indexing import exact_search, recall_at_10
from bayqa.bench.load import http_figures
from bayqa.bench.plan import Plan
from bayqa.bench.timing import Stopwatch, interleaved, settled_seconds, torch_threads
from bayqa.chunking import ChunkSettings, chunk_document
from bayqa.documents import Document
from bayqa.embedding import Embedder
from bayqa.indexing import build
from bayqa.store import IndexStore, LoadedIndex
from bayqa.search import Searcher


@dataclass(frozen=True)
class Setup:
    """What every size is made of and measured with."""

    plan: Plan
    model: str
    workdir: Path
    fast: Embedder
    settings: ChunkSettings
    docs: list[Document]
    chunks_per_doc: dict[str, int]
    vectors_by_text: dict[str, np.ndarray]  # replicas replay these (passages and sentences alike)
    questions: list[str]
    question_vectors: np.ndarray
    baseline: LangChainBaseline | None
    log: Callable[[str], None]


def folder_mb(folder: Path) -> float:
    return round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20, 1)


def measure_size(setup: Setup, size: int) -> dict[str, Any]:
    """Every figure of one collection size, in the order the JSON gives them."""

    def log(message: str) -> None:
        setup.log(f"size {size}: {message}")

    largest = size == setup.plan.largest
    log("building")
    collection, rounds = replicas(setup.docs, setup.chunks_per_doc, size)
    folder = setup.workdir / f"index-{size}"
    replay = ReplayEncoder(setup.fast, setup.vectors_by_text)
    with Stopwatch() as clock:
        built = build(IndexStore(folder), collection, replay, setup.settings)
    entry: dict[str, Any] = {"chunks": built.chunks_total, "synthetic": rounds > 1, "build_s": round(clock.seconds, 1)}
    loaded = IndexStore(folder).open()
    entry["vector_index"] = loaded.vectors.kind
    entry["disk_mb"] = round(folder_mb(loaded.path) + sum(folder_mb(loaded.manifest.segment_folder(loaded.path, name))
                                                         for name, _ in loaded.manifest.segments), 1)
    all_vectors = loaded.vectors_of(list(range(len(loaded.chunks))))
    if entry["vector_index"] != "IndexFlatIP":
        entry["recall_at_10_vs_exact"] = recall_at_10(loaded.vectors, exact_search(all_vectors), setup.question_vectors)
    store = None if setup.baseline is None else setup.baseline.from_vectors([c.embedding_text for c in loaded.chunks], all_vectors)
    log("in-process latency")
    entry["in_process_ms"] = _in_process(setup, loaded, store)
    entry |= http_figures(setup.plan, folder, setup.workdir / "corpus", setup.model, setup.questions, largest, log)
    lc_folder = setup.workdir / f"langchain-{size}"
    if store is not None and setup.baseline is not None:
        store.save_local(str(lc_folder))
        entry["langchain_disk_mb"] = folder_mb(lc_folder)
        entry["langchain_peak_mb"] = setup.baseline.peak_memory_mb(lc_folder)
    if largest:
        entry |= _updates(setup, folder, collection, replay, loaded, store, lc_folder, log)
    return entry


def _in_process(setup: Setup, loaded: LoadedIndex, store: Any) -> dict[str, dict[str, float]]:
    searcher = Searcher(loaded, setup.fast)
    named: dict[str, Callable[[str], Any]] = {"bayqa": lambda q: searcher.search(q, k=10)}
    if store is not None:
        named["langchain"] = lambda q: store.similarity_search(q, k=10)
    with torch_threads(1):  # LangChain embeds questions with torch: give it its better setting on a busy machine
        return interleaved(named, setup.questions, setup.plan.rounds)


def _updates(
    setup: Setup, folder: Path, collection: list[Document], replay: ReplayEncoder, loaded: LoadedIndex, store: Any,
    lc_folder: Path, log: Callable[[str], None],
) -> dict[str, float | None]:
    """Seconds to add one document, to switch a server to the result, and to change, then remove, a main-segment one."""
    settings, new_doc = setup.settings, new_document()
    log("adding one new document")
    figures: dict[str, float | None] = {
        "add_one_document_s": settled_seconds(lambda: build(IndexStore(folder), [*collection, new_doc], replay, settings)),
        # What a server does next: switch to the new generation, reading it whole or borrowing from the one it serves.
        "switch_full_load_s": settled_seconds(lambda: IndexStore(folder).open()),
        "switch_after_addition_s": settled_seconds(lambda: IndexStore(folder).open(previous=loaded)),
    }
    if store is not None:
        new_chunks = [c.embedding_text for c in chunk_document(new_doc, setup.fast.count_tokens, settings)]

        def add_to_langchain() -> None:
            store.add_texts(new_chunks)
            store.save_local(str(lc_folder))

        figures["langchain_add_one_document_s"] = settled_seconds(add_to_langchain)
    log("changing, then removing, a document of the main segment")
    changed, removed = [edited(collection[0]), *collection[1:], new_doc], [*collection[1:], new_doc]
    figures["change_one_document_s"] = settled_seconds(lambda: build(IndexStore(folder), changed, replay, settings))
    figures["remove_one_document_s"] = settled_seconds(lambda: build(IndexStore(folder), removed, replay, settings))
    return figures
