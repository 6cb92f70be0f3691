"""The corpus folder as something the API writes to: checked uploads, atomic writes, removals.

Nothing here touches the index; an update job brings the index in line with the folder afterwards.
An upload is checked by its content, not only its name: a PDF must start like one, a text file must
decode as text and look like its kind, and every file must load as a document with text in it.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
import unicodedata
from pathlib import Path, PurePosixPath

from bayqa.documents import SUPPORTED_SUFFIXES, Document, DocumentError, decode_text, is_document_file, parse_document
from bayqa.index import fsync_dir

MAX_NAME_CHARS = 150
UPLOAD_PREFIX = ".upload-"
STALE_UPLOAD_SECONDS = 3600.0  # a temporary upload file this old was left by a process that died

#: Starts of files that are never text, whatever their name says.
BINARY_SIGNATURES = {
    b"%PDF-": "a PDF", b"PK\x03\x04": "a ZIP archive or Office file", b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image", b"GIF8": "a GIF image", b"\x7fELF": "a program", b"MZ": "a Windows program",
    b"\x1f\x8b": "a gzip archive", b"\xd0\xcf\x11\xe0": "an old Office file", b"Rar!": "a RAR archive",
    b"7z\xbc\xaf": "a 7-Zip archive", b"%!PS": "a PostScript file",
}
_HTML_TAG = re.compile(r"<\s*(!doctype\s+html|html|head|body|title|p|div|h[1-6]|article|section|main|table|ul|ol|span|a)\b", re.I)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


class UploadError(Exception):
    """The upload cannot be accepted as it is; the message says why and what to do."""


class TooLarge(UploadError):
    pass


class Unsupported(UploadError):
    pass


class AlreadyExists(UploadError):
    pass


class NotInCorpus(UploadError):
    pass


def safe_file_name(raw: str) -> str:
    """A plain file name for the corpus folder: no folders, no hidden or odd characters, a known suffix."""
    name = unicodedata.normalize("NFC", raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[^\w.\- ]", "_", name)
    name = re.sub(r"\s+", " ", name).strip(" ._~")
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:
        raise Unsupported(f"file name {raw!r} has no extension; bayqa accepts {', '.join(sorted(SUPPORTED_SUFFIXES))}")
    suffix = "." + suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise Unsupported(f"{raw!r}: unsupported file type {suffix!r}; bayqa accepts {', '.join(sorted(SUPPORTED_SUFFIXES))}")
    name = stem[: MAX_NAME_CHARS].rstrip(" .") + suffix
    if not is_document_file(Path(name)):
        raise Unsupported(f"{raw!r}: README files are folder notes and are not indexed; give the file another name")
    return name


def document_path(corpus: Path, doc_id: str) -> Path:
    """The file of ``doc_id`` inside ``corpus``; refuses ids that would reach outside it."""
    parts = PurePosixPath(doc_id).parts
    if not parts or doc_id.startswith("/") or any(p in ("..", ".") or p.startswith(".") for p in parts) or "\\" in doc_id:
        raise NotInCorpus(f"{doc_id!r} is not a document id; ids are paths inside the corpus folder, as GET /documents lists them")
    path = corpus.joinpath(*parts)
    root = corpus.resolve()
    if not path.resolve().is_relative_to(root) or not is_document_file(path):
        raise NotInCorpus(f"{doc_id!r} is not a document id; ids are paths inside the corpus folder, as GET /documents lists them")
    return path


def check_upload(data: bytes, doc_id: str, max_bytes: int) -> Document:
    """The document ``data`` would become under ``doc_id``; raises UploadError if it is not acceptable."""
    if len(data) > max_bytes:
        raise TooLarge(f"the file is {len(data):,} bytes; the limit is {max_bytes:,} (BAYQA_MAX_UPLOAD_MB)")
    if not data:
        raise UploadError("the file is empty")
    kind = SUPPORTED_SUFFIXES[Path(doc_id).suffix.lower()]
    head = data[:1024]
    if kind == "pdf":
        if b"%PDF-" not in head:
            raise Unsupported(f"{doc_id}: named .pdf but its content is not a PDF")
    else:
        for signature, what in BINARY_SIGNATURES.items():
            if data.startswith(signature):
                raise Unsupported(f"{doc_id}: named as {kind} but the content is {what}; upload it under its own type")
        text = _decode(data, doc_id)
        if len(_CONTROL.findall(text[:65536])) > max(2, len(text[:65536]) // 200):
            raise Unsupported(f"{doc_id}: named as {kind} but the content looks binary, not text")
        if kind == "html" and not _HTML_TAG.search(text[:65536]):
            raise Unsupported(f"{doc_id}: named .html but contains no HTML markup; upload it as .txt or .md")
    try:
        return parse_document(data, kind, doc_id, fallback_title=Path(doc_id).stem)
    except DocumentError as exc:
        raise Unsupported(str(exc)) from exc


def _decode(data: bytes, doc_id: str) -> str:
    try:
        return decode_text(data, doc_id)
    except DocumentError as exc:
        raise Unsupported(str(exc)) from exc


def write_file(path: Path, data: bytes, *, replace: bool) -> None:
    """Write ``data`` to ``path`` all at once: readers see the old file or the new one, never part of it.

    With ``replace=False`` an existing file is never overwritten (AlreadyExists), even by a racing upload.
    The temporary file is hidden, so a build running meanwhile does not pick it up.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=UPLOAD_PREFIX, suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError as exc:
                raise AlreadyExists(f"{path.name} already exists; replace it with PUT /documents/{{id}}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)


def remove_stale_uploads(corpus: Path, older_than: float = STALE_UPLOAD_SECONDS) -> list[Path]:
    """Delete temporary upload files left by a process that died mid-write; returns what was removed."""
    if not corpus.is_dir():
        return []
    cutoff = time.time() - older_than
    stale = [p for p in corpus.rglob(f"{UPLOAD_PREFIX}*.tmp") if p.is_file() and p.stat().st_mtime < cutoff]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def remove_file(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError as exc:
        raise NotInCorpus(f"{path.name} is not in the corpus folder (if GET /documents still lists it, POST /reindex)") from exc
    fsync_dir(path.parent)
