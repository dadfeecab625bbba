"""Prometheus metrics of one node, served at `/-/metrics` (prometheus_client's text format).

Counters and histograms count what happened on this node (requests it answered, jobs it ran,
callbacks it sent); the job and outbox gauges are read from the shared store at each scrape, so in
a cluster every node reports the same totals for them. Each Node has its own registry (several
servers in one process, as in tests, never share counts).
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import exposition as _exposition

from .domain.events import JobFinished
from .domain.jobs import WAITING_STATES, JobState
from .store import Store

CONTENT_TYPE = str(_exposition.CONTENT_TYPE_LATEST)
_SECONDS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    """The node's metrics and the hooks that move them."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.jobs = Gauge("ci_jobs_jobs", "Jobs in the store by bucket, queue and state", ["bucket", "queue", "state"],
                          registry=r)
        self.running = Gauge("ci_jobs_jobs_running", "Jobs running now (all nodes)", registry=r)
        self.waiting = Gauge("ci_jobs_jobs_waiting", "Jobs waiting to run: Submitted or Pause (all nodes)", registry=r)
        self.job_seconds = Histogram("ci_jobs_job_duration_seconds", "Run time of jobs this node finished",
                                     ["tag", "state"], buckets=_SECONDS, registry=r)
        self.failures = Counter("ci_jobs_job_failures", "Jobs this node finished as Failed, by Code",
                                ["tag", "code"], registry=r)
        self.outbox_pending = Gauge("ci_jobs_outbox_pending", "Callbacks waiting to be delivered", registry=r)
        self.outbox_dead = Gauge("ci_jobs_outbox_dead", "Dead-letter callbacks (ci-jobs callbacks dead)", registry=r)
        self.callbacks = Counter("ci_jobs_callback_attempts", "Callback delivery attempts by this node, by result",
                                 ["result"], registry=r)
        self.requests = Counter("ci_jobs_http_requests", "HTTP requests answered", ["protocol", "method", "status"],
                                registry=r)
        self.latency = Histogram("ci_jobs_http_request_duration_seconds", "Time to answer an HTTP request",
                                 ["protocol"], buckets=_LATENCY, registry=r)
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def request(self, protocol: str, method: str, status: int, seconds: float) -> None:
        """One answered request."""
        # The labelled children, found once per label set: labels() was ~10 us of every request.
        key = (protocol, method, status)
        children = self._request_children.get(key)
        if children is None:
            children = (self.requests.labels(protocol, method, str(status)), self.latency.labels(protocol))
            if len(self._request_children) < 1024:  # methods and statuses are few; never an unbounded dict
                self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def callback(self, result: str) -> None:
        """One delivery attempt: delivered, retried or dead."""
        self.callbacks.labels(result).inc()

    async def job_finished(self, event: JobFinished) -> None:
        """A JobFinished event raised on this node (the bus subscriber)."""
        self.job_seconds.labels(event.tag, event.state).observe(max(event.seconds, 0.0))
        if event.state == JobState.FAILED:
            self.failures.labels(event.tag, event.code).inc()

    async def render(self, store: Store) -> bytes:
        """The text exposition, the store's gauges read now."""
        counts = await store.counts()
        self.jobs.clear()
        running = waiting = 0
        for bucket, queue, state, n in counts.jobs:
            self.jobs.labels(bucket, queue, state).set(n)
            running += n if state == JobState.RUNNING else 0
            waiting += n if state in WAITING_STATES else 0
        self.running.set(running)
        self.waiting.set(waiting)
        self.outbox_pending.set(counts.outbox_pending)
        self.outbox_dead.set(counts.outbox_dead)
        return bytes(generate_latest(self.registry))
