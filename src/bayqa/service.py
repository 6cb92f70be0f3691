"""One process's view of bayqa: settings, the model, and the live index generation.

The CLI and the HTTP app both go through this, so they build and search the same way. Swapping the
generation is a single reference assignment: a request that already took the old one finishes on it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from bayqa.chunking import Chunk, ChunkSettings
from bayqa.config import DEFAULT_MODEL, Settings
from bayqa.documents import load_corpus
from bayqa.embedding import Embedder, MultilingualModel, multilingual_model
from bayqa.indexing import BuildReport, build_holding_lock
from bayqa.metrics import record_build
from bayqa.parsing import CACHE_FILE, PARSER_VERSION, BoundedReader, ParseCache
from bayqa.query import Query, check_documents
from bayqa.search import Answers, Hit, Searcher
from bayqa.signals import StoreUnavailable
from bayqa.store import DocumentInfo, IndexMismatch, IndexStore, LoadedIndex, generation_order
from bayqa.verify import Verifier

if TYPE_CHECKING:
    from bayqa.qdrant.mirror import QdrantMirror


#: How long an update waits for another process's build to finish before it gives up.
WRITE_WAIT_SECONDS = 600.0
#: How often a server process looks for a generation another process built.
REFRESH_SECONDS = 1.0
log = logging.getLogger("bayqa.service")


class NotReady(Exception):
    """The index is not loaded yet (first build still running, or it failed)."""


class NotReached(NotReady):
    """The generation a client asked for (``min_generation``) is not in the index folder yet: its build has not
    switched, or this server's view of a network file system lags. Answered like NotReady: 503, Retry-After."""


@dataclass(frozen=True)
class Reply:
    """A question as a user sent it, answered: the checked question, the answers, the generation that gave them,
    and how long the search itself took."""

    question: str
    k: int
    answers: Answers
    generation: str
    seconds: float


@dataclass(frozen=True)
class IndexedDocument:
    """A document as the live generation holds it: what is known of it, its text and its passages in order."""

    info: DocumentInfo
    text: str
    chunks: list[Chunk]


class Service:
    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        #: The Qdrant collection searches read their candidates from (None: the index folder's own FAISS and BM25).
        self.mirror = qdrant_mirror(settings) if settings.store == "qdrant" else None
        self.store = IndexStore(settings.index, exact_below=settings.exact_search_below,
                                grace_seconds=settings.segment_grace_seconds, mirror=None if settings.read_only else self.mirror)
        self._embedder = embedder
        self._index: LoadedIndex | None = None
        self._searcher: Searcher | None = None  # of ``_index``, made when a question first needs one
        self._load_lock = threading.Lock()

    @cached_property
    def verifier(self) -> Verifier | None:
        """The "not found" cross-encoder of the settings, loaded once; ModelError if the setting names none."""
        return Verifier.from_setting(self.settings.verifier) if self.settings.verifier else None

    @cached_property
    def embedder(self) -> Embedder:
        return self._embedder or Embedder(self.settings.model, backend=self.settings.backend, cache_dir=self.settings.cache)

    @cached_property
    def multilingual(self) -> MultilingualModel | None:
        """The second, multilingual model of the settings (None when off), loaded once."""
        return multilingual_model(self.settings.multilingual, self.settings.cache)

    def chunk_settings(self) -> ChunkSettings:
        return ChunkSettings(self.settings.chunk_tokens, self.settings.chunk_overlap, self.embedder.max_tokens,
                             self.settings.sentence_vectors, PARSER_VERSION)

    def build(
        self, *, progress: bool = False, force: bool = False, wait: float = 0,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> BuildReport:
        """Bring the index in line with the corpus folder (only new and changed files are parsed and embedded).

        New files are parsed (bounded, see bayqa.parsing) before the write lock is taken, so a slow file does
        not hold up other writers; the folder is then read again under the lock, so the build lands what the
        folder holds after every write acknowledged before it, never an older snapshot.
        """
        started = time.perf_counter()
        cache = ParseCache(self.settings.index / CACHE_FILE)
        with BoundedReader(cache, self.settings.parse_limits) as read:
            load_corpus(self.settings.corpus, read)
            with self.store.writing(wait):
                corpus = load_corpus(self.settings.corpus, read)
                report = build_holding_lock(
                    self.store, corpus.documents, self.embedder, self.chunk_settings(), problems=corpus.problems,
                    batch_size=self.settings.batch_size, progress=progress, force=force, on_progress=on_progress,
                    multilingual=self.multilingual,
                )
                cache.prune(read.seen)
        record_build(time.perf_counter() - started, read.durations, [s.reason for s in corpus.skipped])
        return report

    def update(self, on_progress: Callable[[int, int], None] | None = None) -> BuildReport:
        """Build (queueing behind another process's build) and switch this process to the result.

        When this returns, searches in this process see the update: a removed document is gone.
        """
        report = self.build(wait=WRITE_WAIT_SECONDS, on_progress=on_progress)
        self.refresh()
        return report

    @property
    def model_id(self) -> str:
        """The model the index must have been built with, known without loading the model."""
        return self._embedder.model_id if self._embedder is not None else self.settings.model or DEFAULT_MODEL

    def load(self) -> Searcher:
        """Open the live generation (checking it was built with our model) and make it the one searched."""
        with self._load_lock:
            self._index = self._mirrored(self.store.open(self.model_id))
        return self.searcher

    def refresh(self) -> bool:
        """Switch to a newer generation if another build made one; True if it switched. The model is not loaded
        here: a process that never embeds a question (the server of search processes) never loads it."""
        with self._load_lock:
            current = self.store.current_generation()
            previous = self._index
            if current is None or (previous is not None and previous.generation == current):
                return False
            self._index = self._mirrored(self.store.open(self.model_id, previous))
            return True

    def _mirrored(self, index: LoadedIndex) -> LoadedIndex:
        """``index``, once the Qdrant store holds all of it: a writer adds what it lacks (an index built before the
        store was Qdrant), a read-only server refuses to serve it (the writer will)."""
        if self.mirror is None:
            return index
        missing = self.mirror.missing(index)
        if missing and self.settings.read_only:
            raise IndexMismatch(f"the Qdrant store lacks {len(missing)} segment(s) of generation {index.generation}; the writer "
                                "(`bayqa index`, or `bayqa serve` without --read-only) adds them")
        if missing:
            log.info("writing generation %s into the Qdrant store (%d segments)", index.generation, len(missing))
            self.mirror.write(index)
        return index

    def reach(self, generation: str) -> LoadedIndex:
        """The live generation, once it is ``generation`` or a later one: loaded now if the folder has it already
        (a client that made a write asks for the generation its job reported). Behind ``generation``, NotReached."""
        wanted = generation_order(generation)
        index = self._index
        if index is None or generation_order(index.generation) < wanted:
            try:
                self.refresh()
            except Exception as exc:  # a generation removed while loading it, say: the follower tries again
                log.warning("could not load the newest index generation: %s", exc)
            index = self._index
        if index is None or generation_order(index.generation) < wanted:
            raise NotReached(f"this server serves {index.generation if index else 'no generation'} and the index folder has no "
                             f"generation {generation} or later yet; try again in a moment")
        return index

    @property
    def ready(self) -> bool:
        return self._index is not None

    @property
    def index(self) -> LoadedIndex:
        """The generation being served; NotReady before one is loaded."""
        index = self._index
        if index is None:
            raise NotReady("the index is still loading; try again in a few seconds")
        return index

    @property
    def searcher(self) -> Searcher:
        """A searcher of the generation being served (made with the models on first use)."""
        index = self.index
        searcher = self._searcher
        if searcher is None or searcher.index is not index:
            candidates = self.mirror.candidates(index) if self.mirror is not None else None
            searcher = self._searcher = Searcher(index, self.embedder, self.verifier, self.multilingual, candidates=candidates)
        return searcher

    def search(self, question: str | Query, k: int = 10, doc_ids: frozenset[str] | None = None, mode: str = "hybrid") -> list[Hit]:
        return self.answer(question, k, doc_ids, mode).hits

    def answer(self, question: str | Query, k: int = 10, doc_ids: frozenset[str] | None = None, mode: str = "hybrid") -> Answers:
        return self.searcher.answer(question, k=k, max_per_doc=self.settings.max_per_doc, doc_ids=doc_ids, mode=mode)

    def ask(
        self, text: str, k: int = 10, doc_ids: Iterable[str] | None = None, mode: str = "hybrid",
        min_generation: str | None = None,
    ) -> Reply:
        """A question as a user sent it, checked (QuestionError, UnknownDocuments) and answered on one generation:
        ``min_generation`` or a later one when given (NotReached if this server cannot serve one yet)."""
        query = Query.parse(text, self.settings.max_question_chars)
        if min_generation is not None:
            self.reach(min_generation)
        searcher = self.searcher
        limited = check_documents(doc_ids, searcher.index.documents)
        started = time.perf_counter()
        answers = searcher.answer(query, k=k, max_per_doc=self.settings.max_per_doc, doc_ids=limited, mode=mode)
        return Reply(query.text, k, answers, searcher.index.generation, time.perf_counter() - started)

    def document(self, doc_id: str) -> IndexedDocument | None:
        """Document ``doc_id`` of the live generation, or None if it holds none of that id."""
        index = self.index
        info = index.documents.get(doc_id)
        text = index.document_text(doc_id) if info else None
        if info is None or text is None:
            return None
        return IndexedDocument(info, text, index.chunks.many(index.rows_by_doc.get(doc_id, [])))


def qdrant_mirror(settings: Settings) -> QdrantMirror:
    """The Qdrant store the settings name (``store`` 'qdrant'); StoreUnavailable without the qdrant extra."""
    from bayqa.qdrant.engines import Cluster
    from bayqa.qdrant.mirror import QdrantMirror

    assert settings.qdrant_url is not None
    key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key is not None else None
    try:
        return QdrantMirror.at(settings.qdrant_url, Cluster(settings.qdrant_shards, settings.qdrant_replicas), key)
    except ImportError as exc:
        raise StoreUnavailable(f"BAYQA_STORE=qdrant needs the Qdrant client ({exc.name} is not installed): "
                               "pip install 'bayqa[qdrant]'") from exc


def follow_index(service: Service, stop: threading.Event) -> None:
    """Load the index if needed, then pick up new generations written by any process, until ``stop`` is set."""
    while not stop.is_set():
        try:
            service.refresh()
        except Exception:  # a half-deleted or mismatched generation: keep serving the old one, retry later
            log.exception("could not load the newest index generation; still serving the previous one")
        stop.wait(REFRESH_SECONDS)
