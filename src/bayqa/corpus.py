"""The corpus folder as something the API writes to: checked uploads, atomic writes, removals.

Nothing here touches the index; an update job brings the index in line with the folder afterwards.
An upload is checked by its content, not only its name: a PDF must start like one, a text file must
decode as text and look like its kind, and every file must load as a document with text in it.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from bayqa.documents import SUPPORTED_SUFFIXES, DocumentError, content_hash, decode_text, is_document_file
from bayqa.store import fsync_dir

MAX_NAME_BYTES = 200  # of a file name in UTF-8; file systems allow 255, and 150 CJK characters are 450
NEW_FILE_MODE = 0o644  # uploads are read by whoever reads the corpus folder, like files copied into it
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
    stem = stem.encode("utf-8")[: MAX_NAME_BYTES - len(suffix)].decode("utf-8", "ignore")  # never half a character
    name = stem.rstrip(" .") + suffix
    if not is_document_file(Path(name)):
        raise Unsupported(f"{raw!r}: README files are folder notes and are not indexed; give the file another name")
    return name


def document_path(corpus: Path, doc_id: str) -> Path:
    """The file of ``doc_id`` inside ``corpus``; refuses ids that would reach outside it."""
    parts = PurePosixPath(doc_id).parts
    if (not parts or doc_id.startswith("/") or "\\" in doc_id or "\x00" in doc_id
            or any(p in ("..", ".") or p.startswith(".") or not _fits(p) for p in parts)):
        raise NotInCorpus(f"{doc_id!r} is not a document id; ids are paths inside the corpus folder, as GET /documents lists them")
    path = corpus.joinpath(*parts)
    root = corpus.resolve()
    if not path.resolve().is_relative_to(root) or not is_document_file(path):
        raise NotInCorpus(f"{doc_id!r} is not a document id; ids are paths inside the corpus folder, as GET /documents lists them")
    return path


def _fits(part: str) -> bool:
    """A path part the file system can hold: valid UTF-8 (no lone surrogates) and at most 255 bytes."""
    try:
        return len(part.encode("utf-8")) <= 255
    except UnicodeEncodeError:
        return False


def check_upload(data: bytes, doc_id: str, max_bytes: int) -> None:
    """Raise UploadError if ``data`` cannot be a document under ``doc_id``, by cheap checks of its bytes.

    Parsing is left to the update job, which does it in a worker process under limits (bayqa.parsing): a file
    that is slow or costly to read must never tie up the HTTP request.
    """
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
        if not text.strip():
            raise Unsupported(f"{doc_id}: the file holds no text")


def _decode(data: bytes, doc_id: str) -> str:
    try:
        return decode_text(data, doc_id)
    except DocumentError as exc:
        raise Unsupported(str(exc)) from exc


@contextmanager
def staged(path: Path, data: bytes) -> Iterator[Callable[[bool], None]]:
    """Write ``data`` beside ``path`` in a hidden temporary file (a build running meanwhile ignores it) and yield
    ``commit(replace)``, which puts it in place all at once: readers see the old file or the new one, never part
    of it. Not committed, the temporary file is removed, so a failure between the two leaves the folder as it was.

    ``commit(replace=False)`` never overwrites an existing file (AlreadyExists), even one a racing upload made.
    A replaced file keeps its permissions; a new one gets NEW_FILE_MODE.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=UPLOAD_PREFIX, suffix=".tmp")
    tmp = Path(tmp_name)

    def commit(replace: bool) -> None:
        if replace:
            os.chmod(tmp, stat.S_IMODE(path.stat().st_mode) if path.exists() else NEW_FILE_MODE)
            os.replace(tmp, path)
        else:
            os.chmod(tmp, NEW_FILE_MODE)
            try:
                os.link(tmp, path)
            except FileExistsError as exc:
                raise AlreadyExists(f"{path.name} already exists; replace it with PUT /documents/{{id}}") from exc
        fsync_dir(path.parent)

    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        yield commit
    finally:
        tmp.unlink(missing_ok=True)


def write_file(path: Path, data: bytes, *, replace: bool) -> None:
    """Write ``data`` to ``path`` at once (see ``staged``)."""
    with staged(path, data) as commit:
        commit(replace)


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


def remove_if_unchanged(path: Path, expected_hash: str) -> bool:
    """Remove ``path`` if it still holds the content of ``expected_hash``; True if it did."""
    try:
        if content_hash(path.read_bytes()) != expected_hash:
            return False
        path.unlink()
    except OSError:
        return False
    fsync_dir(path.parent)
    return True
