"""Job use cases: submit (templates resolved, rules checked, queue and callback settled), describe, list,
cancel, and the tasks that group them. Knows no wire format: a protocol's codec hands in a JobRequest."""

from __future__ import annotations

import base64
import binascii
import logging
import time
from dataclasses import dataclass
from typing import Any

from .. import ids, tags, xmlio
from ..config import Bucket, Settings
from ..domain import priority
from ..domain.tasks import TASK_ID_PREFIX, TaskKind, TaskState, task_state
from ..errors import InvalidArgument
from ..outbound import check_url
from ..storage import safe_key
from ..store import JobFilter, JobRecord, JobState, Store, TaskRecord
from .paging import int_param
from .queues import Queues, check_mq_broker
from .requests import JobRequest, Operation
from .templates import Templates
from .templates import inline as template_inline

MAX_OPERATIONS = 6
MAX_IDS = 10
MAX_TASK_PAGE = 100
STATES = frozenset(s.value for s in JobState)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobPage:
    """A page of jobs and the token of the next page ('' at the end)."""

    jobs: list[JobRecord]
    next_token: str


@dataclass(frozen=True)
class TaskView:
    """A task with its jobs (in the task's order) and the state derived from them."""

    task: TaskRecord
    jobs: list[JobRecord]
    state: TaskState


@dataclass(frozen=True)
class TaskPage:
    """A page of tasks (newest first) and the token of the next page ('' at the end)."""

    tasks: list[TaskView]
    next_token: str


class Jobs:
    """Submit, describe, list and cancel jobs of a bucket."""

    def __init__(self, settings: Settings, store: Store, queues: Queues, templates: Templates) -> None:
        self.settings = settings
        self.store = store
        self.queues = queues
        self.templates = templates

    async def submit(self, request: JobRequest) -> list[JobRecord]:
        """Check every operation of the request and commit its jobs with their Task atomically (all or none)."""
        jobs = await self.prepare(request)
        if not jobs:
            return []
        task = TaskRecord(task_id=jobs[0].task_id, bucket=request.bucket.name, kind=request.kind or TaskKind.REQUEST,
                          origin=request.origin, created=jobs[0].created, job_ids=tuple(j.job_id for j in jobs),
                          detail=request.detail)
        stored = await self.store.insert_jobs(jobs, task)
        if log.isEnabledFor(logging.INFO):
            for job in stored:
                log.info("job %s submitted: %s of %s in queue %s, task %s (%s)", job.job_id, job.tag, job.bucket,
                         job.queue_id, task.task_id, request.origin)
        return stored

    async def prepare(self, request: JobRequest) -> list[JobRecord]:
        """The request's jobs checked and ready to commit (in its Task `request.task_id`, or a new one), not
        yet stored: for a use case that commits them together with its own step (a workflow execution)."""
        if len(request.operations) > MAX_OPERATIONS:
            raise InvalidArgument(f"Request.Operation may occur at most {MAX_OPERATIONS} times")
        task_id = request.task_id or ids.new_id(TASK_ID_PREFIX)
        jobs = []
        for i, op in enumerate(request.operations):  # each checked as a whole before the next: its error first
            jobs.append(await self._prepare(request, op, task_id, probe=request.probe_input and i == 0))
        return jobs

    async def _prepare(self, request: JobRequest, op: Operation, task_id: str, probe: bool = False) -> JobRecord:
        """The operation checked, then the queue and the callback; the job in `task_id` (`probe`: it also
        reports its input's MediaInfo, JobResult.input_info: one job of an MPS task, for its MetaData)."""
        bucket, spec = request.bucket, tags.spec(op.tag)
        operation = xmlio.copy_tree(op.params)
        resolved = await self._resolve_templates(bucket, op.tag, operation)
        self._check_operation(bucket, op.tag, resolved)
        raw_key = request.input_key
        needed = spec.needs_input and not request.input_url
        key = _key("Request.Input.Object", raw_key) if raw_key or needed else ""
        stored: dict[str, Any] = {"Tag": op.tag, "Input": {"Object": key, "BucketId": bucket.name,
                                                           "Region": bucket.region}}
        if not key:
            del stored["Input"]["Object"]  # Concat may come without an Input
        if request.input_url:
            stored["Input"]["Url"] = request.input_url
        stored["Operation"] = operation
        if resolved is not operation:
            stored["Resolved"] = resolved
        stored.update({k: v for k, v in request.echo.items() if v})
        stored.update({k: v for k, v in request.callback.items() if v})
        if request.origin != "ci":
            stored["Origin"] = request.origin
        if probe:
            stored["ProbeInput"] = True
        level = request.level if request.level is not None else priority.from_job_level(_job_level(operation))
        queue = await self.queues.resolve(bucket, request.queue_id)
        self._check_callback(request.callback)
        return JobRecord(job_id=ids.new_id(spec.id_prefix), bucket=bucket.name, queue_id=queue.queue_id, tag=op.tag,
                         state=JobState.SUBMITTED, level=level, created=time.time(), spec=stored, task_id=task_id)

    async def _resolve_templates(self, bucket: Bucket, tag: str, operation: dict[str, Any]) -> dict[str, Any]:
        """The operation the driver runs: TemplateId wins over inline parameters, and
        WatermarkTemplateId over Watermark. The echo gains TemplateName."""
        template_id = str(operation.get("TemplateId") or "").strip()
        wm_ids = [str(i).strip() for i in xmlio.as_list(operation.get("WatermarkTemplateId")) if str(i).strip()]
        tc_id = str(operation.get("TranscodeTemplateId") or "").strip()
        if not template_id and not wm_ids and not tc_id:
            return operation
        resolved: dict[str, Any] = xmlio.copy_tree(operation)
        if tc_id:  # the enhancement Tags' transcode, over an inline Transcode
            t = await self.templates.get(bucket, tc_id)
            kind = tags.TEMPLATE_KINDS[t.tag]
            if t.tag != tags.transcode.SPEC.name:
                raise InvalidArgument(f"Request.Operation.TranscodeTemplateId {tc_id} is a {t.tag} template")
            resolved[kind.inline] = template_inline(t)
        if template_id:
            t = await self.templates.get(bucket, template_id)
            kind = tags.TEMPLATE_KINDS[t.tag]
            if tag not in (t.tag, kind.stands_for):
                raise InvalidArgument(f"Request.Operation.TemplateId {template_id} is a {t.tag} template, "
                                      f"not a {tag} one")
            resolved[kind.inline] = kind.apply(template_inline(t))
            operation["TemplateName"] = t.name
        if wm_ids:
            if len(wm_ids) > 3:
                raise InvalidArgument("Request.Operation.WatermarkTemplateId may occur at most 3 times")
            marks = []
            for wm in wm_ids:
                t = await self.templates.get(bucket, wm)
                if t.tag != tags.watermark.NAME:
                    raise InvalidArgument(f"Request.Operation.WatermarkTemplateId {wm} is a {t.tag} template")
                marks.append(template_inline(t))
            resolved["Watermark"] = marks if len(marks) > 1 else marks[0]
        return resolved

    def _check_operation(self, bucket: Bucket, tag: str, operation: dict[str, Any]) -> None:
        tags.check_operation(tag, operation)
        tags.check_references(tag, operation, bucket.name)
        out = operation.get("Output")
        if isinstance(out, dict):
            target = self.settings.bucket(str(out.get("Bucket", "")))
            if target is None or target.appid != bucket.appid:
                raise InvalidArgument(f"Request.Operation.Output.Bucket {out.get('Bucket')} does not exist "
                                      "or belongs to another account")
            if out.get("Region") and out["Region"] != target.region:
                raise InvalidArgument(f"Request.Operation.Output.Region {out['Region']} does not match the "
                                      f"region {target.region} of bucket {target.name}")
            for field in ("Object", "SpriteObject"):
                if out.get(field):
                    _key(f"Request.Operation.Output.{field}", out[field])
        user_data = str(operation.get("UserData") or "")
        if len(user_data) > 1024:
            raise InvalidArgument("Request.Operation.UserData is longer than 1024 characters")

    def _check_callback(self, callback: dict[str, Any]) -> None:
        url = str(callback.get("CallBack") or "")
        kind = str(callback.get("CallBackType") or "Url")
        if kind == "TDMQ" and not isinstance(callback.get("CallBackMqConfig"), dict):
            raise InvalidArgument("Request.CallBackMqConfig is required when CallBackType is TDMQ")
        if kind == "TDMQ":
            check_mq_broker(self.settings, str(callback["CallBackMqConfig"].get("MqRegion") or ""),
                            "Request.CallBackMqConfig")
        if url and url.lower() != "no" and kind != "TDMQ":
            check_url(url, self.settings.callbacks.policy)

    async def describe(self, bucket: Bucket, job_ids: str) -> tuple[list[JobRecord], list[str]]:
        """Jobs by comma-separated ids, and the ids that do not exist."""
        wanted = _ids(job_ids)
        found = await self.store.get_jobs(bucket.name, wanted)
        have = {j.job_id for j in found}
        return found, [i for i in wanted if i not in have]

    async def list(self, bucket: Bucket, params: dict[str, str]) -> JobPage:
        """A page of jobs for GET /jobs."""
        flt = _job_filter(params)
        jobs = await self.store.list_jobs(bucket.name, flt)
        return JobPage(jobs, _token(jobs[-1].seq) if len(jobs) == flt.size else "")

    async def cancel(self, bucket: Bucket, job_ids: str) -> None:
        """Cancel jobs: waiting ones at once, running ones within a heartbeat."""
        for job_id in _ids(job_ids):
            job = await self.store.cancel_job(bucket.name, job_id, time.time())
            if job is None:
                raise InvalidArgument(f"job {job_id} does not exist")
            if job.state in (JobState.SUCCESS, JobState.FAILED):
                raise InvalidArgument(f"job {job_id} has already finished ({job.state}) and cannot be cancelled")


    async def task(self, bucket: Bucket, task_id: str) -> TaskView | None:
        """A task of the bucket with its jobs and derived state; None when it does not exist."""
        task = await self.store.get_task(bucket.name, task_id.strip())
        if task is None:
            return None
        return (await _views(self.store, bucket, [task]))[0]

    async def tasks(self, bucket: Bucket, size: int = 10, next_token: str = "") -> TaskPage:
        """A page of the bucket's tasks, newest first, each with its jobs and derived state."""
        if not 1 <= size <= MAX_TASK_PAGE:
            raise InvalidArgument(f"size must be between 1 and {MAX_TASK_PAGE}")
        found = await self.store.list_tasks(bucket.name, size, _untoken(next_token))
        views = await _views(self.store, bucket, found)
        return TaskPage(views, _token(found[-1].seq) if len(found) == size else "")

    async def task_page(self, bucket: Bucket, size: int, before_seq: int | None = None) -> tuple[TaskView, ...]:
        """Up to `size` of the bucket's tasks older than `before_seq` (newest first), with jobs and states:
        for a protocol that keeps its own cursor over them (MPS's ScrollToken)."""
        return tuple(await _views(self.store, bucket, await self.store.list_tasks(bucket.name, size, before_seq)))


async def _views(store: Store, bucket: Bucket, found: list[TaskRecord]) -> list[TaskView]:
    """The tasks with their jobs (one read for all of them) and their derived states."""
    jobs = {j.job_id: j for j in await store.get_jobs(bucket.name, [i for t in found for i in t.job_ids])}
    views = []
    for t in found:
        members = [jobs[i] for i in t.job_ids if i in jobs]
        views.append(TaskView(t, members, task_state(j.state for j in members)))
    return views


def _ids(job_ids: str) -> list[str]:
    wanted = [i.strip() for i in job_ids.split(",") if i.strip()]
    if not wanted or len(wanted) > MAX_IDS:
        raise InvalidArgument(f"between 1 and {MAX_IDS} job ids are required")
    return wanted


def _job_level(operation: dict[str, Any]) -> int:
    """Operation.JobLevel: 0 (absent or empty), 1 or 2. POST /jobs bodies meet it by their XSD already;
    a batch's or a workflow's job parameters come here without one."""
    raw = str(operation.get("JobLevel") or "").strip()
    if raw in ("", "0", "1", "2"):
        return int(raw or 0)
    raise InvalidArgument(f"Request.Operation.JobLevel {raw[:64]} must be 0, 1 or 2")


def _key(where: str, value: Any) -> str:
    try:
        return safe_key(str(value))
    except InvalidArgument as exc:
        raise InvalidArgument(f"{where} is invalid: {exc.message}") from exc


def _token(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode()


def _untoken(token: str) -> int | None:
    if not token:
        return None
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        return int(text.removeprefix("seq:"))
    except (ValueError, binascii.Error) as exc:
        raise InvalidArgument(f"nextToken {token!r} is invalid") from exc


def _job_filter(params: dict[str, str]) -> JobFilter:
    tag = (params.get("tag") or "").strip()
    if not tag:
        raise InvalidArgument("tag is required")
    states = frozenset(s.strip() for s in (params.get("states") or "All").split(",") if s.strip())
    unknown = states - STATES - {"All"}
    if unknown:
        raise InvalidArgument(f"states {','.join(sorted(unknown))} invalid; use All or {', '.join(sorted(STATES))}")
    order = params.get("orderByTime") or "Desc"
    if order not in ("Desc", "Asc"):
        raise InvalidArgument("orderByTime must be Desc or Asc")
    times = {}
    for name in ("startCreationTime", "endCreationTime"):
        if params.get(name):
            try:
                times[name] = ids.parse_time(params[name])
            except ValueError as exc:
                raise InvalidArgument(f"{name}: {exc}") from exc
    return JobFilter(tag=tag, queue_id=params.get("queueId") or "",
                     states=frozenset() if "All" in states else states,
                     start=times.get("startCreationTime"), end=times.get("endCreationTime"),
                     ascending=order == "Asc", size=int_param(params, "size", 10, 1, 100),
                     after_seq=_untoken(params.get("nextToken") or ""),
                     input_object=params.get("inputObject") or "",
                     workflow_id=(params.get("workflowId") or "").strip(),
                     batch_id=(params.get("inventoryTriggerJobId") or "").strip())
