"""The web console's use cases over tasks: filtered pages, restart, end, and the last hour's throughput.

A task's state is derived from its jobs (domain/tasks.py), so a state filter cannot be pushed into
the store's task index. Pages are read newest first in batches of `SCAN` tasks (one read for the
tasks, one for their jobs) until a page is full; a time range stops the scan at its lower end.
Waiting and In progress tasks are found the other way round, from the jobs that are not final (the
backlog, read per Tag with the state in SQL), so a page of them never scans the finished history.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from .. import ids, tags
from ..config import Bucket
from ..domain.jobs import FINAL_STATES, WAITING_STATES, JobState
from ..domain.tasks import TASK_ID_PREFIX, TaskKind, TaskState
from ..errors import InvalidArgument
from ..store import JobFilter, JobRecord, TaskRecord
from .jobs import Jobs, TaskView
from .requests import JobRequest, Operation

SCAN = 250           # tasks read per batch while filling a page
MAX_PAGE = 100
MAX_BULK = 500       # tasks one bulk action may touch
MAX_ACTIVE = 10_000  # unfinished jobs per Tag read for a Waiting / In progress page
CALLBACK_KEYS = ("CallBack", "CallBackFormat", "CallBackType", "CallBackMqConfig")
SPEC_KEYS = frozenset({"Tag", "Input", "Operation", "Resolved", "Origin", "ProbeInput", *CALLBACK_KEYS})


@dataclass(frozen=True)
class TaskFilter:
    """What the console's list asks for; empty fields match everything."""

    search: str = ""                      # a task id, or a job id (its task is shown)
    states: frozenset[TaskState] = frozenset()
    tag: str = ""
    queue_id: str = ""
    start: float | None = None            # created at or after
    end: float | None = None              # created before


@dataclass(frozen=True)
class ConsolePage:
    """A page of tasks, newest first; `next_before` continues the scan (None at the end)."""

    tasks: list[TaskView]
    next_before: int | None
    scanned: int


@dataclass(frozen=True)
class Throughput:
    """Jobs that ended in each minute of the last hour (oldest minute first)."""

    since: float
    succeeded: tuple[int, ...]
    failed: tuple[int, ...]


def matches(view: TaskView, flt: TaskFilter) -> bool:
    """Whether a task passes the filter (the search and time bounds are checked by the scan)."""
    if flt.states and view.state not in flt.states:
        return False
    if flt.tag and all(j.tag != flt.tag for j in view.jobs):
        return False
    return not (flt.queue_id and all(j.queue_id != flt.queue_id for j in view.jobs))


class ConsoleQueries:
    """Task pages with filters, restart and end, over the Jobs use cases and the store."""

    def __init__(self, jobs: Jobs) -> None:
        self.jobs = jobs
        self.store = jobs.store

    async def page(self, bucket: Bucket, flt: TaskFilter, size: int = 20,
                   before: int | None = None) -> ConsolePage:
        """Up to `size` tasks of `bucket` matching `flt`, older than task seq `before`."""
        if not 1 <= size <= MAX_PAGE:
            raise InvalidArgument(f"size must be between 1 and {MAX_PAGE}")
        if flt.search:
            found = await self.find(bucket, flt.search)
            return ConsolePage([found] if found is not None and matches(found, flt) else [], None, 1)
        if flt.states and TaskState.FINISHED not in flt.states:
            return await self._active_page(bucket, flt, size, before)
        out: list[TaskView] = []
        scanned, cursor = 0, before
        while True:
            batch = await self.jobs.task_page(bucket, SCAN, cursor)
            for view in batch:
                scanned += 1
                if flt.start is not None and view.task.created < flt.start:
                    return ConsolePage(out, None, scanned)
                if flt.end is not None and view.task.created >= flt.end:
                    continue
                if matches(view, flt):
                    out.append(view)
                    if len(out) == size:
                        return ConsolePage(out, view.task.seq, scanned)
            if len(batch) < SCAN:
                return ConsolePage(out, None, scanned)
            cursor = batch[-1].task.seq

    async def _active_page(self, bucket: Bucket, flt: TaskFilter, size: int, before: int | None) -> ConsolePage:
        """A page of Waiting/In progress tasks: the tasks of the bucket's unfinished jobs, newest first."""
        active = frozenset({JobState.SUBMITTED, JobState.PAUSE, JobState.RUNNING})
        task_ids: set[str] = set()
        for tag in (flt.tag,) if flt.tag else tuple(tags.REGISTRY):
            jobs = await self.store.list_jobs(bucket.name, JobFilter(tag=tag, queue_id=flt.queue_id, states=active,
                                                                     size=MAX_ACTIVE))
            task_ids.update(j.task_id for j in jobs if j.task_id)
        views = [v for v in [await self.jobs.task(bucket, t) for t in task_ids] if v is not None]
        views = sorted((v for v in views if before is None or v.task.seq < before), key=lambda v: -v.task.seq)
        out = [v for v in views if matches(v, flt) and _in_time(v, flt)]
        return ConsolePage(out[:size], out[size - 1].task.seq if len(out) > size else None, len(views))

    async def find(self, bucket: Bucket, text: str) -> TaskView | None:
        """The task with this id, or the task of the job with this id."""
        text = text.strip()
        if text.startswith(TASK_ID_PREFIX):
            return await self.jobs.task(bucket, text)
        found = await self.store.get_jobs(bucket.name, [text])
        if found and found[0].task_id:
            return await self.jobs.task(bucket, found[0].task_id)
        return None

    async def restart(self, bucket: Bucket, task_id: str) -> TaskView:
        """Re-run every job of a Completed task as a new task linked to it (`detail.RestartOf`).

        The old task keeps its jobs and results: a task's jobs are fixed when it is committed.
        """
        view = await self._task(bucket, task_id)
        if view.state != TaskState.FINISHED:
            raise InvalidArgument(f"task {task_id} is {view.state}; only a completed task can be restarted")
        new_id = ids.new_id(TASK_ID_PREFIX)
        fresh: list[JobRecord] = []
        for job in view.jobs:
            fresh += await self.jobs.prepare(_request_of(bucket, job, new_id))
        if not fresh:
            raise InvalidArgument(f"task {task_id} has no jobs to run again")
        task = TaskRecord(task_id=new_id, bucket=bucket.name, kind=TaskKind.REQUEST, origin=view.task.origin,
                          created=fresh[0].created, job_ids=tuple(j.job_id for j in fresh),
                          detail={"RestartOf": task_id})
        await self.store.insert_jobs(fresh, task)
        return await self._task(bucket, new_id)

    async def end(self, bucket: Bucket, task_id: str) -> TaskView:
        """Cancel a Waiting task: each of its waiting jobs is cancelled at once."""
        view = await self._task(bucket, task_id)
        if view.state != TaskState.WAITING:
            raise InvalidArgument(f"task {task_id} is {view.state}; only a waiting task can be ended")
        now = time.time()
        for job in view.jobs:
            if job.state in WAITING_STATES:
                await self.store.cancel_job(bucket.name, job.job_id, now)
        return await self._task(bucket, task_id)

    async def bulk(self, bucket: Bucket, action: str, task_ids: Iterable[str]) -> dict[str, str]:
        """`restart` or `end` each task; per task id, '' when done or why not."""
        wanted = list(dict.fromkeys(task_ids))[:MAX_BULK]
        run = {"restart": self.restart, "end": self.end}.get(action)
        if run is None:
            raise InvalidArgument(f"action {action!r} must be restart or end")
        outcome = {}
        for task_id in wanted:
            try:
                await run(bucket, task_id)
                outcome[task_id] = ""
            except InvalidArgument as exc:
                outcome[task_id] = exc.message
        return outcome

    async def filtered_ids(self, bucket: Bucket, flt: TaskFilter) -> list[str]:
        """The ids of every task matching `flt` (at most MAX_BULK), for a bulk action on all filtered."""
        out: list[str] = []
        before = None
        while len(out) < MAX_BULK:
            page = await self.page(bucket, flt, MAX_PAGE, before)
            out += [v.task.task_id for v in page.tasks]
            if page.next_before is None:
                break
            before = page.next_before
        return out[:MAX_BULK]

    async def throughput(self, bucket: Bucket, now: float | None = None) -> Throughput:
        """Successes and failures per minute over the last hour, by the jobs' end time."""
        now = time.time() if now is None else now
        since = now - 3600
        ok: Counter[int] = Counter()
        bad: Counter[int] = Counter()
        for minute, state, n in await self.store.ended_per_minute(bucket.name, since, now + 1):  # counted in SQL
            (ok if state == JobState.SUCCESS else bad)[min(59, max(0, minute))] += n
        return Throughput(since, tuple(ok[m] for m in range(60)), tuple(bad[m] for m in range(60)))

    async def _task(self, bucket: Bucket, task_id: str) -> TaskView:
        view = await self.jobs.task(bucket, task_id)
        if view is None:
            raise InvalidArgument(f"task {task_id} does not exist in bucket {bucket.name}")
        return view


def _in_time(view: TaskView, flt: TaskFilter) -> bool:
    created = view.task.created
    return (flt.start is None or created >= flt.start) and (flt.end is None or created < flt.end)


def _request_of(bucket: Bucket, job: JobRecord, task_id: str) -> JobRequest:
    """The request that submits `job` again, unchanged (its templates resolved anew), into task `task_id`."""
    found = job.spec.get("Input")
    source: dict[str, Any] = found if isinstance(found, dict) else {}
    operation = Operation(job.tag, dict(job.spec.get("Operation") or {}))
    request = JobRequest(bucket=bucket, input_key=str(source.get("Object", "")), operations=(operation,),
                         queue_id=job.queue_id, origin=str(job.spec.get("Origin", "ci")), task_id=task_id,
                         callback={k: job.spec[k] for k in CALLBACK_KEYS if k in job.spec},
                         echo={k: v for k, v in job.spec.items() if k not in SPEC_KEYS},
                         level=job.level, input_url=str(source.get("Url", "")),
                         probe_input=bool(job.spec.get("ProbeInput")))
    return replace(request, kind=TaskKind.REQUEST)


def is_final(job: JobRecord) -> bool:
    """Whether the job has ended (Success, Failed or Cancel)."""
    return job.state in FINAL_STATES
