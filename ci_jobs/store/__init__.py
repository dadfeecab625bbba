"""The Store port: the source of truth for queues, jobs and the callback outbox.

Adapters: `sqlite.SqliteStore` (embedded) and, for several machines, a PostgreSQL adapter. Every
adapter passes the same contract suite (tests/store). Claims are atomic and fenced by lease tokens.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from typing import Any, Protocol


def migrations(dialect: str) -> list[tuple[int, str, str]]:
    """The numbered migration scripts of a dialect (`sqlite`, `postgres`) as (number, name, sql), in order."""
    folder = resources.files("ci_jobs.store") / "migrations" / dialect
    out = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            number, _, name = entry.name.removesuffix(".sql").partition("_")
            out.append((int(number), name, entry.read_text()))
    return sorted(out)


class JobState(StrEnum):
    """CI's job states."""

    SUBMITTED = "Submitted"
    RUNNING = "Running"
    SUCCESS = "Success"
    FAILED = "Failed"
    PAUSE = "Pause"
    CANCEL = "Cancel"


FINAL_STATES = frozenset({JobState.SUCCESS, JobState.FAILED, JobState.CANCEL})


class QueueState(StrEnum):
    """CI's queue states."""

    ACTIVE = "Active"
    PAUSED = "Paused"


class Beat(StrEnum):
    """What a heartbeat learned about the run it renews."""

    OK = "ok"
    CANCEL = "cancel"
    LOST = "lost"


@dataclass(frozen=True)
class QueueRecord:
    """One bucket-scoped queue."""

    queue_id: str
    bucket: str
    name: str
    state: str
    max_concurrent: int
    max_size: int
    notify: dict[str, Any]
    category: str
    created: float
    updated: float
    running: int = 0


@dataclass(frozen=True)
class JobRecord:
    """One media job; `spec` is the request (Tag, Input, Operation, callback fields) as a dict."""

    job_id: str
    bucket: str
    queue_id: str
    tag: str
    state: str
    level: int
    created: float
    spec: dict[str, Any]
    seq: int = 0
    started: float | None = None
    ended: float | None = None
    progress: int = 0
    code: str = "Success"
    message: str = ""
    result: dict[str, Any] | None = None
    attempts: int = 0
    cancel_requested: bool = False


@dataclass(frozen=True)
class Claim:
    """A job handed to one runner, with the token that fences every later write of that run."""

    job: JobRecord
    token: str
    lease_until: float


@dataclass(frozen=True)
class Callback:
    """A notification waiting in the outbox: where it goes and the exact body to send."""

    target: dict[str, Any]
    body: bytes
    content_type: str
    callback_id: int = 0
    attempts: int = 0
    job_id: str = ""


@dataclass(frozen=True)
class TemplateRecord:
    """A template: its Tag and the parameter containers of its create body (e.g. Container, Video)."""

    template_id: str
    bucket: str
    name: str
    tag: str
    params: dict[str, Any]
    created: float
    updated: float


@dataclass(frozen=True)
class JobFilter:
    """The `GET /jobs` list filters."""

    tag: str
    queue_id: str = ""
    states: frozenset[str] = frozenset()
    start: float | None = None
    end: float | None = None
    ascending: bool = False
    size: int = 10
    after_seq: int | None = None
    input_object: str = ""


@dataclass(frozen=True)
class Outcome:
    """How a run ended, written by its runner under its lease token."""

    state: JobState
    code: str = "Success"
    message: str = ""
    result: dict[str, Any] | None = None
    callbacks: list[Callback] = field(default_factory=list)


CallbackFactory = Callable[[JobRecord], list[Callback]]


class Wakeups:
    """The in-process half of `wait_for_work`/`notify_work`, shared by the adapters.

    An adapter sets the event from its own signal too (PostgreSQL: LISTEN/NOTIFY from other nodes).
    """

    _work: asyncio.Event

    async def wait_for_work(self, timeout: float) -> None:
        """Sleep until work may be claimable (a local or remote signal) or `timeout`."""
        try:
            await asyncio.wait_for(self._work.wait(), timeout)
        except TimeoutError:
            pass
        self._work.clear()

    def notify_work(self) -> None:
        """Wake the local scheduler."""
        self._work.set()


class Store(Protocol):
    """What the service, scheduler and callback delivery need from durable state."""

    async def open(self) -> None:
        """Connect and apply migrations."""

    async def close(self) -> None:
        """Release connections."""

    async def reset(self) -> None:
        """Delete every job, callback and non-default queue setting."""

    async def ensure_queue(self, bucket: str, name: str, max_concurrent: int,
                           category: str = "Transcoding") -> QueueRecord:
        """Create the named queue of a bucket if missing; return it."""

    async def queues(self, bucket: str) -> list[QueueRecord]:
        """All queues of a bucket, oldest first."""

    async def update_queue(self, bucket: str, queue_id: str, name: str, state: str,
                           notify: dict[str, Any], now: float) -> QueueRecord | None:
        """Change a queue; pausing turns its waiting jobs to Pause, resuming back to Submitted."""

    async def insert_jobs(self, jobs: list[JobRecord]) -> list[JobRecord]:
        """Commit new jobs atomically (all or none) before returning them as stored.

        A job submitted to a paused queue is stored (and returned) as Pause.
        """

    async def get_jobs(self, bucket: str, job_ids: list[str]) -> list[JobRecord]:
        """The jobs of a bucket with these ids (missing ones are left out)."""

    async def list_jobs(self, bucket: str, flt: JobFilter) -> list[JobRecord]:
        """Jobs matching a filter, ordered by submission, at most `size`."""

    async def cancel_job(self, bucket: str, job_id: str, now: float) -> JobRecord | None:
        """Cancel a waiting job now, or flag a running one for its runner to stop."""

    async def claim(self, node: str, now: float, lease_seconds: float,
                    tags: frozenset[str] | None = None) -> Claim | None:
        """Atomically take the next runnable job: fair across queues, JobLevel then FIFO."""

    async def heartbeat(self, job_id: str, token: str, lease_until: float, progress: int) -> Beat:
        """Renew a lease and record progress; tells the runner if it lost the job or must cancel."""

    async def finish(self, job_id: str, token: str, now: float, outcome: Outcome) -> bool:
        """Record a run's outcome and enqueue its callbacks in one transaction, if the token still holds."""

    async def rescue(self, now: float, max_attempts: int, on_fail: CallbackFactory,
                     everything: bool = False) -> list[JobRecord]:
        """Requeue Running jobs whose lease expired (or all, at single-node start).

        Jobs out of attempts fail with Code=WorkerLost; their callbacks (from `on_fail`) are
        enqueued in the same transaction. Returns the jobs that were touched.
        """

    async def put_template(self, template: TemplateRecord) -> None:
        """Create a template, or replace the one with the same id."""

    async def get_template(self, bucket: str, template_id: str) -> TemplateRecord | None:
        """A custom template of a bucket."""

    async def list_templates(self, bucket: str, tag: str, name_prefix: str, ids: list[str], offset: int,
                             limit: int) -> tuple[list[TemplateRecord], int]:
        """Custom templates matching the filters (oldest first), one page of them, and the total count."""

    async def delete_template(self, bucket: str, template_id: str) -> bool:
        """Delete a custom template; False when it did not exist."""

    async def add_callbacks(self, callbacks: list[Callback], now: float) -> None:
        """Put callbacks into the outbox."""

    async def due_callbacks(self, now: float, limit: int) -> list[Callback]:
        """Outbox entries whose next attempt is due, leased for a short while to this caller."""

    async def callback_done(self, callback_id: int) -> None:
        """Remove a delivered callback."""

    async def callback_retry(self, callback_id: int, attempts: int, next_at: float, error: str) -> None:
        """Schedule another attempt."""

    async def wait_for_work(self, timeout: float) -> None:
        """Return when new work may be claimable (or after `timeout`)."""

    def notify_work(self) -> None:
        """Wake local waiters (new job, resumed queue, freed slot)."""
