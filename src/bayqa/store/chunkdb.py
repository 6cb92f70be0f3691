"""A segment's chunk database (SQLite): its documents, with their texts compressed, and its passages as offsets."""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from bayqa.chunking import Chunk
from bayqa.documents import Document
from bayqa.store.manifest import DocumentInfo

_SCHEMA = """
    CREATE TABLE documents (id TEXT PRIMARY KEY, title TEXT, kind TEXT, content_hash TEXT, size INTEGER,
        pages INTEGER, chunks INTEGER, added_at TEXT, indexed_at TEXT, text BLOB);
    CREATE TABLE chunks (row INTEGER PRIMARY KEY, id TEXT, doc_id TEXT, ordinal INTEGER,
        headings TEXT, page INTEGER, start INTEGER, end_ INTEGER, page_label TEXT);
    CREATE INDEX chunks_doc ON chunks(doc_id);
"""


def write_chunk_db(
    path: Path, documents: Sequence[Document], infos: Sequence[DocumentInfo], chunks: Sequence[Chunk], first_row: int = 0
) -> None:
    """Write documents (those of ``infos``, with their texts from ``documents``) and chunks (rows numbered from
    ``first_row``), into a new file or one that has the tables."""
    fresh = not path.exists()
    db = sqlite3.connect(path)
    try:
        if fresh:
            db.executescript(_SCHEMA)
        texts = {d.id: d.text for d in documents}
        db.executemany(
            "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?)",
            [(i.id, i.title, i.kind, i.content_hash, i.size, i.pages, i.chunks, i.added_at, i.indexed_at, compressed(texts[i.id]))
             for i in infos],
        )
        db.executemany(
            "INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?,?)",
            [(row, c.id, c.doc_id, c.ordinal, json.dumps(c.headings, ensure_ascii=False), c.page, c.start, c.end, c.page_label)
             for row, c in enumerate(chunks, start=first_row)],
        )
        db.commit()
    finally:
        db.close()


@contextmanager
def read_only(path: Path) -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        yield db
    finally:
        db.close()


def headings(stored: str) -> tuple[str, ...]:
    """A chunk's heading path as stored in its chunk database (a JSON list)."""
    return tuple(json.loads(stored))


def document_text(db: sqlite3.Connection, doc_id: str) -> str | None:
    """A document's whole text (None if the database has no such document)."""
    found = db.execute("SELECT text FROM documents WHERE id = ?", (doc_id,)).fetchone()
    return None if found is None else decompressed(found[0])


def read_chunks(
    db: sqlite3.Connection, headings: Callable[[str], tuple[str, ...]], text_of: Callable[[str], str | None],
    rows: Sequence[int] | None = None, labels: bool | None = None,
) -> list[Chunk]:
    """The passages of a segment's chunk database in row order (only ``rows``, when given).

    A passage is stored as offsets into its document, whose text (``text_of(doc_id)``) is asked for once for all its
    passages: the rows come in document order. ``labels`` says whether the database has page labels (asked when None).
    """
    where, args = ("WHERE row IN (SELECT value FROM json_each(?))", [json.dumps(list(rows))]) if rows is not None else ("", [])
    label = "c.page_label" if (has_page_labels(db) if labels is None else labels) else "NULL"
    chunks: list[Chunk] = []
    doc_id, text, title = None, "", ""
    for r in db.execute(
        f"SELECT c.id, c.doc_id, c.ordinal, d.title, c.headings, c.page, c.start, c.end_, {label} FROM chunks c "
        f"JOIN documents d ON d.id = c.doc_id {where} ORDER BY c.row", args
    ):
        if r[1] != doc_id:
            doc_id, title, text = r[1], r[3], text_of(r[1]) or ""
        chunks.append(Chunk(id=r[0], doc_id=doc_id, ordinal=r[2], title=title, headings=headings(r[4]), page=r[5],
                            start=r[6], end=r[7], text=text[r[6] : r[7]], page_label=r[8]))
    return chunks


def has_page_labels(db: sqlite3.Connection) -> bool:
    """Chunk databases written before page labels have no such column; their passages read as having none."""
    return any(column[1] == "page_label" for column in db.execute("PRAGMA table_info(chunks)"))


#: The columns of the documents table that make a DocumentInfo, in its order.
DOCUMENT_COLUMNS = "id, title, kind, content_hash, size, pages, chunks, added_at, indexed_at"


def document_infos(db: sqlite3.Connection) -> dict[str, DocumentInfo]:
    return {r[0]: DocumentInfo(*r) for r in db.execute(f"SELECT {DOCUMENT_COLUMNS} FROM documents ORDER BY id")}


def rows_by_document(db: sqlite3.Connection, ids: Collection[str] | None = None) -> dict[str, tuple[int, ...]]:
    """The chunk rows of each document (of those of ``ids`` only, when given), in row order; () for one without any."""
    where, args = ("WHERE {} IN (SELECT value FROM json_each(?))", [json.dumps(list(ids))]) if ids is not None else ("", [])
    found: dict[str, list[int]] = {d: [] for (d,) in db.execute(f"SELECT id FROM documents {where.format('id')}", args)}
    for row, doc_id in db.execute(f"SELECT row, doc_id FROM chunks {where.format('doc_id')} ORDER BY row", args):
        if doc_id in found:
            found[doc_id].append(row)
    return {d: tuple(rows) for d, rows in found.items()}


def compressed(text: str) -> bytes:
    """A document's text as stored: zlib, a fraction of the size of plain UTF-8."""
    return zlib.compress(text.encode("utf-8"), 6)


def decompressed(stored: bytes) -> str:
    return zlib.decompress(stored).decode("utf-8")
