"""The bench's data: where SciFact is, its abstracts as documents, and replicas of them for the larger collections."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from bayqa.documents import Document, parse_document
from bayqa.embedding import Embedder
from bayqa.indexing import sentence_embedding_text
from bayqa.store import LoadedIndex

# Per-dimension noise on replica vectors: a cosine of about 1/sqrt(1 + 384 * JITTER**2) = 0.86 to the original, so a
# replica sits about as close to its original as a real SciFact chunk sits to its nearest other chunk.
JITTER = 0.03
BEIR_FILES = ("corpus.jsonl", "queries.jsonl")



class DataError(Exception):
    """The bench's data cannot be found; the message says how to name it."""


class BenchSettings(BaseSettings):
    """The bench's own setting, read from the environment like bayqa's (the --scifact option overrides it)."""

    model_config = SettingsConfigDict(env_prefix="BAYQA_BENCH_", frozen=True, extra="ignore")

    data: Path | None = Field(None, description="SciFact in BEIR format (corpus.jsonl, queries.jsonl).")


def scifact_folder(given: Path | None, files: Sequence[str] = BEIR_FILES) -> Path:
    """The SciFact folder named by --scifact, else by BAYQA_BENCH_DATA; DataError if neither names one holding ``files``."""
    folder = given or BenchSettings().data
    if folder is None:
        raise DataError("no SciFact data: pass --scifact DIR (BEIR format: corpus.jsonl, queries.jsonl) or set BAYQA_BENCH_DATA")
    missing = [name for name in files if not (folder / name).is_file()]
    if missing:
        raise DataError(f"no SciFact corpus at {folder} ({', '.join(missing)} missing); pass --scifact DIR "
                        "(BEIR format: corpus.jsonl, queries.jsonl)")
    return folder


def abstracts(folder: Path) -> Iterator[tuple[str, str]]:
    """Each abstract of a BEIR corpus as its id and the text of a file holding it (title, blank line, text)."""
    with open(folder / "corpus.jsonl", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            yield row["_id"], f"{row['title']}\n\n{row['text']}"


def load_scifact(folder: Path, docs: int, questions: int) -> tuple[list[Document], list[str]]:
    """The first ``docs`` abstracts as documents and the first ``questions`` queries."""
    documents = []
    for doc_id, text in abstracts(folder):
        if len(documents) == docs:
            break
        documents.append(parse_document(text.encode(), "text", f"scifact/{doc_id}.txt", doc_id))
    with open(folder / "queries.jsonl", encoding="utf-8") as fh:
        queries = [json.loads(line)["text"] for line, _ in zip(fh, range(questions))]
    return documents, queries


def write_abstracts(folder: Path, target: Path, count: int) -> None:
    """The first ``count`` abstracts as .txt files of a new corpus folder."""
    target.mkdir(parents=True)
    for (doc_id, text), _ in zip(abstracts(folder), range(count)):
        (target / f"scifact_{doc_id}.txt").write_text(text, encoding="utf-8")


def replica(doc: Document, number: int) -> Document:
    """A copy of a real document under another id (same title and text, so it is chunked exactly alike)."""
    if number == 0:
        return doc
    return replace(doc, id=f"replica-{number}/{doc.id}", content_hash=f"{doc.content_hash[:48]}{number:016x}")


def replicas(docs: Sequence[Document], chunks_per_doc: dict[str, int], size: int) -> tuple[list[Document], int]:
    """Copies of the real documents, round after round, until they hold ``size`` chunks; and how many rounds it took."""
    collection: list[Document] = []
    count, rounds = 0, 0
    while count < size:
        for doc in docs:
            if count >= size:
                break
            collection.append(replica(doc, rounds))
            count += chunks_per_doc[doc.id]
        rounds += 1
    return collection, rounds


def new_document() -> Document:
    """The document that the timed addition brings to the largest collection."""
    return parse_document(b"Cross-boundary data flows\n\nThe new rules let research institutes in the Hetao zone send "
                          b"genomic data to Hong Kong universities after a security review.", "text", "new/one-more.txt", "new")


def edited(doc: Document) -> Document:
    """The document with a line added: what the timed change of a main-segment document writes."""
    return parse_document(f"{doc.text}\n\nAmended in 2026.".encode(), "text", doc.id, doc.title)


def vectors_by_text(index: LoadedIndex, chunk_vectors: np.ndarray) -> dict[str, np.ndarray]:
    """The real vector of every passage and sentence text a build embeds, for replicas to replay."""
    by_text = {c.embedding_text: v for c, v in zip(index.chunks, chunk_vectors)}
    for row, chunk in enumerate(index.chunks):
        vectors, spans = index.sentences_of(row)
        by_text.update((sentence_embedding_text(chunk, int(s), int(e)), v.astype(np.float32)) for v, (s, e) in zip(vectors, spans))
    return by_text


class ReplayEncoder:
    """Gives a replica chunk its real chunk's vector plus jitter, instead of running the model.

    The first time a text comes it gets the real vector; each later time (a replica) a differently jittered
    one, deterministically. Texts it has never seen (a genuinely new document) go to the real model.
    """

    def __init__(self, embedder: Embedder, known: dict[str, np.ndarray]) -> None:
        self.embedder = embedder
        self.model_id = embedder.model_id
        self.dimension = embedder.dimension
        self.max_tokens = embedder.max_tokens
        self._known = known
        self._seen: dict[str, int] = {}
        self.count_tokens = lru_cache(maxsize=None)(embedder.count_tokens)

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        unknown = []
        for i, text in enumerate(texts):
            base = self._known.get(text)
            if base is None:
                unknown.append(i)
                continue
            times = self._seen.get(text, 0)
            self._seen[text] = times + 1
            if times:
                noise = np.random.default_rng([times, len(text)]).normal(0.0, JITTER, self.dimension)
                base = base + noise.astype(np.float32)
            out[i] = base / np.linalg.norm(base)
        if unknown:
            out[unknown] = self.embedder.encode([texts[i] for i in unknown], batch_size=batch_size)
        return out
