"""Request and response shapes of the HTTP API, each response built from the library's values (``from_...``).

The README and docs document them, and they stay stable.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from bayqa.store import GENERATION_NAME

if TYPE_CHECKING:
    from bayqa.chunking import Chunk
    from bayqa.confidence import Confidence
    from bayqa.highlight import Answer
    from bayqa.store import DocumentInfo, LoadedIndex
    from bayqa.jobs import Job
    from bayqa.search import Hit
    from bayqa.service import IndexedDocument, Reply

Mode = Literal["hybrid", "dense", "keyword"]


#: What ``min_generation`` must look like: a generation's name, as jobs and searches report it.
GENERATION = f"^{GENERATION_NAME}$"
MIN_GENERATION = (
    "Read your writes: answer from this generation or a later one (the `generation` of the job of a write, once it is "
    "done). A server behind it loads the newest generation first, or answers 503 with Retry-After when the index folder "
    "has none that recent yet."
)


class SearchRequest(BaseModel):
    q: str = Field(min_length=1, description="The question, 1 to 1,000 characters (not only spaces).")
    k: int = Field(10, ge=1, le=100, strict=True, description="How many passages to return (a JSON integer; true is not 1).")
    doc_ids: list[str] | None = Field(None, description="Only search these documents (ids as in /documents).")
    mode: Mode = Field("hybrid", description="Ranking: hybrid (dense and keyword fused, the default), dense or keyword.")
    min_generation: str | None = Field(None, pattern=GENERATION, description=MIN_GENERATION)


class AnswerOut(BaseModel):
    text: str = Field(description="The sentence of the passage that best answers the question, or up to three consecutive sentences when the question has several parts or the answer runs on.")
    start: int = Field(description="Character offset of the sentence in the document text.")
    end: int

    @classmethod
    def from_answer(cls, answer: Answer | None) -> AnswerOut | None:
        return None if answer is None else cls(text=answer.text, start=answer.start, end=answer.end)


class MatchOut(BaseModel):
    term: str = Field(description="The question's search term as the keyword search counts it: an English stem "
                      "('approv' for 'approved'), a figure or code, or one or two Chinese characters.")
    start: int = Field(description="Character offset in the document text of the word or characters that make the term.")
    end: int


class PassageOut(BaseModel):
    rank: int
    score: float = Field(description="Ranking score of the mode (higher is better): fused 0..1 (hybrid), cosine (dense), BM25 (keyword).")
    doc_id: str
    title: str
    headings: list[str] = Field(description="Heading path of the section, outermost first.")
    section: str = Field(description="The heading path joined with ' > ' (empty when the document has no headings).")
    page: int | None = Field(description="PDF page number (1-based), null for other documents.")
    page_label: str | None = Field(
        None, description="The page's number as printed on it (or the PDF's own page label), e.g. \"65\" for PDF page 8; "
        "null when the PDF has none and for other documents.",
    )
    chunk_id: str
    text: str
    start: int = Field(description="Character offset of the passage in the document text.")
    end: int
    answer: AnswerOut | None
    matches: list[MatchOut] = Field(
        description="Where the question's search terms occur in the passage text, in order (the words a page can mark); "
        "Chinese terms are overlapping pairs of characters, so their matches can overlap; an English passage found "
        "for a Chinese question matches the question's dictionary English."
    )

    @classmethod
    def from_hit(cls, hit: Hit) -> PassageOut:
        chunk = hit.chunk
        return cls(
            rank=hit.rank,
            score=hit.score,
            doc_id=chunk.doc_id,
            title=chunk.title,
            headings=list(chunk.headings),
            section=" > ".join(chunk.headings),
            page=chunk.page,
            page_label=chunk.page_label,
            chunk_id=chunk.id,
            text=chunk.text,
            start=chunk.start,
            end=chunk.end,
            answer=AnswerOut.from_answer(hit.answer),
            matches=[MatchOut(term=m.term, start=m.start, end=m.end) for m in hit.matches],
        )


class ConfidenceOut(BaseModel):
    score: float = Field(description="0..1: how likely the corpus answers the question (calibrated on the GBA question set).")
    low: bool = Field(description="True when the corpus probably has no answer; the closest passages are still returned.")
    check: float | None = Field(
        None, description="0..1 from the optional verifier (BAYQA_VERIFIER): how likely the best top sentence answers; "
        "null when it is off or did not run (Chinese questions, questions already flagged).",
    )
    missing: str | None = Field(
        None, description="What the question asks for ('date', 'amount' of money, 'figure') when none of the answer "
        "sentences of the top three passages states one, 'year' when the question names a year that neither of the "
        "first two passages mentions, or 'name' when most of the places or bodies it names go unmentioned by the top "
        "three passages though the "
        "documents know them (or are places the dictionary knows that the documents never name), or it names a code "
        "no document holds: "
        "such a question is flagged low whatever its score; else null.",
    )

    @classmethod
    def from_confidence(cls, confidence: Confidence) -> ConfidenceOut:
        return cls(score=confidence.score, low=confidence.low, check=confidence.check, missing=confidence.missing)


class SearchResponse(BaseModel):
    query: str
    k: int
    mode: Mode
    took_ms: float
    generation: str = Field(description="The index generation that answered.")
    confidence: ConfidenceOut
    results: list[PassageOut]

    @classmethod
    def from_reply(cls, reply: Reply) -> SearchResponse:
        answers = reply.answers
        return cls(
            query=reply.question, k=reply.k, mode=answers.mode, took_ms=round(reply.seconds * 1000, 2),
            generation=reply.generation, confidence=ConfidenceOut.from_confidence(answers.confidence),
            results=[PassageOut.from_hit(hit) for hit in answers.hits],
        )


class DocumentOut(BaseModel):
    id: str = Field(description="Path of the file relative to the corpus folder.")
    title: str
    kind: str = Field(description="text, markdown, html or pdf")
    size: int = Field(description="File size in bytes.")
    pages: int | None
    chunks: int
    content_hash: str
    added_at: str
    indexed_at: str

    @classmethod
    def from_info(cls, info: DocumentInfo) -> DocumentOut:
        return cls(**asdict(info))


class ChunkRef(BaseModel):
    chunk_id: str
    start: int
    end: int
    headings: list[str]
    page: int | None
    page_label: str | None = Field(None, description="The page's printed number or PDF page label; null when none.")

    @classmethod
    def from_chunk(cls, chunk: Chunk) -> ChunkRef:
        return cls(chunk_id=chunk.id, start=chunk.start, end=chunk.end, headings=list(chunk.headings), page=chunk.page,
                   page_label=chunk.page_label)


class DocumentDetail(DocumentOut):
    text: str
    passages: list[ChunkRef]

    @classmethod
    def from_document(cls, document: IndexedDocument) -> DocumentDetail:
        return cls(**asdict(document.info), text=document.text, passages=[ChunkRef.from_chunk(c) for c in document.chunks])


class DocumentList(BaseModel):
    generation: str
    documents: list[DocumentOut]

    @classmethod
    def from_index(cls, index: LoadedIndex) -> DocumentList:
        return cls(generation=index.generation, documents=[DocumentOut.from_info(d) for d in index.documents.values()])


class Health(BaseModel):
    status: str = Field(
        description="'ready', or 'loading' (HTTP 503) while the index is not loaded yet, or with --workers N while no "
        "search process has loaded it."
    )
    generation: str | None = None
    documents: int | None = None
    chunks: int | None = None
    model: str | None = None
    multilingual: str | None = Field(
        None, description="The multilingual model whose vectors the index holds (cross-lingual search), or null."
    )
    search_processes: int | None = Field(
        None, description="With `bayqa serve --workers N`: how many of the N search processes are running (else null)."
    )
    read_only: bool = Field(
        False, description="True for `bayqa serve --read-only`: it serves searches and follows the index folder, and sends "
        "writes to the writer (405)."
    )
    store: str = Field(
        "faiss", description="Where searches find their candidates: 'faiss' (the index folder) or 'qdrant' (BAYQA_STORE)."
    )

    @classmethod
    def from_index(cls, index: LoadedIndex, search_processes: int | None, read_only: bool = False, store: str = "faiss") -> Health:
        """The health of a server that serves ``index``."""
        return cls(status="ready", generation=index.generation, documents=len(index.documents),
                   chunks=index.manifest.chunks, model=index.manifest.model, multilingual=index.manifest.multilingual or None,
                   search_processes=search_processes, read_only=read_only, store=store)


class ErrorOut(BaseModel):
    detail: str = Field(description="What was wrong and how to fix it.")


class JobProgress(BaseModel):
    done: int = Field(description="Chunks embedded so far.")
    total: int = Field(description="Chunks this update embeds (0 until known, or when nothing needs embedding).")


class JobOut(BaseModel):
    id: str
    kind: str = Field(description="add, replace, delete, reindex, watch, or reconcile (run by the server at start)")
    document: str | None = Field(description="The document id the write was about (null for reindex/watch).")
    state: str = Field(description="queued, running, done or failed")
    progress: JobProgress
    created_at: str
    started_at: str | None
    finished_at: str | None
    outcome: dict | None = Field(
        description="When done: generation, added, changed, removed (lists of ids), unchanged (count), problems, "
        "chunks_embedded, chunks_total, seconds."
    )
    error: str | None = Field(description="When failed: what went wrong; the index keeps its previous content.")
    generation: str | None = Field(
        None, description="When done: the index generation that holds the write (a removed document is gone from it). "
        "Pass it as `min_generation` to a search, on any server over the index, to read the write."
    )

    @classmethod
    def from_job(cls, job: Job) -> JobOut:
        return cls(
            id=job.id, kind=job.kind, document=job.document, state=job.state,
            progress=JobProgress(done=job.done, total=job.total), created_at=job.created_at, started_at=job.started_at,
            finished_at=job.finished_at, outcome=job.outcome, error=job.error,
            generation=(job.outcome or {}).get("generation") if job.state == "done" else None,
        )
