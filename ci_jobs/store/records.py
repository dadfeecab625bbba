"""The store's records: what the repos take and return (frozen dataclasses, no behaviour)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..domain.jobs import JobState


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
    task_id: str = ""  # the task it belongs to ('' for none; jobs stored before tasks existed have none)

    @property
    def input_object(self) -> str:
        """The key of the job's input object ('' when it has none); `list_jobs` filters on it."""
        source = self.spec.get("Input")
        return str(source.get("Object", "")) if isinstance(source, dict) else ""


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
class DeadLetter:
    """A callback that ran out of retries, kept until re-sent: when it died and its last error."""

    callback: Callback
    dead_at: float
    last_error: str


@dataclass(frozen=True)
class CallbackStatus:
    """Where one of a job's callbacks stands: pending (next attempt at `next_at`), delivered or dead."""

    callback: Callback
    state: str  # "pending", "delivered" or "dead"
    last_error: str
    next_at: float | None = None
    delivered_at: float | None = None
    dead_at: float | None = None


@dataclass(frozen=True)
class StoreCounts:
    """What a metrics scrape reads: jobs per (bucket, queue_id, state) and the outbox's entries."""

    jobs: tuple[tuple[str, str, str, int], ...]
    outbox_pending: int
    outbox_dead: int


@dataclass(frozen=True)
class TaskRecord:
    """A group of jobs committed with them (domain/tasks.py): `k` + 32 hex, its jobs' ids in order.

    `kind` is a domain TaskKind, `origin` the protocol that presents it; `detail` holds that
    protocol's own fields (MPS's TaskType, say) as JSON-like data. `seq` orders tasks (newest
    highest) and pages `list_tasks`; the store assigns it. The state is derived, never stored.
    """

    task_id: str
    bucket: str
    kind: str
    origin: str
    created: float
    job_ids: tuple[str, ...]
    detail: dict[str, Any] = field(default_factory=dict)
    seq: int = 0


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
    workflow_id: str = ""  # jobs a workflow made (their spec's Workflow.WorkflowId)
    batch_id: str = ""     # jobs a batch job made (their spec's InventoryTriggerJobId)


@dataclass(frozen=True)
class Outcome:
    """How a run ended, written by its runner under its lease token."""

    state: JobState
    code: str = "Success"
    message: str = ""
    result: dict[str, Any] | None = None
    callbacks: list[Callback] = field(default_factory=list)


CallbackFactory = Callable[[JobRecord], list[Callback]]
