"""The sentence-transformers model in torch: the float32 reference, the bfloat16 copy batches may run on, token
counting with the model's tokenizer, and one pass for texts and their spans."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from bayqa.embedding.model import ModelError, is_local
from bayqa.embedding.pooling import normalize, pool_spans, require_mean_pooling


def native_bfloat16() -> bool:
    """Whether torch runs bfloat16 natively on this CPU (oneDNN's own check)."""
    import torch

    probe = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    try:
        return bool(probe()) if probe is not None else False
    except Exception:  # an old or unusual build: treat as "no native bfloat16"
        return False


def pooling_modes(model: Any) -> str | None:
    """How a sentence-transformers model pools its tokens ("mean", "cls", ...)."""
    pooling = next((m for m in model if type(m).__name__ == "Pooling"), None)
    modes = getattr(pooling, "pooling_mode", None)  # sentence-transformers 6; 5 names it get_pooling_mode_str()
    if modes is None and pooling is not None and hasattr(pooling, "get_pooling_mode_str"):
        modes = pooling.get_pooling_mode_str()
    return modes


def dimension_of(model: Any) -> int:
    """The length of a model's vectors (sentence-transformers 6 renamed the method)."""
    return int((getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension)() or 0)


class TorchModel:
    """A sentence-transformers model, loaded on first use, and a bfloat16 copy of it made on first use."""

    def __init__(self, resolved: str, name: str, device: str = "cpu") -> None:
        self._resolved = resolved
        self._name = name
        self._device = device
        self._model: Any = None
        self._bf16_copy: Any = None
        self._lock = threading.Lock()

    def loaded(self) -> Any:
        """The float32 model (it also serves exports and their checks)."""
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer

                try:
                    # a model on disk never needs the hub: the library's own switch, not the process environment
                    model = SentenceTransformer(self._resolved, device=self._device, local_files_only=is_local(self._resolved))
                except Exception as exc:  # missing folder, hub unreachable, bad weights: all mean "cannot load"
                    raise ModelError(f"cannot load the embedding model {self._name!r} ({type(exc).__name__}: {exc})") from exc
                model.eval()
                self._model = model
            return self._model

    def _bfloat16_model(self) -> Any:
        """A copy of the model with every weight in bfloat16 (the float32 one stays for exports and checks)."""
        model = self.loaded()
        with self._lock:
            if self._bf16_copy is None:
                import copy

                import torch

                self._bf16_copy = copy.deepcopy(model).to(torch.bfloat16)
            return self._bf16_copy

    def count_tokens(self, text: str) -> int:
        tokenizer = self.loaded().tokenizer
        return len(tokenizer(text, add_special_tokens=False, truncation=False, verbose=False)["input_ids"])

    def encode_reference(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """Plain sentence-transformers float32 vectors, unit length."""
        vectors = self.loaded().encode(
            texts, batch_size=batch_size, show_progress_bar=progress, convert_to_numpy=True, normalize_embeddings=True
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode(self, texts: list[str], bfloat16: bool, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """Unit vectors from the bfloat16 copy, or the float32 reference's."""
        if not bfloat16:
            return self.encode_reference(texts, batch_size=batch_size, progress=progress)
        import torch

        with torch.inference_mode():
            vectors = self._bfloat16_model().encode(
                texts, batch_size=batch_size, show_progress_bar=progress, convert_to_tensor=True, normalize_embeddings=False
            )
        return normalize(vectors.float().numpy())

    def encode_with_spans(
        self, texts: list[str], spans: list[list[tuple[tuple[int, int], ...]]], bfloat16: bool, max_tokens: int,
        batch_size: int = 32,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each text's vector and its spans' vectors from one pass of the transformer, longest texts batched together
        so that little padding is run."""
        import torch

        model = self.loaded()
        require_mean_pooling(self._name, pooling_modes(model))
        network = self._bfloat16_model() if bfloat16 else model
        transformer = network[0].auto_model
        tokenizer = model.tokenizer
        dimension = dimension_of(model)
        text_vectors = np.zeros((len(texts), dimension), dtype=np.float32)
        span_vectors: list[np.ndarray] = [np.zeros((0, dimension), dtype=np.float32)] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            batch = tokenizer([texts[i] for i in rows], padding=True, truncation=True, max_length=max_tokens,
                              return_offsets_mapping=True, return_tensors="pt")
            offsets = batch.pop("offset_mapping").numpy()
            with torch.inference_mode():
                tokens = transformer(**batch.to(network.device)).last_hidden_state.float().cpu().numpy()
            mask = batch["attention_mask"].numpy().astype(bool)
            for j, row in enumerate(rows):
                text_vectors[row], span_vectors[row] = pool_spans(tokens[j][mask[j]], offsets[j][mask[j]], spans[row])
        return text_vectors, span_vectors
