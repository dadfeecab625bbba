"""Row <-> record mapping shared by the SQL adapters (both keep JSON as text and times as unix seconds)."""

from __future__ import annotations

import json
from typing import Any, Protocol

from .records import Callback, JobRecord, QueueRecord, TemplateRecord

JOB_COLUMNS = ("seq, job_id, bucket, queue_id, tag, state, level, created, started, ended, progress, "
               "code, message, spec, result, attempts, cancel_requested")
QUEUE_COLUMNS = ("queue_id, bucket, name, state, max_concurrent, max_size, notify, category, created, "
                 "updated, running")
TEMPLATE_COLUMNS = "template_id, bucket, name, tag, params, created, updated"
CALLBACK_COLUMNS = "callback_id, job_id, target, body, content_type, attempts"
JOB_VALUES = ("job_id", "bucket", "queue_id", "tag", "state", "level", "created", "spec", "input_object")


class Row(Protocol):
    """A result row of either driver (sqlite3.Row, asyncpg.Record): values by column name."""

    def __getitem__(self, key: str, /) -> Any: ...


def dumps(value: Any) -> str | None:
    """JSON text for a JSON column, None for SQL NULL."""
    return None if value is None else json.dumps(value, ensure_ascii=False)


def job_values(j: JobRecord, state: str) -> tuple[Any, ...]:
    """A new job's values in JOB_VALUES order, to be stored in `state`."""
    return (j.job_id, j.bucket, j.queue_id, j.tag, state, j.level, j.created,
            json.dumps(j.spec, ensure_ascii=False), j.input_object)


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
        cancel_requested=bool(r["cancel_requested"]))


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


def callback(r: Row) -> Callback:
    """The Callback of a CALLBACK_COLUMNS row."""
    return Callback(json.loads(r["target"]), bytes(r["body"]), r["content_type"], r["callback_id"], r["attempts"],
                    r["job_id"])
