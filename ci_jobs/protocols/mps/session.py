"""SessionId deduplication: a second ProcessMedia with the same SessionId within 3 days gets the first TaskId.

Durable without a table of its own: the Task's id is derived from (APPID, SessionId, 3-day window),
so the store's unique task id is the dedup key, and two racing requests cannot both commit (the
store refuses a second task with an id it has, jobs and all; tests/store holds every adapter to
it). A task of the same SessionId made less than 3 days ago lies in this window or the one before,
so both derived ids are looked up before submitting. MPS itself answers a repeat with the error
InvalidParameterValue.SessionId; ci-jobs answers with the first task's TaskId, which is what a
retrying client needs (the SDK cannot read a TaskId out of an error).
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Awaitable, Callable

from ...app.jobs import TaskView
from ...app.requests import JobRequest
from ...domain.tasks import TASK_ID_PREFIX
from ...errors import StoreError
from ...store import JobRecord

WINDOW = 3 * 86400  # seconds: MPS's dedup period

Find = Callable[[str], Awaitable[TaskView | None]]  # an engine task id -> the account's MPS task


def task_id(appid: str, session_id: str, window: int) -> str:
    """The engine Task id of a SessionId in a 3-day window (`k` + 32 hex)."""
    digest = hashlib.sha256(f"mps-session\n{appid}\n{session_id}\n{window}".encode()).hexdigest()
    return TASK_ID_PREFIX + digest[:32]


async def submit(request: JobRequest, appid: str, session_id: str, find: Find,
                 submit_jobs: Callable[[JobRequest], Awaitable[list[JobRecord]]],
                 now: float | None = None) -> str:
    """The engine Task id of this SessionId's task: the one made within 3 days, else a new one."""
    now = time.time() if now is None else now
    window = int(now // WINDOW)
    for candidate in (task_id(appid, session_id, window - 1), task_id(appid, session_id, window)):
        found = await find(candidate)
        if found is not None and found.task.created > now - WINDOW:
            return found.task.task_id
    mine = task_id(appid, session_id, window)
    try:
        created = await submit_jobs(dataclasses.replace(request, task_id=mine))
    except StoreError:
        found = await find(mine)  # a request with the same SessionId committed first
        if found is None:
            raise
        return found.task.task_id
    return created[0].task_id
