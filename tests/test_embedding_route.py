"""The embedding route, chosen from CPU flag sets (no model), and what choosing it must not do to the process."""

import json
import os
import subprocess
import sys

import pytest

from bayqa.embedding import Embedder
from bayqa.embedding.route import CpuFeatures, Route, choose_route

ZEN4 = {"avx2", "avx512f", "avx512_vnni", "avx512_bf16"}  # VNNI, no AMX
SAPPHIRE_RAPIDS = ZEN4 | {"amx_bf16", "amx_tile", "amx_int8"}
ALDER_LAKE = {"avx2", "avx_vnni"}  # VNNI without AVX-512
AVX2_ONLY = {"avx2", "fma"}


class Probe:
    """A stand-in for torch's bfloat16 check that records whether it was asked."""

    def __init__(self, answer: bool) -> None:
        self.answer, self.asked = answer, 0

    def __call__(self) -> bool:
        self.asked += 1
        return self.answer


@pytest.mark.parametrize(
    ("flags", "graph", "bf16", "want"),
    [
        (ZEN4, "int8", True, Route("onnx int8", "onnx int8")),
        (ALDER_LAKE, "int8", False, Route("onnx int8", "onnx int8")),
        (SAPPHIRE_RAPIDS, "int8", True, Route("onnx int8", "torch bf16")),
        (AVX2_ONLY, "int8", False, Route("onnx int8", "torch fp32")),
        (AVX2_ONLY, "int8", True, Route("onnx int8", "torch bf16")),
        (ZEN4, "fp32", True, Route("onnx fp32", "torch bf16")),  # the int8 graph failed its check
        (ZEN4, None, True, Route("torch fp32", "torch bf16")),  # the export failed
        (set(), "int8", False, Route("onnx int8", "torch fp32")),  # no /proc/cpuinfo
    ],
)
def test_the_fast_route_follows_the_cpu(flags: set[str], graph, bf16: bool, want: Route) -> None:
    probe = Probe(bf16)
    assert choose_route("fast", graph, CpuFeatures.from_flags(flags), probe) == want
    assert probe.asked == (want.batches != "onnx int8")  # the probe imports torch: only asked for torch batches


def test_the_torch_backend_is_float32_throughout_and_never_probes() -> None:
    probe = Probe(True)
    assert choose_route("torch", None, CpuFeatures.from_flags(ZEN4), probe) == Route("torch fp32", "torch fp32")
    assert choose_route("fast", "int8", CpuFeatures.from_flags(SAPPHIRE_RAPIDS), probe, device="cuda").batches == "torch fp32"


def test_cpu_features_from_flags() -> None:
    assert CpuFeatures.from_flags(ZEN4) == CpuFeatures(vnni=True, amx=False)
    assert CpuFeatures.from_flags(SAPPHIRE_RAPIDS) == CpuFeatures(vnni=True, amx=True)
    assert CpuFeatures.from_flags(AVX2_ONLY) == CpuFeatures(vnni=False, amx=False)


def test_route_descriptions() -> None:
    int8 = "questions: onnxruntime int8; batches: onnxruntime int8, a text per run on each core"
    assert Route("onnx int8", "onnx int8").describe() == int8
    assert Route("onnx fp32", "torch bf16").describe() == "questions: onnxruntime fp32; batches: torch bf16"
    assert Route("torch fp32", "torch fp32").describe() == "questions: torch fp32; batches: torch fp32"


_QUESTION_ONLY = """
import json, os, sys
import bayqa.embedding.route as route
route._cpuinfo_flags = lambda: frozenset(sys.argv[1].split())
before = dict(os.environ)
from bayqa.embedding import Embedder
embedder = Embedder()
embedder.encode_query("When did the bridge open?")
questions_only = "torch" not in sys.modules
description = embedder.backend_description
print(json.dumps({"environ_kept": dict(os.environ) == before, "questions_only": questions_only, "route": description}))
"""


@pytest.mark.parametrize("flags", [ZEN4, SAPPHIRE_RAPIDS, AVX2_ONLY])
def test_a_question_only_process_leaves_the_environment_and_torch_alone(embedder: Embedder, flags: set[str]) -> None:
    """Whatever the CPU, embedding questions from a cached export imports no torch, and nothing writes to os.environ."""
    assert embedder.backend == "fast"  # the session's embedder has made the export the subprocess finds in the cache
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    run = subprocess.run([sys.executable, "-c", _QUESTION_ONLY, " ".join(sorted(flags))],
                         capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout.splitlines()[-1])
    assert seen["environ_kept"] and seen["questions_only"]
    assert seen["route"].startswith("questions: onnxruntime int8; batches: ")
    assert ("onnxruntime int8" in seen["route"].split("batches: ")[1]) == (flags == ZEN4)
