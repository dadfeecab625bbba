"""The MPS actions ci-jobs serves and their handlers: ProcessMedia, DescribeTaskDetail, DescribeTasks.

Each handler reads its request model at the edge (schema), calls the use cases and answers with the
presenter's dicts. `changes` marks the actions whose signatures may be used only once (replay.py).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ...app.jobs import TaskView
from ...app.service import Service
from ...config import Account, Bucket, Settings
from ...ids import parse_time
from ..keys import SERVICE
from . import presenter, schema
from .codec import process_media as decode_process_media
from .errors import InvalidParameterValue, MissingParameter, ResourceNotFound

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
    """ProcessMedia: one Task of the engine, one job per subtask; answers its TaskId."""
    request = decode_process_media(call.params, call.account, call.settings)
    created = await call.service.jobs.submit(request)
    return {"TaskId": presenter.task_id(call.account.appid, created[0].task_id)}


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
        for bucket in call.buckets():
            view = await call.service.jobs.task(bucket, engine_id)
            if view is not None and view.task.origin == "mps":
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


ACTIONS: dict[str, Action] = {
    "ProcessMedia": Action(process_media, changes=True),
    "DescribeTaskDetail": Action(describe_task_detail, changes=False),
    "DescribeTasks": Action(describe_tasks, changes=False),
}
