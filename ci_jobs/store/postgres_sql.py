"""The PostgreSQL store's statements and its row <-> record mapping, apart from the code that runs them.

Placeholders are asyncpg's `$n`; `{tags}` / `{skip}` are filled in by the adapter. JSON travels as
text into `json` columns (which keep key order, unlike jsonb); times are unix seconds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from . import JobRecord, QueueRecord

CHANNEL = "ci_jobs_work"
NOTIFY = f"SELECT pg_notify('{CHANNEL}', '')"
NOTIFY_IF_WAITING = (f"SELECT pg_notify('{CHANNEL}', '')"
                     " WHERE EXISTS (SELECT 1 FROM jobs WHERE queue_id = $1 AND state = 'Submitted')")

JOB_COLUMNS = ("seq, job_id, bucket, queue_id, tag, state, level, created, started, ended, progress, "
               "code, message, spec, result, attempts, cancel_requested")
QUEUE_COLUMNS = ("queue_id, bucket, name, state, max_concurrent, max_size, notify, category, created, "
                 "updated, running")

SCHEMA_TABLE = """
CREATE TABLE IF NOT EXISTS ci_jobs_schema (
    version integer PRIMARY KEY, name text NOT NULL, applied timestamptz NOT NULL DEFAULT now())"""

ENSURE_QUEUE = f"""
INSERT INTO queues (queue_id, bucket, name, max_concurrent, category, created, updated)
VALUES ($1, $2, $3, $4, $5, $6, $6)
ON CONFLICT (bucket, name) DO UPDATE SET max_concurrent = EXCLUDED.max_concurrent
RETURNING {QUEUE_COLUMNS}"""

# A queue with a free slot and a waiting job, least-served first. NO KEY UPDATE (not UPDATE) so that
# the foreign-key checks of concurrent job inserts (KEY SHARE) neither block a claim nor get skipped.
PICK_QUEUE = """
SELECT q.queue_id FROM queues q
WHERE q.state = 'Active' AND q.running < q.max_concurrent AND q.queue_id <> ALL($1::text[])
  AND EXISTS (SELECT 1 FROM jobs j WHERE j.queue_id = q.queue_id AND j.state = 'Submitted'{tags})
ORDER BY q.running, q.last_claim LIMIT 1 FOR NO KEY UPDATE{skip}"""

TAKE_JOB = f"""
UPDATE jobs SET state = 'Running', started = $2, attempts = attempts + 1, lease_token = $3,
                lease_until = $4, node = $5, progress = 0
WHERE job_id = (SELECT j.job_id FROM jobs j WHERE j.queue_id = $1 AND j.state = 'Submitted'{{tags}}
                ORDER BY j.level DESC, j.seq LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED)
RETURNING {JOB_COLUMNS}"""

TAKE_SLOT = "UPDATE queues SET running = running + 1, last_claim = $2 WHERE queue_id = $1"
FREE_SLOTS = "UPDATE queues SET running = GREATEST(running - $2, 0) WHERE queue_id = $1"

# The queue rows are read under KEY SHARE so that a concurrent pause (FOR UPDATE on the queue row)
# either waits for this insert to commit or is seen by it: no job stays Submitted in a paused queue.
INSERT_JOBS = """
WITH q AS (SELECT queue_id, state FROM queues WHERE queue_id = ANY($3::text[]) FOR KEY SHARE)
INSERT INTO jobs (job_id, bucket, queue_id, tag, state, level, created, spec, input_object)
SELECT t.job_id, t.bucket, t.queue_id, t.tag, CASE WHEN q.state = 'Paused' THEN 'Pause' ELSE t.state END,
       t.level, t.created, t.spec::json, t.input_object
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::float8[],
            $8::text[], $9::text[])
     WITH ORDINALITY AS t(job_id, bucket, queue_id, tag, state, level, created, spec, input_object, ord)
LEFT JOIN q ON q.queue_id = t.queue_id
ORDER BY t.ord
RETURNING job_id, state, seq"""

LOCK_QUEUE = "SELECT 1 FROM queues WHERE queue_id = $1 AND bucket = $2 FOR UPDATE"
UPDATE_QUEUE = f"""
UPDATE queues SET name = $2, state = $3, notify = $4::json, updated = $5 WHERE queue_id = $1
RETURNING {QUEUE_COLUMNS}"""

CANCEL_WAITING = """
UPDATE jobs SET state = 'Cancel', ended = $3, code = 'Cancel', message = 'The job was cancelled.'
WHERE bucket = $1 AND job_id = $2 AND state IN ('Submitted', 'Pause')"""
CANCEL_RUNNING = "UPDATE jobs SET cancel_requested = true WHERE bucket = $1 AND job_id = $2 AND state = 'Running'"

HEARTBEAT = """
UPDATE jobs SET lease_until = $3, progress = $4 WHERE job_id = $1 AND lease_token = $2 AND state = 'Running'
RETURNING cancel_requested"""

FINISH = """
UPDATE jobs SET state = $3, code = $4, message = $5, result = $6::json, ended = $7, lease_token = NULL,
                lease_until = NULL, progress = CASE WHEN $3 = 'Success' THEN 100 ELSE progress END
WHERE job_id = $1 AND lease_token = $2 AND state = 'Running'
RETURNING queue_id"""

RUNNING = (f"SELECT {JOB_COLUMNS} FROM jobs WHERE state = 'Running'{{cond}}"
           " ORDER BY job_id FOR NO KEY UPDATE SKIP LOCKED")
RESCUE = (f"UPDATE jobs SET {{change}}, lease_token = NULL, lease_until = NULL WHERE job_id = $1"
          f" RETURNING {JOB_COLUMNS}")
RESCUE_CHANGES = {
    "cancel": "state = 'Cancel', ended = $2, code = 'Cancel', message = 'The job was cancelled.'",
    "fail": "state = 'Failed', ended = $2, code = 'WorkerLost', message = $3",
    "requeue": "state = (SELECT CASE WHEN q.state = 'Paused' THEN 'Pause' ELSE 'Submitted' END FROM queues q"
               " WHERE q.queue_id = jobs.queue_id), progress = 0",
}

INSERT_CALLBACKS = """
INSERT INTO callbacks (job_id, target, body, content_type, next_at)
SELECT t.job_id, t.target::json, t.body, t.content_type, $5
FROM unnest($1::text[], $2::text[], $3::bytea[], $4::text[])
     WITH ORDINALITY AS t(job_id, target, body, content_type, ord)
ORDER BY t.ord"""

DUE_CALLBACKS = """
WITH due AS (SELECT callback_id, next_at FROM callbacks WHERE next_at <= $1
             ORDER BY next_at, callback_id LIMIT $2 FOR UPDATE SKIP LOCKED)
UPDATE callbacks c SET next_at = $1 + $3 FROM due WHERE c.callback_id = due.callback_id
RETURNING c.callback_id, c.job_id, c.target, c.body, c.content_type, c.attempts, due.next_at AS was"""

CALLBACK_RETRY = "UPDATE callbacks SET attempts = $2, next_at = $3, last_error = $4 WHERE callback_id = $1"


def text(value: str) -> str:
    """`value` storable in a text column (PostgreSQL text cannot hold NUL)."""
    return value.replace("\x00", "")


def dumps(value: Any) -> str | None:
    """JSON text for a json column, None for SQL NULL."""
    return None if value is None else json.dumps(value, ensure_ascii=False)


def job_row(j: JobRecord) -> tuple[Any, ...]:
    """A new job's values in INSERT_JOBS column order."""
    source = j.spec.get("Input")
    input_object = str(source.get("Object", "")) if isinstance(source, dict) else ""
    return (j.job_id, j.bucket, j.queue_id, j.tag, str(j.state), j.level, j.created,
            json.dumps(j.spec, ensure_ascii=False), input_object)


def job(r: Mapping[str, Any]) -> JobRecord:
    """The JobRecord of a JOB_COLUMNS row."""
    return JobRecord(
        job_id=r["job_id"], bucket=r["bucket"], queue_id=r["queue_id"], tag=r["tag"], state=r["state"],
        level=r["level"], created=r["created"], spec=json.loads(r["spec"]), seq=r["seq"], started=r["started"],
        ended=r["ended"], progress=r["progress"], code=r["code"], message=r["message"],
        result=None if r["result"] is None else json.loads(r["result"]), attempts=r["attempts"],
        cancel_requested=r["cancel_requested"])


def queue(r: Mapping[str, Any]) -> QueueRecord:
    """The QueueRecord of a QUEUE_COLUMNS row."""
    return QueueRecord(
        queue_id=r["queue_id"], bucket=r["bucket"], name=r["name"], state=r["state"],
        max_concurrent=r["max_concurrent"], max_size=r["max_size"], notify=json.loads(r["notify"]),
        category=r["category"], created=r["created"], updated=r["updated"], running=r["running"])
