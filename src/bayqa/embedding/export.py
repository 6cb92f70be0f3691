"""The ONNX export of a model: traced once from its own weights with ``torch.onnx``, its weights also quantized to
int8, checked against torch, and cached in a folder keyed by the model's files and the export format.

The int8 graph is kept where it passes its check, else the float32 one serves; if that fails too, the caller falls
back to torch.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from bayqa.embedding.model import ModelError
from bayqa.embedding.sessions import FP32_GRAPH, INT8_GRAPH, META, TOKENIZER, OnnxEncoder
from bayqa.embedding.torch_model import dimension_of, pooling_modes

#: Smallest cosine to the float32 vector that the checks accept: for the float32 ONNX graph and for batches run by
#: the model with its weights in bfloat16, and for the int8 graph (whose ranking quality is measured in the docs).
MIN_COSINE = 0.999
MIN_COSINE_INT8 = 0.98
ONNX_OPSET = 17
EXPORT_FORMAT = 5  # bump when the export folder's contents change
PROBES = ["Hong Kong arbitration", "跨境金融服务", "How long is the bridge between Hong Kong, Zhuhai and Macao? " * 3]
log = logging.getLogger("bayqa.embedding")


def default_cache_dir() -> Path:
    """Where derived model files (the ONNX export) live: ``$XDG_CACHE_HOME/bayqa`` or ``~/.cache/bayqa``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bayqa"


def export_folder(resolved: str, cache_dir: Path) -> Path:
    return cache_dir / "onnx" / _export_key(resolved)


def cached_export(resolved: str, cache_dir: Path) -> OnnxEncoder | None:
    """The export of a model folder made earlier, if there is a complete one."""
    if not Path(resolved).is_dir():
        return None
    folder = export_folder(resolved, cache_dir)
    if not (folder / META).exists():
        return None
    try:
        return OnnxEncoder(folder)
    except Exception as exc:  # a damaged cache entry: export again
        log.warning("ignoring the cached ONNX export in %s (%s)", folder, exc)
        return None


def export_checked(model: Any, resolved: str, cache_dir: Path) -> OnnxEncoder:
    """Export ``model`` into the cache (unless already there), check it against torch, and load it."""
    folder = export_folder(resolved, cache_dir)
    if not (folder / META).exists():
        _export(model, folder)
    encoder = OnnxEncoder(folder)
    try:
        check_against(encoder, model)
    except ModelError as exc:
        if encoder.precision != "int8":
            raise
        log.warning("%s; questions use the float32 graph", exc)
        (folder / INT8_GRAPH).unlink()
        encoder = OnnxEncoder(folder)
        check_against(encoder, model)
    return encoder


def check_against(encoder: OnnxEncoder, model: Any) -> None:
    """Refuse an export whose vectors drift from torch's (a model the tracer got wrong); a failed float32 graph is
    marked unfinished, so it is exported again rather than loaded."""
    reference = model.encode(PROBES, convert_to_numpy=True, normalize_embeddings=True)
    worst = float(np.min(np.sum(encoder.encode(PROBES) * reference, axis=1)))
    floor = MIN_COSINE_INT8 if encoder.precision == "int8" else MIN_COSINE
    if worst < floor:
        if encoder.precision == "fp32":
            (encoder.folder / META).unlink(missing_ok=True)
        raise ModelError(f"ONNX {encoder.precision} export of this model disagrees with torch (cosine {worst:.4f} < {floor})")


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
    the text's vector and the transformer's token vectors (which span vectors are pooled from).

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
    partial = folder / f"{FP32_GRAPH}.{secrets.token_hex(4)}.partial"
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
        os.replace(partial, folder / FP32_GRAPH)
        _quantize(folder / FP32_GRAPH, partial)
        os.replace(partial, folder / INT8_GRAPH)
    finally:
        partial.unlink(missing_ok=True)
    tokenizer.backend_tokenizer.save(str(folder / TOKENIZER))
    first = model[0] if len(model) else None
    meta = {
        "dimension": dimension_of(model),
        "max_tokens": int(model.max_seq_length or 256),
        "lowercase": bool(getattr(first, "do_lower_case", False)),
        "pad_id": int(tokenizer.pad_token_id or 0),
        "pad_token": str(tokenizer.pad_token or "[PAD]"),
        "pooling": pooling_modes(model),
    }
    tmp = folder / f"{META}.{secrets.token_hex(4)}"
    tmp.write_text(json.dumps(meta), encoding="utf-8")
    os.replace(tmp, folder / META)


@contextlib.contextmanager
def _eager_attention(model: Any) -> Iterator[None]:
    """Trace attention as plain matrix products and a softmax rather than torch's fused kernel (SDPA), which ONNX
    Runtime runs slower once traced; then put the model back as it was."""
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
    """Weights of ``graph`` as int8, one scale per output channel (activations quantized on the fly): one scale per
    tensor moves the vectors too far from float32's."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(graph), str(out), weight_type=QuantType.QInt8, per_channel=True)
