"""Timing for the bench: stopwatches, percentiles, rates, and latency taken in alternation after a warm-up."""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

WARM_UP_QUESTIONS = 3  # asked of each way of answering before any is timed (loads, caches, first-call kernels)


class Stopwatch:
    """``with Stopwatch() as clock: ...``, then ``clock.seconds``."""

    seconds: float = 0.0

    def __enter__(self) -> Stopwatch:
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._started


def percentiles(samples_ms: Sequence[float]) -> dict[str, float]:
    data = np.asarray(samples_ms, dtype=np.float64)
    return {f"p{p}": round(float(np.percentile(data, p)), 3) for p in (50, 95, 99)} | {"n": int(data.size)}


def time_each(calls: Sequence[Callable[[], Any]]) -> list[float]:
    """Milliseconds each call took."""
    samples = []
    for call in calls:
        with Stopwatch() as clock:
            call()
        samples.append(clock.seconds * 1000)
    return samples


def rate(texts: list[str], encode: Callable[[list[str]], Any]) -> float:
    """Texts a second that ``encode`` gets through, all in one call."""
    with Stopwatch() as clock:
        encode(texts)
    return round(len(texts) / clock.seconds, 2)


def interleaved(
    named: dict[str, Callable[[str], Any]], questions: Sequence[str], rounds: int, block: int = 10
) -> dict[str, dict[str, float]]:
    """Latency of several ways of answering, alternated every ``block`` questions so load spikes hit all alike.

    Blocks rather than single questions: alternating question by question made each way run on caches the
    other had just flushed, which is how neither runs in a server of its own.
    """
    for fn in named.values():
        for q in questions[:WARM_UP_QUESTIONS]:
            fn(q)
    samples: dict[str, list[float]] = {name: [] for name in named}
    for _ in range(rounds):
        for start in range(0, len(questions), block):
            for name, fn in named.items():
                samples[name].extend(time_each([lambda fn=fn, q=q: fn(q) for q in questions[start : start + block]]))
    return {name: percentiles(s) for name, s in samples.items()}


def settle() -> None:
    """Before a timed update: write back what earlier steps left in the page cache, and run a full garbage collection.

    The bench process holds millions of objects (100k passages, LangChain's store), and a full collection or the
    writeback of the index built just before could otherwise fall inside the timed step.
    """
    os.sync()
    gc.collect()


def settled_seconds(step: Callable[[], Any]) -> float:
    """Seconds one update step takes, timed after settle()."""
    settle()
    with Stopwatch() as clock:
        step()
    return round(clock.seconds, 2)


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """torch limited to ``count`` threads for the block, then back to what it had."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)
