"""Answering a question from a loaded index: ranked passages with the sentence that answers.

Three ways to rank (``mode``): ``dense`` (cosine of question and passage vectors, FAISS), ``keyword``
(BM25) and ``hybrid``, the default, which fuses the two on the union of both candidate lists, each
candidate with its true score from both retrievers (bayqa.fusion). Every answer also carries the
"not found" confidence (bayqa.confidence).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

import faiss
import numpy as np
from threadpoolctl import threadpool_limits

from bayqa.chunking import Chunk
from bayqa.confidence import LIFTED_LOW, Confidence, checked, confidence, cross_confidence, needs_check, unstated
from bayqa.crossing import Crossing, gloss_of, other_language_terms
from bayqa.embedding import Embedder, MultilingualModel
from bayqa.fusion import LanguageWeights, convex, hybrid_weights, lift_other, other_first, row_weights, understood
from bayqa.highlight import best_sentence, matched_terms, passage_terms
from bayqa.measures import states_measure
from bayqa.names import unknown_codes, unmentioned
# Hit is part of this module's answers.
from bayqa.places import Hit, answer_first, cap_per_document, other_covering_first, other_stating_first, reordered
from bayqa.query import Query
from bayqa.signals import CandidateStore, Signals
from bayqa.statements import states, states_count
from bayqa.store import LoadedIndex
from bayqa.store.vectors import Segments
from bayqa.terms import half_width, is_mostly_chinese, terms
from bayqa.verify import Verifier

MODES = ("hybrid", "dense", "keyword")
MIN_CANDIDATES = 100  # per retriever, before fusion: enough for fusion to reorder the head of the list
TOP_ROWS_STRIDE = 64  # every 64th BM25 score is sampled to find a bound for the top candidates (see top_rows)
# In hybrid mode, a document's passages swap places by fused score + this x their answer sentence's score, so the
# passage whose sentence answers best leads its document; the order of documents is untouched (docs/experiments.md).
ANSWER_WEIGHT = 1.0
ANSWER_DEPTH = 10
# The first DISTINCT places of an answer hold as many different documents (cap_per_document): a long document has
# many passages to match a question by chance, and would otherwise take the first places from the one that answers.
# Chosen by cross-validation by document on the GBA set with a long document added (docs/ranking.md).
DISTINCT = 2
# A verifier reads the answer sentences of this many top passages: fewer flag more answerable questions, more cost
# time for no gain (docs/experiments.md).
CHECKED_ANSWERS = 3
# A question that names a year is flagged when none of the first YEAR_PLACES passages shown mentions it: the answers
# first in the list are about other years. Chosen over 1, 2, 3 and the CHECKED_ANSWERS best by score on the read
# question sets (docs/experiments.md).
YEAR_PLACES = 2


@dataclass(frozen=True)
class Answers:
    """What one question gets: the ranked passages, how they were ranked, and whether to trust them."""

    mode: str
    hits: list[Hit]
    confidence: Confidence
    signals: tuple[float, float] = (0.0, 0.0)  # the (similarity, coverage) the confidence came from (bayqa.calibration)


def top_rows(scores: np.ndarray, wanted: int) -> np.ndarray:
    """Rows of the ``wanted`` highest positive scores (all positive ones if fewer), in no particular order.

    A common question term matches a large share of the passages, and a partial sort over all of them is the
    costly part. A strided sample gives a score that about 2 x ``wanted`` rows reach, so the selection runs on those
    alone, with the same scores (rows tied at the cut may be picked differently, as by any partial sort). When fewer
    than ``wanted`` reach the bound, all matching rows are searched.
    """
    sample = scores[::TOP_ROWS_STRIDE]
    rank = 2 * -(-wanted // TOP_ROWS_STRIDE)
    rows = None
    if len(sample) > rank:
        bound = np.partition(sample, len(sample) - rank)[len(sample) - rank]
        if bound > 0:
            rows = np.flatnonzero(scores >= bound)
    if rows is None or len(rows) < wanted:
        rows = np.flatnonzero(scores > 0)
    if len(rows) > wanted:
        rows = rows[np.argpartition(scores[rows], len(rows) - wanted)[-wanted:]]
    return rows


@lru_cache(maxsize=4096)
def _context_terms(context: str) -> frozenset[str]:
    """The terms of a passage's title and section path (shared by all its document's passages)."""
    return frozenset(terms(context))


def coverage(question_terms: list[str], passage_terms: Iterable[str], idf: dict[str, float]) -> float:
    """IDF-weighted share of the question's distinct terms that the passage contains (0 with no terms)."""
    wanted = set(question_terms)
    total = sum(idf[t] for t in wanted)
    if total <= 0:
        return 0.0
    return sum(idf[t] for t in wanted.intersection(passage_terms)) / total


@cache
def _one_blas_thread() -> None:
    """A question's matrix products are small (a few hundred sentence rows): OpenBLAS splitting them over
    threads costs more CPU than it saves in time and keeps another core busy. The limit is per process; FAISS
    builds use OpenMP and embedding uses torch or ONNX Runtime threads, which it does not touch."""
    threadpool_limits(limits=1, user_api="blas")


class Searcher:
    """Retrieval over one index generation with one embedding model, and the multilingual model when the
    generation holds its vectors."""

    def __init__(
        self, index: LoadedIndex, embedder: Embedder, verifier: Verifier | None = None, multilingual: MultilingualModel | None = None,
        weights: LanguageWeights = LanguageWeights(), candidates: CandidateStore | None = None,
    ) -> None:
        self.index = index
        #: Where candidates come from: None for this index's own FAISS vectors and BM25 postings, else a store (Qdrant).
        self.candidates = candidates
        self.embedder = embedder
        self.verifier = verifier
        usable = multilingual is not None and index.multilingual is not None and index.manifest.multilingual == multilingual.model_id
        self.multilingual = multilingual if usable else None
        self.weights = weights
        # Whether each passage is mostly Chinese, worked out the first time a passage is a candidate (-1: not yet).
        self._chinese = np.full(len(index.chunks), -1, dtype=np.int8)
        self.crossing = Crossing(index)
        _one_blas_thread()

    def search(
        self, question: str | Query, k: int = 10, max_per_doc: int = 3, doc_ids: frozenset[str] | None = None, mode: str = "hybrid",
        distinct: int = DISTINCT,
    ) -> list[Hit]:
        return self.answer(question, k, max_per_doc, doc_ids, mode, distinct).hits

    def answer(
        self, question: str | Query, k: int = 10, max_per_doc: int = 3, doc_ids: frozenset[str] | None = None,
        mode: str = "hybrid", distinct: int = DISTINCT,
    ) -> Answers:
        """The ranked passages for ``question`` and the confidence in them; a plain string is analysed here, as given.

        The first ``distinct`` places go to as many different documents when there are that many (see
        cap_per_document); the other passages follow by score, at most ``max_per_doc`` of one document."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
        query = question if isinstance(question, Query) else Query.of(question)
        query = self.crossing.with_other_language_terms(query)
        chunks = self.index.chunks
        total = len(chunks)
        if total == 0:
            return Answers(mode, [], confidence(0.0, 0.0))
        if query.vector is None:
            query = query.with_vector(self.embedder.encode_query(query.read))
        vector = query.vector
        keyword = self.index.keyword.scores(query) if mode != "dense" and self.candidates is None else None
        allowed = self._allowed_rows(doc_ids) if self.candidates is None else None
        # Hybrid reorders a document's passages among the first ANSWER_DEPTH places, so that asking for fewer
        # passages returns the head of the same list; the answer-type check and a verifier read the CHECKED_ANSWERS
        # best-scoring passages whatever k is, which the distinct places can move down by as many places.
        depth = max(k, ANSWER_DEPTH if mode == "hybrid" else CHECKED_ANSWERS, distinct + CHECKED_ANSWERS)
        wanted = min(total, max(MIN_CANDIDATES, depth * max(4, max_per_doc) + 32))
        second = self.multilingual.encode([query.read])[0] if self.multilingual is not None and mode == "hybrid" else None
        while True:
            if self.candidates is not None:
                ranked, similarity = self._rank_signals(mode, query, self.candidates.signals(query, vector, second, wanted, doc_ids))
            else:
                dense_rows, dense_scores = self._nearest(self.index.vectors, self.index.vectors_of, vector, wanted, allowed)
                ranked, similarity = self._rank(mode, query, dense_rows, dense_scores, keyword, allowed, wanted, second)
            taken = cap_per_document(ranked, chunks.doc_id, depth, max_per_doc, distinct)
            if len(taken) == depth or wanted >= total:
                break
            wanted = min(total, wanted * 4)
        idf = {t: self.index.keyword.idf(t) for t in set(query.terms)}
        taken_rows = np.array([row for row, _ in taken], dtype=np.int64)
        cosines = self.index.sentence_scores(taken_rows, vector)
        passages = self.index.chunks.many(taken_rows.tolist())  # read at once: they are read from disk
        translated = {t: self.index.keyword.idf(t) for t in set(query.translated)}
        crossing = other_language_terms(query, idf, translated)
        other = self.chinese_rows(taken_rows) != query.chinese
        # What the answer should name: the names asked about, and the years ("0.5% in 2001" after 2020's 1%).
        named = [frozenset(terms(name)) for name in (*query.names, *sorted(query.years))]
        hits = [
            self._hit(rank, chunk, row, score, found, crossing if crossed else idf, query, crossed, named)
            for rank, (chunk, (row, score), found, crossed) in enumerate(zip(passages, taken, cosines, other), start=1)
        ]
        kind, asked = query.answer_kind, frozenset(idf)
        if mode == "hybrid":
            # A document's passage whose answer states the date or figure asked for (in the measure asked, if any:
            # bayqa.measures) comes before its others; so does one in the other language, before a first place that
            # states none.
            def stating(h: Hit) -> bool:
                return kind is None or h.answer is not None and states(kind, h.answer.text, asked) and (
                    query.measure is None or states_measure(query.measure, h.answer.text))

            row_of = {chunk.id: row for chunk, row in zip(passages, taken_rows.tolist())}
            crossed = [chunk.id for chunk, is_other in zip(passages, other) if is_other]
            if query.chinese and self.weights.gloss and len(crossed) > 1:
                # The English passages, which only the multilingual model and shared figures ranked, trade places by
                # how close each is to the question's dictionary English (its gloss) as the English model reads it.
                gloss = self.embedder.encode_query(gloss_of(query))
                close = dict(zip(crossed, (self.index.vectors_of([row_of[c] for c in crossed]) @ gloss).tolist()))
                hits = reordered(hits, lambda h: h.chunk.id in close, lambda h: self.weights.gloss * close[h.chunk.id])
            hits = answer_first(hits, ANSWER_WEIGHT, stating)
            hits = other_stating_first(hits, stating, lambda h: h.chunk.id in crossed)
            if not query.chinese:  # a Chinese question's dictionary English is too crude for its shares to compare

                def share(h: Hit) -> float:
                    return self._share_held(h.chunk, row_of[h.chunk.id], h.chunk.id in crossed, idf)

                hits = other_covering_first(hits, share, self.weights.cross_covers, lambda h: h.chunk.id in crossed)
                hits = other_covering_first(hits, share, self.weights.own_covers, lambda h: h.chunk.id not in crossed)
        top_terms = self.index.keyword.found_in(taken[0][0], idf) if taken else set()
        # By score, not by place: whether the documents answer does not depend on how the list spreads them.
        best = sorted(hits, key=lambda h: -h.score)[:CHECKED_ANSWERS]
        sentences = list(dict.fromkeys(h.answer.text for h in best if h.answer is not None))
        stated = kind is None or any(states_count(kind, t, asked, query.counted) for t in sentences)
        signals = (similarity, coverage(query.terms, top_terms, idf))
        trust = unstated(self._trust(signals, taken, query, second), None if stated else kind)
        first_texts = [half_width(f"{h.chunk.context} {h.chunk.text}") for h in hits[:YEAR_PLACES]] if query.years else []
        if trust.missing is None and query.years and not any(y in text for text in first_texts for y in query.years):
            trust = unstated(trust, "year")  # the passages are about other years than the one asked about
        held = self.crossing.held
        if trust.missing is None and query.names:
            # The best-scoring passages and those shown first (a passage in the other language is lifted to a place).
            shown = {h.chunk.id: h for h in (*best, *hits[:CHECKED_ANSWERS])}.values()
            passages = [f"{h.chunk.context} {h.chunk.text}" for h in shown]
            missed = unmentioned(query.names, passages, held, lambda name: self.crossing.sounded(name, query.chinese))
            if 2 * len(missed) > len(query.names):  # most of them: one of two may name the region around the answer
                trust = unstated(trust, "name")  # the passages are about other places or bodies than the one named
        if trust.missing is None and unknown_codes(query.terms, held):
            trust = unstated(trust, "name")  # "O·PARK3", "LL7999": no document has the code the question names
        if self.verifier is not None and needs_check(trust) and self.verifier.reads(query):
            trust = checked(trust, self.verifier.probability(query, sentences))
        return Answers(mode, hits[:k], trust, signals)

    def _share_held(self, chunk: Chunk, row: int, crossed: bool, idf: dict[str, float]) -> float:
        """The IDF-weighted share of an English question's own terms (``idf``) that a passage holds, with its title and
        section path; a Chinese passage (``crossed``) holds them in its dictionary English too. Passages of both
        languages compare on it (bayqa.places.other_covering_first). The Chinese words the dictionary gives the
        question are left out: a Chinese passage would count the same word twice."""
        held = passage_terms(self.index.sentence_spans_of(row), chunk.text, chunk.start, in_english=crossed)
        return coverage(list(idf), held | _context_terms(chunk.context), idf)

    def _allowed_rows(self, doc_ids: frozenset[str] | None) -> np.ndarray | None:
        if doc_ids is None:
            return None
        mask = np.zeros(len(self.index.chunks), dtype=bool)
        for doc in doc_ids:
            mask[self.index.rows_by_doc.get(doc, [])] = True
        return mask

    def _trust(self, signals: tuple[float, float], taken: list[tuple[int, float]], query: Query, second: np.ndarray | None) -> Confidence:
        """The "not found" confidence from the signals, or, when the first passage is in the other language than the
        question, from its multilingual cosine (bayqa.confidence.cross_confidence); a flag is also lifted by a
        passage in the other language lifted into the first places whose cosine reaches LIFTED_LOW."""
        own = confidence(*signals)
        if second is not None and taken:
            places = np.array([row for row, _ in taken[: max(self.weights.cross_places, default=1)]], dtype=np.int64)
            other = places[self.chinese_rows(places) != query.chinese]
            if len(other):
                cosine = float((self.index.multilingual_of(other[:1].tolist()) @ second)[0])
                # First, it is the answer; lifted and close enough, the answer may be the one in the other language.
                if other[0] == places[0] or (own.low and cosine >= LIFTED_LOW):
                    return cross_confidence(cosine)
        return own

    def chinese_rows(self, rows: np.ndarray) -> np.ndarray:
        """Whether each passage of ``rows`` is mostly Chinese: as the index recorded it, or, in an index written before
        it did, from the passages' text (those not met before are read in one batch)."""
        if self.index.chinese is not None:
            return self.index.chinese[rows] == 1
        unknown = np.unique(rows[self._chinese[rows] < 0])
        if len(unknown):
            self._chinese[unknown] = [is_mostly_chinese(c.text) for c in self.index.chunks.many(unknown.tolist())]
        return self._chinese[rows] == 1

    def _nearest(
        self, vectors: Segments, stored: Callable[[list[int]], np.ndarray], vector: np.ndarray, wanted: int, allowed: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The rows nearest ``vector`` among ``vectors`` (whose stored rows ``stored`` returns) and their cosines."""
        if allowed is not None:
            # Score the chosen documents' own rows exactly: an approximate (HNSW) index is not built for filters.
            rows = np.flatnonzero(allowed)
            scores = stored(rows.tolist()) @ vector
            order = np.lexsort((rows, -scores))
            return rows[order].astype(np.int64), scores[order].astype(np.float64)
        # One question is too little work to share: on a busy machine, OpenMP threads waiting on each other cost many
        # times the search itself. The setting is per calling thread, so builds keep theirs.
        faiss.omp_set_num_threads(1)
        scores, rows = vectors.search(vector[np.newaxis, :], wanted)
        keep = rows[0] >= 0
        if self.index.alive is not None:  # rows of documents changed or removed since the main segment was written
            keep &= self.index.alive[np.maximum(rows[0], 0)]
        return rows[0][keep].astype(np.int64), scores[0][keep].astype(np.float64)

    def _rank(
        self,
        mode: str,
        query: Query,
        dense_rows: np.ndarray,
        dense_scores: np.ndarray,
        keyword: np.ndarray | None,
        allowed: np.ndarray | None,
        wanted: int,
        second: np.ndarray | None = None,
    ) -> tuple[list[tuple[int, float]], float]:
        """(row, score) best first for the mode, and the highest cosine among the candidates. ``second``, the
        question's multilingual vector, adds that model's nearest passages and its cosine to hybrid fusion."""
        similarity = float(dense_scores[0]) if len(dense_scores) else 0.0
        if mode == "dense":
            return list(zip(dense_rows.tolist(), dense_scores.tolist())), similarity
        assert keyword is not None
        keyword_rows = top_rows(keyword if allowed is None else np.where(allowed, keyword, 0), wanted)
        if mode == "keyword":
            order = np.lexsort((keyword_rows, -keyword[keyword_rows]))
            return list(zip(keyword_rows[order].tolist(), keyword[keyword_rows[order]].tolist())), similarity
        if second is not None:
            near, _ = self._nearest(self.index.multilingual, self.index.multilingual_of, second, wanted, allowed)
            keyword_rows = np.union1d(keyword_rows, near)
        extra = np.setdiff1d(keyword_rows, dense_rows)
        rows = np.concatenate([dense_rows, extra])
        dense_all = np.concatenate([dense_scores, self.index.vectors_of(extra.tolist()) @ query.vector if len(extra) else np.zeros(0)])
        sentences = self.index.best_sentence_scores(rows, query.vector)
        multilingual = None if second is None else self.index.multilingual_of(rows.tolist()) @ second
        return self._fuse(query, Signals(rows, dense_all, sentences, keyword[rows], multilingual), similarity)

    def _rank_signals(self, mode: str, query: Query, signals: Signals) -> tuple[list[tuple[int, float]], float]:
        """``_rank`` over candidates a store found and scored (bayqa.signals)."""
        similarity = float(signals.dense[0]) if len(signals.rows) else 0.0
        if mode == "dense":
            return list(zip(signals.rows.tolist(), signals.dense.tolist())), similarity
        if mode == "keyword":
            matched = signals.bm25 > 0
            order = np.lexsort((signals.rows[matched], -signals.bm25[matched]))
            return list(zip(signals.rows[matched][order].tolist(), signals.bm25[matched][order].tolist())), similarity
        return self._fuse(query, signals, similarity)

    def _fuse(self, query: Query, signals: Signals, similarity: float) -> tuple[list[tuple[int, float]], float]:
        """Hybrid (row, score) best first from the candidates' signals, and the highest cosine among them."""
        rows, dense_all = signals.rows, signals.dense
        scores = [dense_all, signals.sentences, signals.bm25]
        if signals.multilingual is None:
            weights = np.asarray(hybrid_weights(query, similarity))
        else:
            scores.append(signals.multilingual)
            chinese = self.chinese_rows(rows)
            other = chinese != query.chinese
            weights = row_weights(query, similarity, chinese, self.weights)
        fused = convex(scores, weights)
        order = np.lexsort((rows, -dense_all, -fused))  # equal fused scores (no signal left) go by cosine
        if signals.multilingual is not None and understood(similarity) > 0:
            # Each keeps its own score: the checks of "not found" read the best-scoring passages, not the places.
            def doc_of(i: int) -> str:
                return self.index.chunks.doc_id(int(rows[i]))

            order = other_first(order, other, signals.multilingual, self.weights.cross_first, doc_of)
            order = lift_other(order, other, self.weights.cross_places, doc_of)
        return list(zip(rows[order].tolist(), fused[order].tolist())), max(similarity, float(dense_all.max(initial=0.0)))

    def _hit(
        self, rank: int, chunk: Chunk, row: int, score: float, cosines: np.ndarray, question_idf: dict[str, float], query: Query,
        crossed: bool = False, named: Sequence[frozenset[str]] = (),
    ) -> Hit:
        """The hit of passage ``row``; ``crossed`` says it is in the other language than the question. Then the English
        model's sentence cosines say nothing and no term is shared: the dictionary (bayqa.translate) alone chooses the
        answer sentence, a Chinese question's English terms (``question_idf``) in an English passage, an English
        question's terms in a Chinese passage's dictionary English. ``named`` are the terms of each name the question asks
        about."""
        spans = self.index.sentence_spans_of(row)
        if crossed:
            cosines = np.zeros_like(cosines)
        answer = best_sentence(cosines, question_idf, query.answer_kind, spans, chunk.text, chunk.start, query.parts, query.chinese,
                               in_english=crossed and not query.chinese, named=named, counted=query.counted, why=query.why,
                               measure=query.measure)
        return Hit(rank, round(score, 6), chunk, answer, matched_terms(question_idf.keys(), spans, chunk.text, chunk.start))
