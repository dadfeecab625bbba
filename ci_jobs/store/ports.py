"""The Store port, split into small repos so that a use case can depend on only what it uses.

`Store` is their union: what an adapter (memory, sqlite, postgres) implements and the composition
root hands out. Every adapter passes the same contract suite (tests/store).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ..domain.jobs import Beat
from .flows import FlowStore
from .records import (
    Callback,
    CallbackFactory,
    CallbackStatus,
    Claim,
    DeadLetter,
    JobFilter,
    JobRecord,
    Outcome,
    QueueRecord,
    StoreCounts,
    TaskRecord,
    TemplateRecord,
)


class Lifecycle(Protocol):
    """Opening, closing and wiping a store."""

    async def open(self) -> None:
        """Connect and apply migrations."""

    async def close(self) -> None:
        """Release connections."""

    async def reset(self) -> None:
        """Delete every job, task, callback, template and non-default queue setting."""


class QueueRepo(Protocol):
    """Bucket-scoped queues."""

    async def ensure_queue(self, bucket: str, name: str, max_concurrent: int,
                           category: str = "Transcoding") -> QueueRecord:
        """Create the named queue of a bucket if missing (its MaxConcurrent follows the caller); return it."""

    async def queues(self, bucket: str) -> list[QueueRecord]:
        """All queues of a bucket, oldest first."""

    async def update_queue(self, bucket: str, queue_id: str, name: str, state: str,
                           notify: dict[str, Any], now: float) -> QueueRecord | None:
        """Change a queue; pausing turns its waiting jobs to Pause, resuming back to Submitted."""


class JobRepo(Protocol):
    """Submitting, reading, listing and cancelling jobs."""

    async def insert_jobs(self, jobs: list[JobRecord], task: TaskRecord | None = None) -> list[JobRecord]:
        """Commit new jobs atomically (all or none) before returning them as stored (state and seq).

        A job submitted to a paused queue is stored (and returned) as Pause. With `task`, the task
        commits in the same transaction (both or neither); its job_ids must be the jobs' ids in
        order and each job's task_id its id (a StoreError otherwise).
        """

    async def get_jobs(self, bucket: str, job_ids: list[str]) -> list[JobRecord]:
        """The jobs of a bucket with these ids, in the order asked (missing ones are left out)."""

    async def list_jobs(self, bucket: str, flt: JobFilter) -> list[JobRecord]:
        """Jobs matching a filter, ordered by submission (seq), at most `size`."""

    async def cancel_job(self, bucket: str, job_id: str, now: float) -> JobRecord | None:
        """Cancel a waiting job now, or flag a running one for its runner to stop."""


class TaskRepo(Protocol):
    """Reading tasks (they are written with their jobs, by `JobRepo.insert_jobs`)."""

    async def get_task(self, bucket: str, task_id: str) -> TaskRecord | None:
        """A task of a bucket."""

    async def list_tasks(self, bucket: str, size: int = 10, after_seq: int | None = None) -> list[TaskRecord]:
        """A bucket's tasks, newest first, at most `size`, only those older than `after_seq` when given."""


class RunRepo(Protocol):
    """Runs: claims fenced by lease tokens, heartbeats, outcomes and the rescue of lost runs."""

    async def claim(self, node: str, now: float, lease_seconds: float,
                    tags: frozenset[str] | None = None) -> Claim | None:
        """Atomically take the next runnable job: fair across queues, JobLevel then FIFO."""

    async def heartbeat(self, job_id: str, token: str, lease_until: float, progress: int) -> Beat:
        """Renew a lease and record progress; tells the runner if it lost the job or must cancel."""

    async def finish(self, job_id: str, token: str, now: float, outcome: Outcome) -> bool:
        """Record a run's outcome and enqueue its callbacks in one transaction, if the token still holds."""

    async def release(self, job_id: str, token: str) -> bool:
        """Give a run back unfinished (a graceful stop), if the token still holds: its lease ends now (the
        token no longer renews or finishes it) and the attempt it used is returned, so the next `rescue`
        requeues it as if it had never run."""

    async def rescue(self, now: float, max_attempts: int, on_fail: CallbackFactory,
                     everything: bool = False) -> list[JobRecord]:
        """Requeue Running jobs whose lease expired (or all, at single-node start).

        Jobs out of attempts fail with Code=WorkerLost; their callbacks (from `on_fail`) are
        enqueued in the same transaction. Returns the jobs that were touched, as stored.
        """


class TemplateRepo(Protocol):
    """Custom templates."""

    async def put_template(self, template: TemplateRecord) -> None:
        """Create a template, or replace the one with the same id."""

    async def get_template(self, bucket: str, template_id: str) -> TemplateRecord | None:
        """A custom template of a bucket."""

    async def list_templates(self, bucket: str, tag: str, name_prefix: str, ids: list[str], offset: int,
                             limit: int) -> tuple[list[TemplateRecord], int]:
        """Custom templates matching the filters (oldest first), one page of them, and the total count."""

    async def delete_template(self, bucket: str, template_id: str) -> bool:
        """Delete a custom template; False when it did not exist."""


class OutboxRepo(Protocol):
    """The persistent callback outbox (at-least-once delivery with leases and retries)."""

    async def add_callbacks(self, callbacks: list[Callback], now: float) -> None:
        """Put callbacks into the outbox."""

    async def due_callbacks(self, now: float, limit: int) -> list[Callback]:
        """Outbox entries whose next attempt is due, leased for a short while to this caller."""

    async def callback_done(self, callback_id: int, now: float | None = None) -> None:
        """Mark a callback delivered at `now` (one more attempt; kept without its body, never due again)."""

    async def callback_retry(self, callback_id: int, attempts: int, next_at: float, error: str) -> None:
        """Schedule another attempt."""

    async def callback_dead(self, callback_id: int, attempts: int, error: str, now: float) -> None:
        """Keep a callback that ran out of retries as a dead letter (never due until re-sent)."""

    async def dead_callbacks(self, limit: int, after_id: int = 0) -> list[DeadLetter]:
        """Dead letters by id, after `after_id`."""

    async def resend_callback(self, callback_id: int, now: float) -> bool:
        """Make a dead letter due now with its attempts reset; False if there is no such dead letter."""

    async def job_callbacks(self, job_ids: list[str]) -> list[CallbackStatus]:
        """Every callback of these jobs (pending, delivered or dead), oldest first."""


class StatsRepo(Protocol):
    """Counts for metrics."""

    async def counts(self) -> StoreCounts:
        """Jobs per bucket, queue and state; outbox entries pending and dead."""

    async def ended_per_minute(self, bucket: str, since: float, until: float) -> list[tuple[int, str, int]]:
        """(minute after `since`, Success or Failed, jobs) of the bucket's jobs that ended in [since, until)."""


class NonceRepo(Protocol):
    """Keys used once while live (replayed signatures), shared by every node of the store."""

    async def first_use(self, nonce: str, until: float, now: float) -> bool:
        """Record `nonce` as used until `until`; False when it is recorded already and still live (until >= now).
        Expired keys are forgotten (purged now and then)."""


class WorkSignal(Protocol):
    """Wake-ups for schedulers: new job, resumed queue, freed slot (on this node or, where shared, any)."""

    async def wait_for_work(self, timeout: float) -> None:
        """Return when new work may be claimable (or after `timeout`)."""

    def notify_work(self) -> None:
        """Wake local waiters (new job, resumed queue, freed slot)."""


class EventChannel(Protocol):
    """Domain events between the nodes sharing this store, as opaque text payloads (`domain.events`)."""

    async def send_event(self, payload: str) -> None:
        """Send `payload` to every node listening on this store (this one included, where shared)."""

    def on_event(self, receive: Callable[[str], None]) -> None:
        """Call `receive(payload)` for each payload sent by any node (a store no other node shares: never)."""


class Store(FlowStore,
            Lifecycle, QueueRepo, JobRepo, TaskRepo, RunRepo, TemplateRepo, OutboxRepo, StatsRepo, NonceRepo,
            WorkSignal, EventChannel, Protocol):
    """What the service, scheduler and callback delivery need from durable state: every repo."""
