"""Prometheus metrics of a bayqa process (served by ``GET /metrics``).

Counters and histograms are updated where the work happens (builds, parses, requests); what describes the
state of the index and the job queue is read when the metrics are scraped (``StateCollector``), so it is
never stale and costs nothing between scrapes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector

_FAST = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_SLOW = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)

REQUESTS = Counter("bayqa_http_requests", "HTTP requests answered, by route and status.", ["method", "route", "status"])
REQUEST_SECONDS = Histogram("bayqa_http_request_duration_seconds", "Time to answer an HTTP request, by route and status.",
                            ["method", "route", "status"], buckets=_FAST)
SEARCHES = Counter("bayqa_searches", "Searches answered, by ranking mode.", ["mode"])
NOT_FOUND = Counter("bayqa_searches_not_found", "Searches answered with 'probably not in the corpus', by ranking mode.",
                    ["mode"])
BUILD_SECONDS = Histogram("bayqa_build_duration_seconds", "Time of an index build (update), parsing included.", buckets=_SLOW)
PARSE_SECONDS = Histogram("bayqa_parse_duration_seconds", "Time to parse one new or changed file.", buckets=_SLOW)
SKIPPED = Gauge("bayqa_documents_skipped", "Corpus files left out of the last build, by reason.", ["reason"])
SKIP_REASONS = ("outside", "unreadable", "empty", "timeout", "memory")


def record_build(seconds: float, parse_seconds: list[float], skipped_reasons: list[str]) -> None:
    BUILD_SECONDS.observe(seconds)
    for value in parse_seconds:
        PARSE_SECONDS.observe(value)
    for reason in {*SKIP_REASONS, *skipped_reasons}:
        SKIPPED.labels(reason).set(skipped_reasons.count(reason))


def record_search(mode: str, not_found: bool) -> None:
    SEARCHES.labels(mode).inc()
    if not_found:
        NOT_FOUND.labels(mode).inc()


class StateCollector(Collector):
    """The live index and the job queue, read at scrape time from two callables."""

    def __init__(self, index_state: Callable[[], Mapping[str, object] | None], job_counts: Callable[[], Mapping[str, int]]) -> None:
        self.index_state = index_state
        self.job_counts = job_counts

    def collect(self) -> Iterator[GaugeMetricFamily | InfoMetricFamily]:
        state = self.index_state()
        ready = GaugeMetricFamily("bayqa_index_ready", "1 once an index generation is loaded and searched.")
        ready.add_metric([], 1 if state else 0)
        yield ready
        if state:
            info = InfoMetricFamily("bayqa_index", "The generation being searched and the model it was built with.")
            info.add_metric([], {"generation": str(state["generation"]), "model": str(state["model"])})
            yield info
            for name, text in (("documents", "Documents in the searched generation."),
                               ("passages", "Passages (chunks) in the searched generation.")):
                gauge = GaugeMetricFamily(f"bayqa_index_{name}", text)
                gauge.add_metric([], float(state[name]))  # type: ignore[arg-type]
                yield gauge
        jobs = GaugeMetricFamily("bayqa_jobs", "Update jobs on record, by state.", labels=["state"])
        for job_state, count in self.job_counts().items():
            jobs.add_metric([job_state], count)
        yield jobs
