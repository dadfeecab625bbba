"""Row <-> record mapping shared by the SQL adapters (both keep JSON as text and times as unix seconds),
and the check of a task against its jobs that every adapter makes before an insert."""

from __future__ import annotations

import functools
import json
import json.encoder
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

from ..errors import StoreError
from .records import Callback, CallbackStatus, JobRecord, QueueRecord, TaskRecord, TemplateRecord

JOB_COLUMNS = ("seq, job_id, bucket, queue_id, tag, state, level, created, started, ended, progress, "
               "code, message, spec, result, attempts, cancel_requested, task_id")
QUEUE_COLUMNS = ("queue_id, bucket, name, state, max_concurrent, max_size, notify, category, created, "
                 "updated, running")
TEMPLATE_COLUMNS = "template_id, bucket, name, tag, params, created, updated"
CALLBACK_COLUMNS = "callback_id, job_id, target, body, content_type, attempts"
TASK_COLUMNS = "seq, task_id, bucket, kind, origin, created, job_ids, detail"
JOB_VALUES = ("job_id", "bucket", "queue_id", "tag", "state", "level", "created", "spec", "input_object", "task_id")
TASK_VALUES = ("task_id", "bucket", "kind", "origin", "created", "job_ids", "detail")


class JobInsert(NamedTuple):
    """One caller's insert in a group-committed batch: its jobs and the task they form (if any)."""

    jobs: list[JobRecord]
    task: TaskRecord | None


class Row(Protocol):
    """A result row of either driver (sqlite3.Row, asyncpg.Record): values by column name."""

    def __getitem__(self, key: str, /) -> Any: ...


def _json_text() -> Callable[[Any], str]:
    """`json.dumps(value, ensure_ascii=False)`, with one C encoder made once instead of a JSONEncoder and
    a C encoder per call (6.3 -> 2.9 us for a job's spec; a submitted job writes two or three). It skips
    json's check for circular containers: the values written are trees (parsed bodies, records), and a
    cycle would still fail, as a RecursionError. Where CPython's C encoder is missing, json.dumps it is."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return functools.partial(json.dumps, ensure_ascii=False)
    encode = make(None, json.JSONEncoder().default, json.encoder.encode_basestring, None, ": ", ", ",
                  False, False, True)

    def text(value: Any) -> str:
        return "".join(encode(value, 0))
    return text


json_text = _json_text()


def dumps(value: Any) -> str | None:
    """JSON text for a JSON column, None for SQL NULL."""
    return None if value is None else json_text(value)


def job_values(j: JobRecord, state: str) -> tuple[Any, ...]:
    """A new job's values in JOB_VALUES order, to be stored in `state`."""
    return (j.job_id, j.bucket, j.queue_id, j.tag, state, j.level, j.created,
            json_text(j.spec), j.input_object, j.task_id)


def task_values(t: TaskRecord) -> tuple[Any, ...]:
    """A new task's values in TASK_VALUES order."""
    return (t.task_id, t.bucket, t.kind, t.origin, t.created, json_text(list(t.job_ids)),
            json_text(t.detail))


def check_task(jobs: list[JobRecord], task: TaskRecord | None) -> None:
    """Refuse a task that is not exactly these jobs (its job_ids in order, their task_id its id)."""
    if task is None:
        return
    if not jobs:
        raise StoreError(f"store write failed: task {task.task_id} has no jobs")
    if list(task.job_ids) != [j.job_id for j in jobs] or any(j.task_id != task.task_id for j in jobs):
        raise StoreError(f"store write failed: task {task.task_id} does not match the jobs inserted with it")
    if any(j.bucket != task.bucket for j in jobs):
        raise StoreError(f"store write failed: task {task.task_id} and its jobs are in different buckets")


def as_stored(j: JobRecord, state: str, seq: int) -> JobRecord:
    """A new job as committed: the record with its stored state and seq."""
    # The submit hot path: copying the fields of an already valid record is ~5x cheaper than
    # dataclasses.replace(), which re-runs __init__ (a few per cent of a group-committed batch).
    stored = object.__new__(JobRecord)
    stored.__dict__.update(j.__dict__, state=state, seq=seq)
    return stored


def job(r: Row) -> JobRecord:
    """The JobRecord of a JOB_COLUMNS row."""
    return JobRecord(
        job_id=r["job_id"], bucket=r["bucket"], queue_id=r["queue_id"], tag=r["tag"], state=r["state"],
        level=r["level"], created=r["created"], spec=json.loads(r["spec"]), seq=r["seq"], started=r["started"],
        ended=r["ended"], progress=r["progress"], code=r["code"], message=r["message"],
        result=None if r["result"] is None else json.loads(r["result"]), attempts=r["attempts"],
        cancel_requested=bool(r["cancel_requested"]), task_id=r["task_id"])


def task(r: Row) -> TaskRecord:
    """The TaskRecord of a TASK_COLUMNS row."""
    return TaskRecord(task_id=r["task_id"], bucket=r["bucket"], kind=r["kind"], origin=r["origin"],
                      created=r["created"], job_ids=tuple(json.loads(r["job_ids"])), detail=json.loads(r["detail"]),
                      seq=r["seq"])


def queue(r: Row) -> QueueRecord:
    """The QueueRecord of a QUEUE_COLUMNS row."""
    return QueueRecord(
        queue_id=r["queue_id"], bucket=r["bucket"], name=r["name"], state=r["state"],
        max_concurrent=r["max_concurrent"], max_size=r["max_size"], notify=json.loads(r["notify"]),
        category=r["category"], created=r["created"], updated=r["updated"], running=r["running"])


def template(r: Row) -> TemplateRecord:
    """The TemplateRecord of a TEMPLATE_COLUMNS row."""
    return TemplateRecord(template_id=r["template_id"], bucket=r["bucket"], name=r["name"], tag=r["tag"],
                          params=json.loads(r["params"]), created=r["created"], updated=r["updated"])


def callback_status(r: Row) -> CallbackStatus:
    """The CallbackStatus of a CALLBACK_COLUMNS row with next_at, last_error, dead_at and delivered_at."""
    state = "dead" if r["dead_at"] is not None else "delivered" if r["delivered_at"] is not None else "pending"
    return CallbackStatus(callback(r), state, r["last_error"], r["next_at"] if state == "pending" else None,
                          r["delivered_at"], r["dead_at"])


def callback(r: Row) -> Callback:
    """The Callback of a CALLBACK_COLUMNS row."""
    return Callback(json.loads(r["target"]), bytes(r["body"]), r["content_type"], r["callback_id"], r["attempts"],
                    r["job_id"])
