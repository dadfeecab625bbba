"""The MPS actions ci-jobs serves and their handlers: ProcessMedia, DescribeTaskDetail, DescribeTasks,
ManageTask, DescribeMediaMetaData and ParseNotification.

Each handler reads its request model at the edge (schema), calls the use cases and answers with the
presenter's dicts. `changes` marks the actions whose signatures may be used only once (replay.py).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ...app.jobs import TaskView
from ...app.service import Service
from ...config import Account, Bucket, Settings
from ...domain.tasks import TaskState
from ...errors import CiJobsError
from ...ids import parse_time
from ...store import Callback, JobState
from ..keys import SERVICE, SYNC
from . import notify, presenter, schema, session, templates
from .codec import media_input
from .codec import process_media as decode_process_media
from .errors import InvalidParameterValue, MissingParameter, MpsError, ResourceNotFound
from .template_kinds import Library

log = logging.getLogger(__name__)

MAX_LIMIT = 100
_SCAN = 100


@dataclass(frozen=True)
class Call:
    """One authenticated call: its parameters, the account that signed it, settings and the request."""

    params: dict[str, Any]
    account: Account
    settings: Settings
    request: web.Request

    @property
    def service(self) -> Service:
        """The use cases."""
        return self.request.app[SERVICE]

    def buckets(self) -> list[Bucket]:
        """The account's buckets, in configuration order."""
        return [b for b in self.settings.buckets if b.appid == self.account.appid]


@dataclass(frozen=True)
class Action:
    """A handler and whether it changes state (its signature is then good for one call)."""

    run: Callable[[Call], Awaitable[dict[str, Any]]]
    changes: bool


async def process_media(call: Call) -> dict[str, Any]:
    """ProcessMedia: one Task of the engine, one job per subtask; answers its TaskId (SessionId: the first's)."""
    library = Library({})
    if call.buckets():
        library = await templates.library(call.service.templates, templates.default_bucket(call.buckets()),
                                          call.account.appid, _named_definitions(call.params))
    request = decode_process_media(call.params, call.account, call.settings, library)
    session_id = str(call.params.get("SessionId") or "")
    if session_id:
        engine_id = await session.submit(request, call.account.appid, session_id, lambda i: _find(call, i),
                                         call.service.jobs.submit)
    else:
        engine_id = (await call.service.jobs.submit(request))[0].task_id
    return {"TaskId": presenter.task_id(call.account.appid, engine_id)}


_SETS = {"TranscodeTaskSet": "Transcode", "AnimatedGraphicTaskSet": "AnimatedGraphics",
         "SnapshotByTimeOffsetTaskSet": "SnapshotByTimeOffset", "SampleSnapshotTaskSet": "SampleSnapshot",
         "ImageSpriteTaskSet": "ImageSprite", "AdaptiveDynamicStreamingTaskSet": "AdaptiveDynamicStreaming"}


def _named_definitions(params: Any) -> list[tuple[str, int]]:
    """The (kind, Definition) pairs a ProcessMedia body names, read loosely (the codec checks the body)."""
    task = params.get("MediaProcessTask") if isinstance(params, dict) else None
    out: list[tuple[str, int]] = []
    for name, kind in _SETS.items():
        items = task.get(name) if isinstance(task, dict) else None
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict):
                out.extend(_definitions(item, kind))
    return out


def _definitions(item: dict[str, Any], kind: str) -> list[tuple[str, int]]:
    found = [(kind, item.get("Definition"))]
    marks = item.get("WatermarkSet")
    found += [("Watermark", m.get("Definition")) for m in (marks if isinstance(marks, list) else [])
              if isinstance(m, dict)]
    out = []
    for k, d in found:
        try:
            out.append((k, int(str(d))))
        except ValueError:
            continue
    return out


async def _meta_data(call: Call, bucket: Bucket, key: str) -> dict[str, Any]:
    """MPS's MetaData of an object, probed in the synchronous process pool (DescribeMediaMetaData)."""
    sync = call.request.app.get(SYNC)
    if sync is None:
        raise MpsError("This node probes no media (it runs without the synchronous process pool).")
    return await sync.media_view(bucket.name, key, presenter.meta_data)


async def _find(call: Call, engine_id: str) -> TaskView | None:
    for bucket in call.buckets():
        view = await call.service.jobs.task(bucket, engine_id)
        if view is not None and view.task.origin == "mps":
            return view
    return None


async def describe_task_detail(call: Call) -> dict[str, Any]:
    """DescribeTaskDetail: the task, its status and each subtask's result."""
    params = schema.read(call.params, schema.DESCRIBE_TASK_DETAIL, "")
    if not params.get("TaskId"):
        raise MissingParameter("TaskId is required.")
    view = await _task(call, params["TaskId"])
    return presenter.task_detail(view, call.account.appid)


async def _task(call: Call, mps_id: str) -> TaskView:
    found = presenter.engine_id(mps_id)
    if found is None:
        raise InvalidParameterValue(f"TaskId {mps_id} is not an MPS task id (<appid>-WorkflowTask-<32 hex>t0).",
                                    sub="TaskId")
    appid, engine_id = found
    if appid == call.account.appid:
        view = await _find(call, engine_id)
        if view is not None:
            return view
    raise ResourceNotFound(f"The task {mps_id} does not exist.", sub="TaskNotFound")


async def describe_tasks(call: Call) -> dict[str, Any]:
    """DescribeTasks: the account's MPS tasks, newest first per bucket, filtered, a page at a time."""
    params = schema.read(call.params, schema.DESCRIBE_TASKS, "")
    keep = _filter(params)
    limit = int(params.get("Limit", 10))
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidParameterValue(f"Limit {limit} must be within [1, {MAX_LIMIT}].", sub="Limit")
    after = _untoken(params.get("ScrollToken", ""))
    matching = [(i, v) for i, v in await _all_tasks(call) if keep(v)]
    start = 0
    if after is not None:
        start = next((n for n, (i, v) in enumerate(matching) if (i, -v.task.seq) > (after[0], -after[1])),
                     len(matching))
    page = matching[start:start + limit]
    more = start + limit < len(matching)
    token = _token(page[-1][0], page[-1][1].task.seq) if page and more else ""
    return {"TaskSet": [presenter.task_simple(v, call.account.appid) for _, v in page], "ScrollToken": token,
            "TotalCount": len(matching)}


async def _all_tasks(call: Call) -> list[tuple[int, TaskView]]:
    """Every MPS task of the account with its bucket's index, newest first within each bucket."""
    out: list[tuple[int, TaskView]] = []
    for index, bucket in enumerate(call.buckets()):
        before: int | None = None
        while True:
            views = await call.service.jobs.task_page(bucket, _SCAN, before)
            out.extend((index, v) for v in views if v.task.origin == "mps")
            if len(views) < _SCAN:
                break
            before = views[-1].task.seq
    return out


def _filter(params: dict[str, Any]) -> Callable[[TaskView], bool]:
    status = params.get("Status", "")
    if status and status not in presenter.STATUS.values():
        raise InvalidParameterValue(f"Status {status} must be WAITING, PROCESSING or FINISH.", sub="Status")
    failed = params.get("SubTaskHasFailed")
    times = {}
    for name in ("StartTime", "EndTime"):
        if params.get(name):
            try:
                times[name] = parse_time(params[name])
            except ValueError as exc:
                raise InvalidParameterValue(f"{name} {params[name]!r} must be ISO 8601, e.g. "
                                            "2019-07-01T12:00:00Z.") from exc

    def keep(view: TaskView) -> bool:
        if status and presenter.STATUS[view.state] != status:
            return False
        if failed is not None and (presenter.STATUS[view.state] != "FINISH"
                                   or presenter.subtask_failed(view) != failed):
            return False
        created = view.task.created
        return times.get("StartTime", created) <= created and ("EndTime" not in times or created < times["EndTime"])

    return keep


def _token(index: int, seq: int) -> str:
    return base64.urlsafe_b64encode(f"{index}:{seq}".encode()).decode().rstrip("=")


def _untoken(token: str) -> tuple[int, int] | None:
    if not token:
        return None
    try:
        index, seq = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().split(":")
        return int(index), int(seq)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidParameterValue(f"ScrollToken {token!r} is not one this server gave.") from exc


async def manage_task(call: Call) -> dict[str, Any]:
    """ManageTask Abort: cancel the task's unfinished jobs (waiting ones at once, running ones within a heartbeat)."""
    params = schema.read(call.params, schema.MANAGE_TASK, "")
    for name in ("OperationType", "TaskId"):
        if not params.get(name):
            raise MissingParameter(f"{name} is required.")
    if params["OperationType"] != "Abort":
        raise InvalidParameterValue(f"OperationType {params['OperationType']} is not supported: ci-jobs aborts "
                                    "tasks (Abort).", sub="OperationType")
    view = await _task(call, params["TaskId"])
    if view.state == TaskState.FINISHED:
        raise InvalidParameterValue(f"The task {params['TaskId']} has finished already.", sub="NotProcessingTask")
    bucket = call.settings.bucket(view.task.bucket)
    assert bucket is not None  # _task found it in one of the account's buckets
    unfinished = [j for j in view.jobs if j.state not in (JobState.SUCCESS, JobState.FAILED, JobState.CANCEL)]
    for job in unfinished:
        try:
            await call.service.jobs.cancel(bucket, job.job_id)
        except CiJobsError as exc:  # it finished meanwhile: nothing left to abort there
            log.info("ManageTask Abort: job %s: %s", job.job_id, exc.message)
    await _notify_if_none_ran(call, bucket, view)
    return {}


async def _notify_if_none_ran(call: Call, bucket: Bucket, view: TaskView) -> None:
    """A task aborted before any of its jobs ran has no job outcome to notify from: give it one entry."""
    if not view.task.detail.get("TaskNotifyConfig"):
        return
    after = await call.service.jobs.task(bucket, view.task.task_id)
    if after is None or after.state != TaskState.FINISHED or any(j.started is not None for j in after.jobs):
        return
    body, ctype = notify.task_finish(after.jobs[0], "JSON")
    await call.service.store.add_callbacks([Callback(target={"type": notify.TARGET}, body=body, content_type=ctype,
                                                     job_id=after.jobs[0].job_id)], time.time())


async def describe_media_meta_data(call: Call) -> dict[str, Any]:
    """DescribeMediaMetaData: the MetaData of a COS object of this server, probed in the synchronous pool."""
    params = schema.read(call.params, schema.DESCRIBE_MEDIA_META_DATA, "")
    if "InputInfo" not in params:
        raise MissingParameter("InputInfo is required.")
    if params.get("Mode", 0) != 0:
        raise InvalidParameterValue(f"Mode {params['Mode']} is not supported: ci-jobs reads the full metadata "
                                    "(Mode 0).", sub="Mode")
    source = media_input(params["InputInfo"], call.account, call.settings)
    return {"MetaData": await _meta_data(call, source.bucket, source.key)}


async def parse_notification(call: Call) -> dict[str, Any]:
    """ParseNotification: an MPS event notification's JSON (a callback body, an MQ message) as its fields."""
    params = schema.read(call.params, schema.PARSE_NOTIFICATION, "")
    if not params.get("Content"):
        raise MissingParameter("Content is required.")
    try:
        event = json.loads(params["Content"])
    except (ValueError, RecursionError) as exc:
        raise InvalidParameterValue(f"Content is not JSON: {exc}.", sub="InvalidContent") from exc
    if not isinstance(event, dict) or not isinstance(event.get("EventType"), str):
        raise InvalidParameterValue("Content is not an MPS event notification (no EventType).", sub="InvalidContent")
    out = {k: event[k] for k in _NOTIFICATION_FIELDS if event.get(k) is not None}
    for name, value in out.items():
        kind = _NOTIFICATION_FIELDS[name]
        if not isinstance(value, kind) or isinstance(value, bool):  # the SDK reads these into its models
            raise InvalidParameterValue(f"Content.{name} must be a JSON {_JSON_KINDS[kind]}.", sub="InvalidContent")
    return out


# ParseNotificationResponse's fields and the JSON kind each holds (an event is an object the SDK reads into
# its model: a string or an array there made the SDK itself fail).
_NOTIFICATION_FIELDS: dict[str, type] = {
    "EventType": str, "WorkflowTaskEvent": dict, "EditMediaTaskEvent": dict, "SessionId": str,
    "SessionContext": str, "ScheduleTaskEvent": dict, "Timestamp": int, "Sign": str, "BatchTaskEvent": dict,
    "ExtractBlindWatermarkTask": dict}
_JSON_KINDS = {str: "string", dict: "object", int: "integer"}


ACTIONS: dict[str, Action] = {
    "ProcessMedia": Action(process_media, changes=True),
    "DescribeTaskDetail": Action(describe_task_detail, changes=False),
    "DescribeTasks": Action(describe_tasks, changes=False),
    "ManageTask": Action(manage_task, changes=True),
    "DescribeMediaMetaData": Action(describe_media_meta_data, changes=False),
    "ParseNotification": Action(parse_notification, changes=False),
    **{name: Action(run, changes) for name, (run, changes) in templates.actions().items()},
}
