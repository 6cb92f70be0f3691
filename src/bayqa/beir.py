"""Reading a retrieval benchmark in BEIR layout: corpus.jsonl, queries.jsonl, qrels/<split>.tsv.

Each corpus entry becomes a Document through the same text loader as a ``.txt`` file (its title kept
as the title, its text as the body), so the benchmark is indexed by the service's own code.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bayqa.documents import Document, DocumentError, content_hash, parse_document


@dataclass(frozen=True)
class Benchmark:
    documents: tuple[Document, ...]
    queries: dict[str, str]  # only the queries that have judgments in the split
    qrels: dict[str, dict[str, int]]  # query id -> {document id: relevance}


def load_benchmark(folder: Path, split: str) -> Benchmark:
    """The corpus, the split's judged queries and their judgments; DocumentError says what is missing."""
    for name in ("corpus.jsonl", "queries.jsonl", f"qrels/{split}.tsv"):
        if not (folder / name).is_file():
            raise DocumentError(f"{folder} is not a BEIR folder with split {split!r}: {name} is missing")
    qrels = read_qrels(folder / "qrels" / f"{split}.tsv")
    queries = {q["_id"]: q["text"] for q in _jsonl(folder / "queries.jsonl") if str(q.get("_id")) in qrels}
    documents = tuple(_document(entry) for entry in _jsonl(folder / "corpus.jsonl"))
    return Benchmark(documents, queries, {q: r for q, r in qrels.items() if q in queries})


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """Tab-separated ``query-id corpus-id score`` with a header line, CRLF or LF line ends."""
    qrels: dict[str, dict[str, int]] = {}
    text = path.read_text(encoding="utf-8-sig")
    for number, row in enumerate(csv.reader(io.StringIO(text), delimiter="\t")):
        if not row or (number == 0 and not row[-1].strip().lstrip("-").isdigit()):
            continue
        if len(row) < 3:
            raise DocumentError(f"{path}, line {number + 1}: expected query-id, corpus-id and score separated by tabs")
        qrels.setdefault(row[0].strip(), {})[row[1].strip()] = int(row[2])
    return qrels


def _jsonl(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8-sig") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DocumentError(f"{path}, line {number}: not valid JSON ({exc.msg})") from exc
                entry["_id"] = str(entry.get("_id", ""))
                yield entry


def _document(entry: dict) -> Document:
    title = str(entry.get("title") or "").strip()
    body = str(entry.get("text") or "").strip() or title or entry["_id"]
    doc = parse_document(body.encode("utf-8"), "text", entry["_id"], fallback_title=entry["_id"])
    return dataclasses.replace(doc, title=title or doc.title, content_hash=content_hash(f"{title}\0{body}".encode()))
