"""What a generation says of itself: its manifest, the main-segment rows it retires, and its documents."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

FORMAT_VERSION = 10
#: Formats 7 and 8 (8 is 7 with retired rows) are read, converted in memory (see bayqa.store.legacy), and served;
#: the next build rewrites them in the current format reusing their vectors, so nothing is embedded again. Format 9
#: is format 10 with each generation's segments inside its own folder (hard-linked from one generation to the next);
#: the next build moves them to the shared folder (bayqa.store.shared) as they are.
READABLE_FORMATS = (7, 8, 9, 10)
#: From this format on, segments live in the index's shared folder and generations name them in their manifest.
SHARED_SEGMENTS = 10
SEGMENTS_FOLDER = "segments"
MANIFEST_FILE = "manifest.json"
RETIRED_FILE = "retired.json"
CURRENT_FILE = "CURRENT"
LOCK_FILE = "write.lock"
CHUNK_STORE = "chunks.sqlite"  # in each segment: its passages (with their global row numbers) and its documents


class IndexStoreError(Exception):
    """Base of index problems; the message tells the user what to do."""


class IndexMissing(IndexStoreError):
    pass


class IndexMismatch(IndexStoreError):
    pass


class IndexBusy(IndexStoreError):
    pass


@dataclass(frozen=True)
class Manifest:
    format: int
    generation: str
    model: str
    dimension: int
    chunking: dict[str, int | str]
    documents: int
    chunks: int
    corpus_fingerprint: str
    built_at: str
    build_seconds: float
    segments: tuple[tuple[str, int], ...]  # (folder name, rows) of each segment, in row order
    retired: int = 0  # main-segment rows that no longer count (``chunks`` is the rows of the segments less these)
    multilingual: str = ""  # the multilingual model of every segment's second vectors ("" when there are none)

    @classmethod
    def read(cls, path: Path) -> Manifest:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") not in READABLE_FORMATS:
            raise IndexMismatch(
                f"index at {path.parent} has format {data.get('format')}, this bayqa reads formats {', '.join(map(str, READABLE_FORMATS))}; "
                "rebuild it with `bayqa index`"
            )
        fields = {k: data[k] for k in cls.__dataclass_fields__ if k not in ("retired", "multilingual")}
        chunking = {"sentence_vectors": "separate", **data["chunking"]}  # the only kind before the setting existed
        return cls(**fields | {"segments": tuple((str(n), int(r)) for n, r in data["segments"]), "retired": int(data.get("retired", 0)),
                               "multilingual": str(data.get("multilingual", "")),
                               "chunking": chunking})

    def write(self, generation: Path) -> None:
        (generation / MANIFEST_FILE).write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")

    def segment_folder(self, generation: Path, name: str) -> Path:
        """Where segment ``name`` of this generation (the folder ``generation``) is: in the index's shared segments
        folder, or for formats before SHARED_SEGMENTS inside the generation's own folder."""
        return generation.parent / SEGMENTS_FOLDER / name if self.format >= SHARED_SEGMENTS else generation / name


@dataclass(frozen=True)
class Retired:
    """What of a generation's main segment no longer counts: rows of changed or removed documents, and the
    documents whose main-segment entry is superseded (by the tail's) or removed."""

    rows: tuple[int, ...] = ()
    documents: tuple[str, ...] = ()

    @classmethod
    def read(cls, generation: Path) -> Retired:
        path = generation / RETIRED_FILE
        if not path.exists():
            # A complete generation never changes, so no file means no retired rows, unless the whole generation was
            # removed meanwhile (pruned while a slow process loaded it): then nothing of it may be trusted.
            if not (generation / MANIFEST_FILE).exists():
                raise IndexMissing(f"generation {generation.name} was removed while it was being read; "
                                   "the next try reads the live one")
            return cls()
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(tuple(int(r) for r in data["rows"]), tuple(str(d) for d in data["documents"]))

    def write(self, generation: Path) -> None:
        if self.rows or self.documents:
            (generation / RETIRED_FILE).write_text(json.dumps({"rows": list(self.rows), "documents": list(self.documents)}), encoding="utf-8")


@dataclass(frozen=True)
class DocumentInfo:
    """What the index knows about a document, without its text."""

    id: str
    title: str
    kind: str
    content_hash: str
    size: int
    pages: int | None
    chunks: int
    added_at: str
    indexed_at: str


@dataclass(frozen=True)
class Layout:
    """What the plan needs to know of the live generation's segments."""

    main_rows: int
    retired: Retired
    #: Main-segment rows of its documents, by document (the store reads only those of the documents being replaced).
    main: Mapping[str, tuple[int, ...]]
    #: Rows of the tail's documents, by document (empty without a tail).
    tail: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
