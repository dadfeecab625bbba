"""An in-memory Store for unit tests: the whole port, the same semantics, no threads, no sockets, no files.

Every method runs to completion without awaiting anything, so on one event loop each one is atomic,
as a transaction is. The job-state decisions are domain/jobs.py's, as in the SQL adapters; the
contract suite (tests/store) holds the three to the same behaviour. Data lives as long as the object
(across close and open again).
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import itertools
import math
import time
import uuid
from dataclasses import dataclass
from typing import Any

from ..domain import jobs as domain
from ..domain import priority
from ..domain.jobs import Beat, JobState, QueueState
from ..errors import StoreError
from .memory_flows import FlowRows
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
from .rows import check_task
from .wakeups import LocalEvents, Wakeups

CALLBACK_LEASE = 60.0


@dataclass
class _Lease:
    token: str
    until: float
    node: str


@dataclass
class _Outgoing:
    callback: Callback
    next_at: float
    last_error: str = ""
    dead_at: float | None = None
    delivered_at: float | None = None


class MemoryStore(FlowRows, Wakeups, LocalEvents):
    """Store in dicts on the running event loop."""

    def __init__(self) -> None:
        self._open = False
        self._work = asyncio.Event()
        self._queues: dict[str, QueueRecord] = {}
        self._last_claim: dict[str, float] = {}
        self._jobs: dict[str, JobRecord] = {}
        self._tasks: dict[str, TaskRecord] = {}
        self._leases: dict[str, _Lease] = {}
        self._templates: dict[str, TemplateRecord] = {}
        self._outbox: dict[int, _Outgoing] = {}
        self._nonces: dict[str, float] = {}
        self._seq = itertools.count(1)
        self._task_seq = itertools.count(1)
        self._callback_ids = itertools.count(1)

    # --- lifecycle --------------------------------------------------------------------------

    async def open(self) -> None:
        """Start serving (nothing to connect)."""
        self._open = True

    async def close(self) -> None:
        """Stop serving; the data stays for a later open."""
        self._open = False

    async def reset(self) -> None:
        """Delete all jobs, tasks, callbacks and templates; queues back to Active with no notification."""
        self._check()
        self._jobs.clear()
        self._tasks.clear()
        self._leases.clear()
        self._outbox.clear()
        self._templates.clear()
        self._nonces.clear()
        for queue_id, q in self._queues.items():
            self._queues[queue_id] = dataclasses.replace(q, state=QueueState.ACTIVE, notify={}, running=0)

    def _check(self) -> None:
        if not self._open:
            raise StoreError("store is not open")

    # --- queues -----------------------------------------------------------------------------

    async def ensure_queue(self, bucket: str, name: str, max_concurrent: int,
                           category: str = "Transcoding") -> QueueRecord:
        """Create the named queue if missing (its MaxConcurrent follows the caller) and return it."""
        self._check()
        found = self._queue_named(bucket, name)
        if found is None:
            now = time.time()
            found = QueueRecord("p" + uuid.uuid4().hex, bucket, name, QueueState.ACTIVE, max_concurrent, 10000, {},
                                category, now, now)
            self._last_claim[found.queue_id] = 0.0
        found = dataclasses.replace(found, max_concurrent=max_concurrent)
        self._queues[found.queue_id] = found
        return _queue_out(found)

    def _queue_named(self, bucket: str, name: str) -> QueueRecord | None:
        return next((q for q in self._queues.values() if q.bucket == bucket and q.name == name), None)

    async def queues(self, bucket: str) -> list[QueueRecord]:
        """All queues of a bucket, oldest first."""
        self._check()
        return [_queue_out(q) for q in sorted((q for q in self._queues.values() if q.bucket == bucket),
                                              key=lambda q: (q.created, q.name))]

    async def update_queue(self, bucket: str, queue_id: str, name: str, state: str,
                           notify: dict[str, Any], now: float) -> QueueRecord | None:
        """Rename, pause/resume and set NotifyConfig; waiting jobs follow the queue state."""
        self._check()
        q = self._queues.get(queue_id)
        if q is None or q.bucket != bucket:
            return None
        clash = self._queue_named(bucket, name)
        if clash is not None and clash.queue_id != queue_id:
            raise StoreError(f"store write failed: a queue named {name!r} exists in {bucket}")
        q = self._queues[queue_id] = dataclasses.replace(q, name=name, state=state, notify=dict(notify), updated=now)
        move = domain.queue_move(state)
        for j in self._jobs.values():
            if j.queue_id == queue_id and j.state == move.old:
                self._jobs[j.job_id] = dataclasses.replace(j, state=move.new)
        if domain.resumes(state):
            self.notify_work()
        return _queue_out(q)

    # --- jobs -------------------------------------------------------------------------------

    async def insert_jobs(self, jobs: list[JobRecord], task: TaskRecord | None = None) -> list[JobRecord]:
        """Store the jobs and their task, all or none (each job must name an existing queue and a new id,
        the task a new id); return the jobs as stored."""
        self._check()
        check_task(jobs, task)
        if task is not None and task.task_id in self._tasks:
            raise StoreError(f"store write failed: task {task.task_id} exists")
        ids = [j.job_id for j in jobs]
        for j in jobs:
            if j.queue_id not in self._queues:
                raise StoreError(f"store write failed: job {j.job_id} names no queue ({j.queue_id})")
            if j.job_id in self._jobs or ids.count(j.job_id) > 1:
                raise StoreError(f"store write failed: job {j.job_id} exists")
        stored = [dataclasses.replace(j, seq=next(self._seq), spec=_copy(j.spec),
                                      state=domain.submitted_state(j.state, self._queues[j.queue_id].state))
                  for j in jobs]
        self._jobs.update((j.job_id, j) for j in stored)
        if task is not None:
            self._tasks[task.task_id] = dataclasses.replace(task, seq=next(self._task_seq), detail=_copy(task.detail))
        if stored:
            self.notify_work()
        return stored

    async def get_jobs(self, bucket: str, job_ids: list[str]) -> list[JobRecord]:
        """Jobs of a bucket by id, in the order asked."""
        self._check()
        return [_out(j) for i in job_ids if (j := self._jobs.get(i)) is not None and j.bucket == bucket]

    async def list_jobs(self, bucket: str, flt: JobFilter) -> list[JobRecord]:
        """Jobs matching `flt`, by submission order, at most `size`."""
        self._check()
        found = sorted((j for j in self._jobs.values() if j.bucket == bucket and _matches(j, flt)),
                       key=lambda j: j.seq, reverse=not flt.ascending)
        return [_out(j) for j in found[:flt.size]]

    async def cancel_job(self, bucket: str, job_id: str, now: float) -> JobRecord | None:
        """Waiting -> Cancel at once; Running -> flagged (its runner stops it within a heartbeat)."""
        self._check()
        j = self._jobs.get(job_id)
        if j is None or j.bucket != bucket:
            return None
        match domain.cancel_decision(j.state):
            case domain.CancelKind.NOW:
                j = self._end(j, now, domain.CANCELLED)
            case domain.CancelKind.FLAG:
                j = self._jobs[job_id] = dataclasses.replace(j, cancel_requested=True)
        return _out(j)

    def _end(self, j: JobRecord, now: float, ending: domain.Ending) -> JobRecord:
        self._leases.pop(j.job_id, None)
        self._jobs[j.job_id] = dataclasses.replace(j, state=ending.state, ended=now, code=ending.code,
                                                   message=ending.message)
        return self._jobs[j.job_id]

    # --- tasks ------------------------------------------------------------------------------

    async def get_task(self, bucket: str, task_id: str) -> TaskRecord | None:
        """A task of a bucket."""
        self._check()
        t = self._tasks.get(task_id)
        return _task_out(t) if t is not None and t.bucket == bucket else None

    async def list_tasks(self, bucket: str, size: int = 10, after_seq: int | None = None) -> list[TaskRecord]:
        """A bucket's tasks, newest first, at most `size`, older than `after_seq` when given."""
        self._check()
        found = sorted((t for t in self._tasks.values()
                        if t.bucket == bucket and (after_seq is None or t.seq < after_seq)),
                       key=lambda t: t.seq, reverse=True)
        return [_task_out(t) for t in found[:size]]

    # --- running ----------------------------------------------------------------------------

    async def claim(self, node: str, now: float, lease_seconds: float,
                    tags: frozenset[str] | None = None) -> Claim | None:
        """Take the best job (JobLevel, then FIFO) of the least-served active queue that has a free slot."""
        self._check()
        waiting: dict[str, list[JobRecord]] = {}
        for j in self._jobs.values():
            if j.state == JobState.SUBMITTED and (tags is None or j.tag in tags):
                waiting.setdefault(j.queue_id, []).append(j)
        open_queues = [q for q in self._queues.values()
                       if q.queue_id in waiting and q.state == QueueState.ACTIVE and q.running < q.max_concurrent]
        online = [q for q in open_queues if any(not priority.is_offline(j.level) for j in waiting[q.queue_id])]
        open_queues = online or open_queues  # Offline work only while no open queue has Online work
        if not open_queues:
            return None
        q = min(open_queues, key=lambda q: (q.running, self._last_claim[q.queue_id]))
        best = min(waiting[q.queue_id], key=lambda j: (-j.level, j.seq))
        lease = self._leases[best.job_id] = _Lease(uuid.uuid4().hex, now + lease_seconds, node)
        job = self._jobs[best.job_id] = dataclasses.replace(best, state=JobState.RUNNING, started=now,
                                                            attempts=best.attempts + 1, progress=0)
        self._queues[q.queue_id] = dataclasses.replace(q, running=q.running + 1)
        self._last_claim[q.queue_id] = now
        return Claim(_out(job), lease.token, lease.until)

    def _held(self, job_id: str, token: str) -> JobRecord | None:
        """The job, if `token` still holds its Running lease."""
        j, lease = self._jobs.get(job_id), self._leases.get(job_id)
        if j is None or lease is None or lease.token != token or j.state != JobState.RUNNING:
            return None
        return j

    async def heartbeat(self, job_id: str, token: str, lease_until: float, progress: int) -> Beat:
        """Extend the lease and store progress, fenced by the token."""
        self._check()
        j = self._held(job_id, token)
        if j is None:
            return domain.beat(None)
        self._leases[job_id].until = lease_until
        self._jobs[job_id] = dataclasses.replace(j, progress=progress)
        return domain.beat(j.cancel_requested)

    async def release(self, job_id: str, token: str) -> bool:
        """Expire the lease now and return the attempt, fenced by the token."""
        self._check()
        j = self._held(job_id, token)
        if j is None:
            return False
        self._leases[job_id].until, self._leases[job_id].token = 0.0, ""  # no claim's token is empty
        self._jobs[job_id] = dataclasses.replace(j, attempts=max(j.attempts - 1, 0))
        return True

    async def finish(self, job_id: str, token: str, now: float, outcome: Outcome) -> bool:
        """Write the outcome, free the slot and enqueue callbacks atomically, only while the token holds."""
        self._check()
        j = self._held(job_id, token)
        if j is not None:
            progress = domain.finished_progress(outcome.state)
            self._leases.pop(job_id)
            self._jobs[job_id] = dataclasses.replace(
                j, state=outcome.state, code=outcome.code, message=outcome.message, result=_copy(outcome.result),
                ended=now, progress=j.progress if progress is None else progress)
            self._free_slot(j.queue_id)
            self._enqueue(outcome.callbacks, now)
        self.notify_work()
        return j is not None

    def _free_slot(self, queue_id: str) -> str:
        """Give back one of the queue's running slots; the queue's state."""
        q = self._queues[queue_id]
        self._queues[queue_id] = dataclasses.replace(q, running=max(q.running - 1, 0))
        return q.state

    async def rescue(self, now: float, max_attempts: int, on_fail: CallbackFactory,
                     everything: bool = False) -> list[JobRecord]:
        """Requeue (or fail) Running jobs whose lease expired — or all of them at a lone node's start."""
        self._check()
        lost = sorted((j for j in self._jobs.values() if j.state == JobState.RUNNING
                       and (everything or self._leases[j.job_id].until < now)), key=lambda j: j.job_id)
        touched = [self._rescue_one(j, now, max_attempts, on_fail) for j in lost]
        if touched:
            self.notify_work()
        return touched

    def _rescue_one(self, j: JobRecord, now: float, max_attempts: int, on_fail: CallbackFactory) -> JobRecord:
        rescue = domain.rescue_decision(j, max_attempts, self._free_slot(j.queue_id))
        if rescue.ending is not None:
            touched = self._end(j, now, rescue.ending)
        else:
            self._leases.pop(j.job_id)
            touched = self._jobs[j.job_id] = dataclasses.replace(j, state=rescue.state, progress=0)
        if rescue.kind == domain.RescueKind.FAIL:
            self._enqueue(on_fail(_out(touched)), now)
        return _out(touched)

    # --- templates --------------------------------------------------------------------------

    async def put_template(self, template: TemplateRecord) -> None:
        """Insert a template, or replace the name, Tag, parameters and update time of the one with its id."""
        self._check()
        old = self._templates.get(template.template_id)
        if old is not None:
            template = dataclasses.replace(old, name=template.name, tag=template.tag, updated=template.updated,
                                           params=template.params)
        self._templates[template.template_id] = dataclasses.replace(template, params=_copy(template.params))

    async def get_template(self, bucket: str, template_id: str) -> TemplateRecord | None:
        """One custom template of a bucket."""
        self._check()
        t = self._templates.get(template_id)
        return _template_out(t) if t is not None and t.bucket == bucket else None

    async def list_templates(self, bucket: str, tag: str, name_prefix: str, ids: list[str], offset: int,
                             limit: int) -> tuple[list[TemplateRecord], int]:
        """A page of a bucket's custom templates (oldest first) and the total that match."""
        self._check()
        found = sorted((t for t in self._templates.values()
                        if t.bucket == bucket and (not tag or t.tag == tag) and t.name.startswith(name_prefix)
                        and (not ids or t.template_id in ids)), key=lambda t: (t.created, t.template_id))
        return [_template_out(t) for t in found[offset:offset + limit]], len(found)

    async def delete_template(self, bucket: str, template_id: str) -> bool:
        """Delete a template."""
        self._check()
        t = self._templates.get(template_id)
        if t is None or t.bucket != bucket:
            return False
        del self._templates[template_id]
        return True

    # --- callbacks --------------------------------------------------------------------------

    async def add_callbacks(self, callbacks: list[Callback], now: float) -> None:
        """Enqueue callbacks."""
        self._check()
        self._enqueue(callbacks, now)

    def _enqueue(self, callbacks: list[Callback], now: float) -> None:
        for c in callbacks:
            callback_id = next(self._callback_ids)
            self._outbox[callback_id] = _Outgoing(dataclasses.replace(c, callback_id=callback_id, attempts=0), now)

    async def due_callbacks(self, now: float, limit: int) -> list[Callback]:
        """Due callbacks, each leased for 60 s so that a second deliverer skips it."""
        self._check()
        due = sorted((o for o in self._outbox.values() if o.next_at <= now),
                     key=lambda o: (o.next_at, o.callback.callback_id))[:limit]
        for o in due:
            o.next_at = now + CALLBACK_LEASE
        return [o.callback for o in due]

    async def callback_done(self, callback_id: int, now: float | None = None) -> None:
        """Mark a callback delivered (kept with its attempts, never due again)."""
        self._check()
        o = self._outbox.get(callback_id)
        if o is not None:
            o.callback = dataclasses.replace(o.callback, attempts=o.callback.attempts + 1, body=b"")
            o.next_at, o.delivered_at = math.inf, time.time() if now is None else now

    async def callback_retry(self, callback_id: int, attempts: int, next_at: float, error: str) -> None:
        """Record a failed attempt and when to try again."""
        self._check()
        o = self._outbox.get(callback_id)
        if o is not None:
            o.callback = dataclasses.replace(o.callback, attempts=attempts)
            o.next_at, o.last_error = next_at, error[:500]

    async def callback_dead(self, callback_id: int, attempts: int, error: str, now: float) -> None:
        """Keep a callback that ran out of retries as a dead letter."""
        self._check()
        o = self._outbox.get(callback_id)
        if o is not None:
            o.callback = dataclasses.replace(o.callback, attempts=attempts)
            o.next_at, o.last_error, o.dead_at = math.inf, error[:500], now

    async def dead_callbacks(self, limit: int, after_id: int = 0) -> list[DeadLetter]:
        """Dead letters by id."""
        self._check()
        dead = sorted((o for i, o in self._outbox.items() if o.dead_at is not None and i > after_id),
                      key=lambda o: o.callback.callback_id)[:limit]
        return [DeadLetter(o.callback, o.dead_at or 0.0, o.last_error) for o in dead]

    async def resend_callback(self, callback_id: int, now: float) -> bool:
        """Make a dead letter due now with its attempts reset."""
        self._check()
        o = self._outbox.get(callback_id)
        if o is None or o.dead_at is None:
            return False
        o.callback, o.next_at, o.dead_at = dataclasses.replace(o.callback, attempts=0), now, None
        return True

    async def counts(self) -> StoreCounts:
        """Jobs per bucket, queue and state; outbox entries pending and dead."""
        self._check()
        jobs = collections.Counter((j.bucket, j.queue_id, str(j.state)) for j in self._jobs.values())
        dead = sum(1 for o in self._outbox.values() if o.dead_at is not None)
        delivered = sum(1 for o in self._outbox.values() if o.delivered_at is not None)
        return StoreCounts(tuple((*k, n) for k, n in sorted(jobs.items())), len(self._outbox) - dead - delivered, dead)

    async def first_use(self, nonce: str, until: float, now: float) -> bool:
        """Record `nonce` as used until `until`; False when it is recorded and live."""
        self._check()
        for key in [k for k, t in self._nonces.items() if t < now]:
            del self._nonces[key]
        if nonce in self._nonces:
            return False
        self._nonces[nonce] = until
        return True

    async def ended_per_minute(self, bucket: str, since: float, until: float) -> list[tuple[int, str, int]]:
        """Jobs of the bucket that ended Success or Failed in [since, until), per minute after `since`."""
        self._check()
        found = collections.Counter((int((j.ended - since) // 60), str(j.state)) for j in self._jobs.values()
                                    if j.bucket == bucket and j.state in (JobState.SUCCESS, JobState.FAILED)
                                    and j.ended is not None and since <= j.ended < until)
        return sorted((m, s, n) for (m, s), n in found.items())

    async def job_callbacks(self, job_ids: list[str]) -> list[CallbackStatus]:
        """Every callback of these jobs, oldest first."""
        self._check()
        wanted = set(job_ids)
        return [CallbackStatus(o.callback, _callback_state(o.dead_at, o.delivered_at), o.last_error,
                               None if o.dead_at is not None or o.delivered_at is not None else o.next_at,
                               o.delivered_at, o.dead_at)
                for i, o in sorted(self._outbox.items()) if o.callback.job_id in wanted]


def _callback_state(dead_at: float | None, delivered_at: float | None) -> str:
    return "dead" if dead_at is not None else "delivered" if delivered_at is not None else "pending"


def _matches(j: JobRecord, flt: JobFilter) -> bool:
    """Whether a job (of the filtered bucket) passes `flt`."""
    return (j.tag == flt.tag and (not flt.queue_id or j.queue_id == flt.queue_id)
            and (not flt.states or j.state in flt.states)
            and (flt.start is None or j.created >= flt.start) and (flt.end is None or j.created <= flt.end)
            and (not flt.input_object or j.input_object == flt.input_object)
            and (not flt.workflow_id or (j.spec.get("Workflow") or {}).get("WorkflowId") == flt.workflow_id)
            and (not flt.batch_id or j.spec.get("InventoryTriggerJobId") == flt.batch_id)
            and (flt.after_seq is None or (j.seq > flt.after_seq if flt.ascending else j.seq < flt.after_seq)))


def _out(j: JobRecord) -> JobRecord:
    """A job as a read from a database gives it: its own copies of the JSON fields."""
    return dataclasses.replace(j, spec=_copy(j.spec), result=_copy(j.result))


def _queue_out(q: QueueRecord) -> QueueRecord:
    return dataclasses.replace(q, notify=_copy(q.notify))


def _task_out(t: TaskRecord) -> TaskRecord:
    return dataclasses.replace(t, detail=_copy(t.detail))


def _template_out(t: TemplateRecord) -> TemplateRecord:
    return dataclasses.replace(t, params=_copy(t.params))


def _copy(value: Any) -> Any:
    """A deep copy of JSON-like data, as a round trip through a database would give (callers may mutate)."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
