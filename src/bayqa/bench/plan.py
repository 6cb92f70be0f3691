"""How much one bench run measures."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    """How much to measure; ``quick`` is the seconds-long smoke run the test suite uses."""

    real_docs: int
    sizes: tuple[int, ...]
    questions: int
    rounds: int
    http_requests: int
    wrk_seconds: int
    quick: bool

    @classmethod
    def full(cls) -> Plan:
        return cls(real_docs=300, sizes=(1_000, 10_000, 100_000), questions=100, rounds=3, http_requests=800,
                   wrk_seconds=10, quick=False)

    @classmethod
    def smoke(cls) -> Plan:
        return cls(real_docs=24, sizes=(300,), questions=12, rounds=1, http_requests=16, wrk_seconds=2, quick=True)

    @property
    def largest(self) -> int:
        return max(self.sizes)
