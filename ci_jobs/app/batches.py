"""Batch jobs over existing objects (`/inventorytriggerjob`): Type Job (one Tag's operation per object)
or Type Workflow (an execution of each listed workflow per object).

A batch walks its bucket listing one page at a time (`PAGE` keys; memory stays flat however many
objects there are) and commits each page's jobs or executions together with the listing cursor and
its counts (`Store.advance_batch`, a compare-and-set): after a restart it goes on from the cursor,
and no object is submitted twice. Submission is bounded: at most `rate` objects a second, and no new
page while `max_waiting` of its jobs/executions have not ended. Counts of objects found, submitted,
succeeded and failed come from the store (the batch's items joined with their states).
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import ids, tags
from ..config import Bucket, Settings
from ..domain.events import Source
from ..domain.jobs import FINAL_STATES
from ..domain.tasks import TASK_ID_PREFIX, TaskKind
from ..errors import CiJobsError, InvalidArgument, NoSuchKey, NoSuchResource
from ..storage import ObjectMeta, Storage
from ..store import JobRecord, Store, TaskRecord
from ..store.flows import BatchFilter, BatchRecord, ExecutionRecord, Step
from .executions import Executions, _states, _time, cos_headers, token, untoken
from .flow_requests import BatchRequest
from .jobs import Jobs
from .paging import int_param
from .requests import JobRequest, Operation
from .variables import expand_known
from .workflows import Workflows

log = logging.getLogger(__name__)
WHERE = "Request"
PAGE = 50
STATES = frozenset({"Submitted", "Running", "Success", "Failed", "Pause", "Cancel"})
INPUT_REFUSED = {"Manifest": "COS inventory manifests are not supported; use Prefix or Object",
                 "UrlFile": "URL list files are not supported; use Prefix or Object"}
JOB_FIELDS = frozenset({"QueueId", "Tag", "JobParam", "UserData", "JobLevel", "CallBack", "CallBackFormat",
                        "CallBackType", "CallBackMqConfig", "TimeInterval"})
WORKFLOW_FIELDS = frozenset({"WorkflowIds", "TimeInterval"})
CALLBACK_FIELDS = ("CallBack", "CallBackFormat", "CallBackType", "CallBackMqConfig")


@dataclass(frozen=True)
class BatchView:
    """A batch job with the states of what it made (counts by state)."""

    batch: BatchRecord
    counts: dict[str, int]


@dataclass(frozen=True)
class BatchPage:
    """A page of batch jobs and the next page's token."""

    batches: list[BatchView]
    next_token: str


class Batches:
    """Create, run, describe, list and cancel batch jobs."""

    def __init__(self, settings: Settings, store: Store, storage: Storage, jobs: Jobs, workflows: Workflows,
                 executions: Executions, rate: float = 500.0, max_waiting: int = 2000) -> None:
        self.settings = settings
        self.store = store
        self.storage = storage
        self.jobs = jobs
        self.workflows = workflows
        self.executions = executions
        self.rate = rate
        self.max_waiting = max_waiting
        self._wake = asyncio.Event()

    # --- requests ---------------------------------------------------------------------------

    async def create(self, bucket: Bucket, request: BatchRequest) -> BatchRecord:
        """Check and commit a batch job; the background loop runs it."""
        name = request.name.strip()
        if not name or len(name) > 128:
            raise InvalidArgument(f"{WHERE}.Name is required (at most 128 characters)")
        source = _input(request.input)
        op = dict(request.operation)
        window = _window(op.get("TimeInterval"))
        if request.kind == "Workflow":
            workflow_ids = await self._check_workflows(bucket, op)
        elif request.kind == "Job":
            workflow_ids = ()
            await self._check_job(bucket, op)
        else:
            raise InvalidArgument(f"{WHERE}.Type must be Job or Workflow")
        record = BatchRecord(ids.new_id("b"), bucket.name, name, request.kind, "Submitted", time.time(),
                             {"Input": request.input, "Operation": request.operation, "Source": source,
                              "Window": window, "Cursor": "", "Found": 0, "Submitted": 0, "Enumerated": False},
                             workflow_ids=workflow_ids)
        await self.store.insert_batch(record)
        self._wake.set()
        return record

    async def _check_workflows(self, bucket: Bucket, op: dict[str, Any]) -> tuple[str, ...]:
        _only(op, WORKFLOW_FIELDS, "Type Workflow")
        wanted = tuple(i.strip() for i in str(op.get("WorkflowIds") or "").split(",") if i.strip())
        if not wanted:
            raise InvalidArgument(f"{WHERE}.Operation.WorkflowIds is required when Type is Workflow")
        for workflow_id in wanted:
            await self.workflows.get(bucket, workflow_id)
        return wanted

    async def _check_job(self, bucket: Bucket, op: dict[str, Any]) -> None:
        _only(op, JOB_FIELDS, "Type Job")
        tag = str(op.get("Tag") or "").strip()
        if tag not in tags.REGISTRY:
            raise InvalidArgument(f"{WHERE}.Operation.Tag is required when Type is Job; supported tags: "
                                  f"{', '.join(sorted(tags.REGISTRY))}")
        try:
            await self.jobs.prepare(self._job_request(bucket, op, "batch/check.mp4", "b" + "0" * 32, ""))
        except CiJobsError as exc:
            raise InvalidArgument(exc.message.replace("Request.Operation", "Request.Operation.JobParam")) from exc

    def _job_request(self, bucket: Bucket, op: Mapping[str, Any], key: str, batch_id: str,
                     task_id: str) -> JobRequest:
        params = expand_known(dict(op.get("JobParam") or {}), input_key=key, batch_id=batch_id)
        for k in ("UserData", "JobLevel"):
            if op.get(k):
                params[k] = op[k]
        return JobRequest(bucket=bucket, input_key=key, operations=(Operation(str(op["Tag"]), params),),
                          queue_id=str(op.get("QueueId") or ""),
                          callback={k: op[k] for k in CALLBACK_FIELDS if op.get(k)},
                          echo={"InventoryTriggerJobId": batch_id}, kind=TaskKind.BATCH, task_id=task_id)

    async def describe(self, bucket: Bucket, batch_id: str) -> BatchView:
        """GET /inventorytriggerjob/<id>."""
        found = await self.store.get_batch(bucket.name, batch_id.strip())
        if found is None:
            raise NoSuchResource(f"The batch job {batch_id} does not exist in bucket {bucket.name}.")
        return BatchView(found, await self.store.batch_counts(found.batch_id))

    async def list(self, bucket: Bucket, params: Mapping[str, str]) -> BatchPage:
        """GET /inventorytriggerjob?type=&orderByTime=&states=&size=&nextToken=&workflowId=&jobId=&name=&..."""
        kind = params.get("type") or ""
        if kind not in ("", "Job", "Workflow"):
            raise InvalidArgument("type must be Job or Workflow")
        order = params.get("orderByTime") or "Desc"
        if order not in ("Desc", "Asc"):
            raise InvalidArgument("orderByTime must be Desc or Asc")
        flt = BatchFilter(kind=kind, states=_states(params.get("states") or "All", STATES),
                          start=_time(params, "startCreationTime"), end=_time(params, "endCreationTime"),
                          ascending=order == "Asc", size=int_param(dict(params), "size", 10, 1, 100),
                          after_seq=untoken(params.get("nextToken") or ""), workflow_id=params.get("workflowId") or "",
                          batch_id=params.get("jobId") or "", name=params.get("name") or "")
        found = await self.store.list_batches(bucket.name, flt)
        views = [BatchView(b, await self.store.batch_counts(b.batch_id)) for b in found]
        return BatchPage(views, token(found[-1].seq) if len(found) == flt.size else "")

    async def cancel(self, bucket: Bucket, batch_id: str) -> None:
        """Stop a batch: nothing more is submitted; what it submitted already runs to its end."""
        for _ in range(8):
            view = await self.describe(bucket, batch_id)
            b = view.batch
            if b.state not in ("Submitted", "Running"):
                raise InvalidArgument(f"batch job {batch_id} has already ended ({b.state}) and cannot be cancelled")
            now = time.time()
            if await self.store.advance_batch(b.batch_id, b.version, "Cancel", b.started or now, now, b.detail,
                                              Step(), now):
                return

    # --- running ----------------------------------------------------------------------------

    async def run(self, poll_seconds: float) -> None:
        """Step every active batch job forever (the background task of every node that runs batches)."""
        while True:
            moved = False
            for b in await self.store.active_batches(100):
                try:
                    moved = await self.step(b) or moved
                except Exception:  # noqa: BLE001 - one batch's trouble stops no other; the next round retries
                    log.exception("batch job %s could not advance", b.batch_id)
            if not moved:
                try:
                    await asyncio.wait_for(self._wake.wait(), poll_seconds)
                except TimeoutError:
                    pass
                self._wake.clear()

    async def step(self, b: BatchRecord) -> bool:
        """One page of a batch (or its end once everything it submitted ended); True if it moved."""
        bucket = self.settings.bucket(b.bucket)
        if bucket is None:
            return False
        counts = await self.store.batch_counts(b.batch_id)
        ended = sum(n for s, n in counts.items() if s in FINAL_STATES)
        detail = dict(b.detail)
        started = b.started or time.time()
        if detail.get("Enumerated"):
            if ended < int(detail.get("Submitted", 0)):
                return False
            now = time.time()
            return await self.store.advance_batch(b.batch_id, b.version, "Success", started, now, detail, Step(), now)
        if int(detail.get("Submitted", 0)) - ended >= self.max_waiting:
            return False
        t0 = time.monotonic()
        objects, cursor, more = await self._page(bucket, detail)
        step = await self._submit(bucket, b, objects)
        detail.update(Cursor=cursor, Enumerated=not more, Found=int(detail.get("Found", 0)) + len(objects),
                      Submitted=int(detail.get("Submitted", 0)) + len(step.items))
        if not await self.store.advance_batch(b.batch_id, b.version, "Running", started, None, detail, step,
                                              time.time()):
            return True  # another node took this page: read again
        for e in step.executions:
            self.executions.kick(e.bucket, e.run_id)
        await asyncio.sleep(max(0.0, len(objects) / self.rate - (time.monotonic() - t0)))
        return True

    async def _page(self, bucket: Bucket, detail: Mapping[str, Any]) -> tuple[builtins.list[ObjectMeta], str, bool]:
        """The next page of matching objects, the cursor after it, and whether more may follow."""
        source, window = detail["Source"], detail.get("Window") or {}
        if "Object" in source:
            try:
                return _within([await self.storage.head(bucket.name, source["Object"])], window), "", False
            except NoSuchKey:
                return [], "", False
        listed = await self.storage.list(bucket.name, source.get("Prefix", ""), str(detail.get("Cursor") or ""), PAGE)
        objects = [o for o in listed.objects if not o.key.endswith("/")]
        cursor = listed.next_marker or (listed.objects[-1].key if listed.objects else "")
        return _within(objects, window), cursor, listed.is_truncated

    async def _submit(self, bucket: Bucket, b: BatchRecord, objects: builtins.list[ObjectMeta]) -> Step:
        if b.kind == "Workflow":
            made: builtins.list[ExecutionRecord] = []
            for workflow_id in b.workflow_ids:
                try:
                    w = await self.workflows.get(bucket, workflow_id)
                except NoSuchResource:
                    continue  # deleted since: its objects are not submitted (Found counts them still)
                made += [self.executions.new_execution(bucket, w, o.key, cos_headers(o, Source.PUT), b.batch_id)
                         for o in objects]
            return Step(executions=made, items=[e.run_id for e in made])
        task_id = ids.new_id(TASK_ID_PREFIX)
        jobs: builtins.list[JobRecord] = []
        op = b.detail["Operation"]
        for o in objects:
            try:
                jobs += await self.jobs.prepare(self._job_request(bucket, op, o.key, b.batch_id, task_id))
            except CiJobsError as exc:
                log.warning("batch job %s: object %s not submitted: %s", b.batch_id, o.key, exc.message)
        if not jobs:
            return Step()
        task = TaskRecord(task_id, bucket.name, TaskKind.BATCH, "ci", time.time(), tuple(j.job_id for j in jobs),
                          {"BatchId": b.batch_id})
        return Step(jobs=jobs, task=task, items=[j.job_id for j in jobs])


def _only(op: Mapping[str, Any], allowed: frozenset[str], kind: str) -> None:
    for key in op:
        if key == "FreeTranscode":
            raise InvalidArgument(f"{WHERE}.Operation.FreeTranscode is not supported by this server")
        if key not in allowed:
            raise InvalidArgument(f"{WHERE}.Operation.{key} is not a field of a {kind} batch job; "
                                  f"use {', '.join(sorted(allowed))}")


def _input(value: Mapping[str, Any]) -> dict[str, str]:
    """Which objects: {"Prefix": p} or {"Object": key} (exactly one of Prefix, Object, Manifest, UrlFile)."""
    for key in value:
        if key in INPUT_REFUSED:
            raise InvalidArgument(f"{WHERE}.Input.{key} is not supported: {INPUT_REFUSED[key]}")
        if key not in ("Prefix", "Object"):
            raise InvalidArgument(f"{WHERE}.Input.{key} is not an Input field; use Prefix or Object")
    if len(value) != 1:
        raise InvalidArgument(f"{WHERE}.Input needs exactly one of Prefix and Object")
    key, text = next(iter(value.items()))
    if key == "Object" and not str(text or "").strip():
        raise InvalidArgument(f"{WHERE}.Input.Object must name an object")
    return {key: str(text or "").removeprefix("/") if key == "Prefix" else str(text)}


def _window(value: Any) -> dict[str, float]:
    """TimeInterval (Start, End) on the objects' Last-Modified; absent ends are open."""
    if value in (None, ""):
        return {}
    if not isinstance(value, Mapping) or set(value) - {"Start", "End"}:
        raise InvalidArgument(f"{WHERE}.Operation.TimeInterval holds Start and End")
    out = {}
    for k in ("Start", "End"):
        if value.get(k):
            try:
                out[k] = ids.parse_time(str(value[k]))
            except ValueError as exc:
                raise InvalidArgument(f"{WHERE}.Operation.TimeInterval.{k}: {exc}") from exc
    if "Start" in out and "End" in out and out["Start"] > out["End"]:
        raise InvalidArgument(f"{WHERE}.Operation.TimeInterval.Start is after its End")
    return out


def _within(objects: list[ObjectMeta], window: Mapping[str, float]) -> list[ObjectMeta]:
    start, end = window.get("Start"), window.get("End")
    return [o for o in objects if (start is None or o.last_modified >= start)
            and (end is None or o.last_modified <= end)]
