"""Which engine embeds questions, and which embeds batches of passages and sentences: chosen once per model from the
backend, the ONNX graph its export gave, and what the CPU offers.

* Questions take the ONNX graph whenever there is one (int8, else float32): one short text is mostly framework
  overhead in torch. Without a graph (the ``torch`` backend, or an export that failed) they run in torch float32.
* Batches take the same int8 graph, one text per run on a single-threaded session per core, on a CPU with VNNI but
  without AMX. With AMX, torch on a bfloat16 copy of the model beats int8 on every batch; without VNNI, int8
  kernels saturate. Elsewhere batches run on the bfloat16 copy where torch runs bfloat16 natively, else in float32.
* The ``torch`` backend is the float32 reference throughout.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Backend = Literal["fast", "torch"]
BACKENDS: tuple[str, ...] = ("fast", "torch")
Graph = Literal["int8", "fp32"]
QuestionRoute = Literal["onnx int8", "onnx fp32", "torch fp32"]
BatchRoute = Literal["onnx int8", "torch bf16", "torch fp32"]


@dataclass(frozen=True)
class CpuFeatures:
    """The CPU features the routes depend on, as Linux names them in /proc/cpuinfo."""

    vnni: bool  # int8 dot products; without them ONNX Runtime adds int8 products in 16 bits, which saturate
    amx: bool  # bfloat16 matrix tiles, which torch (through oneDNN) uses

    @classmethod
    def from_flags(cls, flags: Iterable[str]) -> CpuFeatures:
        present = frozenset(flags)
        return cls(vnni=bool({"avx512_vnni", "avx_vnni"} & present), amx="amx_bf16" in present)

    @classmethod
    def of_this_cpu(cls) -> CpuFeatures:
        return cls.from_flags(_cpuinfo_flags())


@functools.cache
def _cpuinfo_flags() -> frozenset[str]:
    """The words of /proc/cpuinfo, the flags among them (none where there is no such file)."""
    try:
        return frozenset(Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").split())
    except OSError:
        return frozenset()


@dataclass(frozen=True)
class Route:
    """Where questions and batches go."""

    questions: QuestionRoute
    batches: BatchRoute

    @property
    def texts_int8(self) -> bool:
        """Whether passages and sentences run through the int8 graph, one text per run."""
        return self.batches == "onnx int8"

    def describe(self) -> str:
        questions = self.questions.replace("onnx", "onnxruntime")
        batches = "onnxruntime int8, a text per run on each core" if self.texts_int8 else self.batches
        return f"questions: {questions}; batches: {batches}"


def choose_route(
    backend: Backend, graph: Graph | None, cpu: CpuFeatures, native_bfloat16: Callable[[], bool], device: str = "cpu"
) -> Route:
    """The route for a model whose export gave ``graph`` (None: no usable ONNX graph).

    ``native_bfloat16`` is asked only when batches would run in torch under the fast backend: the probe imports torch,
    which a process that only embeds questions, or runs batches in int8, never needs.
    """
    questions: QuestionRoute = "torch fp32" if graph is None else ("onnx int8" if graph == "int8" else "onnx fp32")
    batches: BatchRoute
    if graph == "int8" and cpu.vnni and not cpu.amx:
        batches = "onnx int8"
    elif backend == "fast" and device == "cpu" and native_bfloat16():
        batches = "torch bf16"
    else:
        batches = "torch fp32"
    return Route(questions, batches)
