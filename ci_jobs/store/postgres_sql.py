"""The PostgreSQL store's statements, apart from the code that runs them (row mapping: rows.py).

Placeholders are asyncpg's `$n`; `{cond}` is filled in by the adapter, `{tags}` by claim_statement. JSON
travels as text into `json` columns (which keep key order, unlike jsonb); times are unix seconds.
The values a statement writes (states, codes, messages) come from domain/jobs.py.
"""

from __future__ import annotations

import functools
from typing import Any

from ..domain.priority import ONLINE_FLOOR
from .records import JobFilter
from .rows import CALLBACK_COLUMNS, JOB_COLUMNS, QUEUE_COLUMNS, TASK_COLUMNS, TEMPLATE_COLUMNS

CHANNEL = "ci_jobs_work"
EVENTS = "ci_jobs_events"  # domain events between nodes: a typed JSON payload (domain.events.to_payload)
SEND_EVENT = f"SELECT pg_notify('{EVENTS}', $1)"
NOTIFY = f"SELECT pg_notify('{CHANNEL}', '')"
NOTIFY_IF_WAITING = (f"SELECT pg_notify('{CHANNEL}', '')"
                     " WHERE EXISTS (SELECT 1 FROM jobs WHERE queue_id = $1 AND state = 'Submitted')")


SCHEMA_TABLE = """
CREATE TABLE IF NOT EXISTS ci_jobs_schema (
    version integer PRIMARY KEY, name text NOT NULL, applied timestamptz NOT NULL DEFAULT now())"""

RESET = ("TRUNCATE jobs, tasks, callbacks, templates, nonces",
         "UPDATE queues SET state = 'Active', notify = '{}', running = 0")

ENSURE_QUEUE = f"""
INSERT INTO queues (queue_id, bucket, name, max_concurrent, category, created, updated)
VALUES ($1, $2, $3, $4, $5, $6, $6)
ON CONFLICT (bucket, name) DO UPDATE SET max_concurrent = EXCLUDED.max_concurrent
RETURNING {QUEUE_COLUMNS}"""

# A queue with a free slot and a waiting job, least-served first. NO KEY UPDATE (not UPDATE) so that
# the foreign-key checks of concurrent job inserts (KEY SHARE) neither block a claim nor get skipped.
# A queue whose waiting jobs are all Offline (level <= ONLINE_FLOOR) qualifies only while no open queue
# has an Online job waiting; that check is uncorrelated (one InitPlan) and reads without locking, so a
# queue locked by another claimer still holds Offline work back. Both look at waiting jobs through
# LATERAL ... LIMIT 1 probes of jobs_runnable, one per queue: the planner cannot turn them into a scan
# of every waiting job (it did with EXISTS, and a claim cost O(waiting jobs): 1 ms at 700 waiting).
PICK_QUEUE = f"""
SELECT q.queue_id FROM queues q
CROSS JOIN LATERAL (SELECT j.level FROM jobs j WHERE j.queue_id = q.queue_id AND j.state = 'Submitted'{{tags}}
                    ORDER BY j.level DESC, j.seq LIMIT 1) best
WHERE q.state = 'Active' AND q.running < q.max_concurrent AND q.queue_id <> ALL($1::text[])
  AND (best.level > {ONLINE_FLOOR}
       OR NOT EXISTS (SELECT 1 FROM queues o
                      CROSS JOIN LATERAL (SELECT 1 FROM jobs j WHERE j.queue_id = o.queue_id AND j.state = 'Submitted'
                                          AND j.level > {ONLINE_FLOOR}{{tags}} LIMIT 1) online
                      WHERE o.state = 'Active' AND o.running < o.max_concurrent AND o.queue_id <> ALL($1::text[])))
ORDER BY q.running, q.last_claim LIMIT 1 FOR NO KEY UPDATE OF q{{skip}}"""


# The whole claim in one statement (one round trip, its own transaction): PICK_QUEUE's queue, its best
# waiting job (FOR NO KEY UPDATE SKIP LOCKED) taken, and a slot of the queue taken. The queue row is locked
# for the statement and its commit only (it was held across four round trips before, and every claimer and
# finisher of a queue waits on that row). A row: `picked` and the job's columns; the job's are NULL when
# every waiting job of the picked queue was locked (the caller skips that queue); no row when no queue
# qualifies. $1 queues to skip, $2 now, $3 token, $4 lease until, $5 node, $6 the tags (when given).
# A claim commits without waiting for its WAL flush (synchronous_commit off for this transaction only):
# the queue row is then held for the statement, not for an fsync. Losing a claim in a database crash is
# safe: the job is Submitted again and the token that run holds is refused at its next heartbeat or at
# finish, and a later durable commit (a finish, a submit) flushes every claim before it, as WAL is ordered.
#
# The queue is picked skipping locked queue rows first; only when that finds none does the same pick
# run again waiting for the lock (every eligible queue may be locked by a claimer on another
# connection: wait for the best one rather than report "nothing to do" while work exists). Both are
# CTEs read through UNION ALL ... LIMIT 1, and PostgreSQL evaluates a WITH query only as far as its
# reader fetches: the waiting pick runs only when the first found nothing, and so held no lock before
# that wait (no deadlock); the row's conditions are re-checked after it. One round trip either way.
CLAIM = f"""
WITH free AS ({PICK_QUEUE.format(tags="{tags}", skip=" SKIP LOCKED")}),
     waited AS ({PICK_QUEUE.format(tags="{tags}", skip="")}),
     q AS (SELECT queue_id FROM free UNION ALL SELECT queue_id FROM waited LIMIT 1),
     j AS (SELECT j.job_id FROM jobs j WHERE j.queue_id = (SELECT queue_id FROM q) AND j.state = 'Submitted'{{tags}}
           ORDER BY j.level DESC, j.seq LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED),
     taken AS (UPDATE jobs SET state = 'Running', started = $2, attempts = attempts + 1, lease_token = $3,
                               lease_until = $4, node = $5, progress = 0
               WHERE job_id = (SELECT job_id FROM j)
               RETURNING {JOB_COLUMNS}),
     slot AS (UPDATE queues SET running = running + 1, last_claim = $2 WHERE queue_id = (SELECT queue_id FROM taken))
SELECT q.queue_id AS picked, taken.*, set_config('synchronous_commit', 'off', true) AS lazy_commit
FROM q LEFT JOIN taken ON true"""

FREE_SLOTS = "UPDATE queues SET running = GREATEST(running - $2, 0) WHERE queue_id = $1 RETURNING state"

# The queue rows are read under KEY SHARE so that a concurrent pause (FOR UPDATE on the queue row)
# either waits for this insert to commit or is seen by it: no job stays Submitted in a paused queue.
# $11/$12 are domain.SUBMIT_INTO (queue state -> the state a job submitted to it is stored in), so
# that rule is applied without a second round trip. INSERT_JOBS_AND_TASKS: the same with a batch's
# tasks ($13-$19) committed in that statement too (one round trip still).
_INSERT_JOBS = """
WITH q AS (SELECT queue_id, state FROM queues WHERE queue_id = ANY($3::text[]) FOR KEY SHARE),
     rule AS (SELECT * FROM unnest($11::text[], $12::text[]) AS r(queue_state, job_state)){tasks}
INSERT INTO jobs (job_id, bucket, queue_id, tag, state, level, created, spec, input_object, task_id)
SELECT t.job_id, t.bucket, t.queue_id, t.tag, coalesce(rule.job_state, t.state),
       t.level, t.created, t.spec::json, t.input_object, t.task_id
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::float8[],
            $8::text[], $9::text[], $10::text[])
     WITH ORDINALITY AS t(job_id, bucket, queue_id, tag, state, level, created, spec, input_object, task_id, ord)
LEFT JOIN q ON q.queue_id = t.queue_id
LEFT JOIN rule ON rule.queue_state = q.state
ORDER BY t.ord
RETURNING job_id, state, seq"""

# A data-modifying CTE runs whether or not the main statement reads it; RETURNING nothing is needed.
INSERT_TASKS = """,
     new_tasks AS (
INSERT INTO tasks (task_id, bucket, kind, origin, created, job_ids, detail)
SELECT k.task_id, k.bucket, k.kind, k.origin, k.created, k.job_ids::json, k.detail::json
FROM unnest($13::text[], $14::text[], $15::text[], $16::text[], $17::float8[], $18::text[], $19::text[])
     WITH ORDINALITY AS k(task_id, bucket, kind, origin, created, job_ids, detail, ord)
ORDER BY k.ord)"""

INSERT_JOBS = _INSERT_JOBS.format(tasks="")
INSERT_JOBS_AND_TASKS = _INSERT_JOBS.format(tasks=INSERT_TASKS)

TASK = f"SELECT {TASK_COLUMNS} FROM tasks WHERE bucket = $1 AND task_id = $2"
LIST_TASKS = f"""
SELECT {TASK_COLUMNS} FROM tasks WHERE bucket = $1 AND ($2::bigint IS NULL OR seq < $2)
ORDER BY seq DESC LIMIT $3"""

LOCK_QUEUE = "SELECT 1 FROM queues WHERE queue_id = $1 AND bucket = $2 FOR UPDATE"
UPDATE_QUEUE = f"""
UPDATE queues SET name = $2, state = $3, notify = $4::json, updated = $5 WHERE queue_id = $1
RETURNING {QUEUE_COLUMNS}"""
MOVE_WAITING = "UPDATE jobs SET state = $3 WHERE queue_id = $1 AND state = $2"

QUEUES = f"SELECT {QUEUE_COLUMNS} FROM queues WHERE bucket = $1 ORDER BY created, name"
JOBS_BY_ID = f"SELECT {JOB_COLUMNS} FROM jobs WHERE bucket = $1 AND job_id = ANY($2::text[])"
LIST_JOBS = f"SELECT {JOB_COLUMNS} FROM jobs WHERE {{where}} ORDER BY seq {{order}} LIMIT ${{limit}}"
LOCK_JOB = f"SELECT {JOB_COLUMNS} FROM jobs WHERE bucket = $1 AND job_id = $2 FOR NO KEY UPDATE"
END_JOB = f"""
UPDATE jobs SET state = $2, ended = $3, code = $4, message = $5, lease_token = NULL, lease_until = NULL
WHERE job_id = $1 RETURNING {JOB_COLUMNS}"""
FLAG_CANCEL = f"UPDATE jobs SET cancel_requested = true WHERE job_id = $1 RETURNING {JOB_COLUMNS}"

HEARTBEAT = """
UPDATE jobs SET lease_until = $3, progress = $4 WHERE job_id = $1 AND lease_token = $2 AND state = 'Running'
RETURNING cancel_requested"""

RELEASE = """
UPDATE jobs SET lease_until = 0, lease_token = NULL, attempts = GREATEST(attempts - 1, 0)
WHERE job_id = $1 AND lease_token = $2 AND state = 'Running' RETURNING job_id"""

FINISH = """
UPDATE jobs SET state = $3, code = $4, message = $5, result = $6::json, ended = $7, lease_token = NULL,
                lease_until = NULL, progress = COALESCE($8::int, progress)
WHERE job_id = $1 AND lease_token = $2 AND state = 'Running'
RETURNING queue_id"""

# FINISH, FREE_SLOTS (one slot), INSERT_CALLBACKS ($9-$12, empty arrays for none) and NOTIFY_IF_WAITING in one
# statement: one round trip, and the queue row locked only for the statement and its commit. A row (the
# job's queue) only when the token still held. The wake-up goes out only when the queue was full before this finish:
# then a claimer elsewhere may have found no free slot and gone to sleep. With a slot free already, jobs
# that wait do so because every claimer is busy (each claims again when its own run ends), and a wake-up
# per finish cost every listening node a notification per job (schedulers poll as well, scheduler.poll_seconds).
# It commits without waiting for its WAL flush (as a claim does), so the queue row every claimer of the
# queue needs is held for the statement and not for an fsync; finish() then waits for the flush in FLUSH,
# holding no lock, and returns only once the outcome is durable. (Committed-but-unflushed is visible to
# others for that moment: a database crash then loses the finish, and the job runs again, as for a claim.)
FINISH_ALL = f"""
WITH f AS ({FINISH.strip()}),
     slot AS (UPDATE queues SET running = GREATEST(running - 1, 0) WHERE queue_id = (SELECT queue_id FROM f)
              RETURNING running, max_concurrent),
     cb AS (INSERT INTO callbacks (job_id, target, body, content_type, next_at)
            SELECT t.job_id, t.target::json, t.body, t.content_type, $7
            FROM unnest($9::text[], $10::text[], $11::bytea[], $12::text[])
                 WITH ORDINALITY AS t(job_id, target, body, content_type, ord)
            WHERE EXISTS (SELECT 1 FROM f)
            ORDER BY t.ord)
SELECT f.queue_id, (SELECT pg_notify('{CHANNEL}', '')
                    WHERE EXISTS (SELECT 1 FROM slot WHERE slot.running + 1 >= slot.max_concurrent)
                      AND EXISTS (SELECT 1 FROM jobs WHERE queue_id = f.queue_id AND state = 'Submitted')) AS notified,
       set_config('synchronous_commit', 'off', true) AS lazy_commit
FROM f"""
# A durable commit that wrote WAL waits for the WAL up to its commit record to be flushed, and so every
# lazily committed statement before it (WAL is ordered) is durable when it returns. (A transaction that
# writes no WAL does not wait, even with an id: txid_current() alone would not do.) It rewrites the
# finished job's row to itself (a HOT update: no indexed column changes), which nobody else waits for.
FLUSH = "UPDATE jobs SET ended = ended WHERE job_id = $1"

RUNNING = (f"SELECT {JOB_COLUMNS} FROM jobs WHERE state = 'Running'{{cond}}"
           " ORDER BY job_id FOR NO KEY UPDATE SKIP LOCKED")
RUNNING_EXPIRED = " AND lease_until < $1"
REQUEUE_JOB = f"""
UPDATE jobs SET state = $2, progress = 0, lease_token = NULL, lease_until = NULL WHERE job_id = $1
RETURNING {JOB_COLUMNS}"""

INSERT_CALLBACKS = """
INSERT INTO callbacks (job_id, target, body, content_type, next_at)
SELECT t.job_id, t.target::json, t.body, t.content_type, $5
FROM unnest($1::text[], $2::text[], $3::bytea[], $4::text[])
     WITH ORDINALITY AS t(job_id, target, body, content_type, ord)
ORDER BY t.ord"""

DUE_CALLBACKS = f"""
WITH due AS (SELECT callback_id, next_at FROM callbacks WHERE next_at <= $1
             ORDER BY next_at, callback_id LIMIT $2 FOR UPDATE SKIP LOCKED)
UPDATE callbacks c SET next_at = $1 + $3 FROM due WHERE c.callback_id = due.callback_id
RETURNING {", ".join("c." + c for c in CALLBACK_COLUMNS.split(", "))}, due.next_at AS was"""

CALLBACK_RETRY = "UPDATE callbacks SET attempts = $2, next_at = $3, last_error = $4 WHERE callback_id = $1"
NEVER = 1e18  # next_at of a dead letter: never due
CALLBACK_DEAD = (f"UPDATE callbacks SET attempts = $2, last_error = $3, dead_at = $4, next_at = {NEVER}"
                 " WHERE callback_id = $1")
DEAD_CALLBACKS = (f"SELECT {CALLBACK_COLUMNS}, dead_at, last_error FROM callbacks"
                  " WHERE dead_at IS NOT NULL AND callback_id > $1 ORDER BY callback_id LIMIT $2")
RESEND_CALLBACK = ("UPDATE callbacks SET dead_at = NULL, attempts = 0, next_at = $2"
                   " WHERE callback_id = $1 AND dead_at IS NOT NULL RETURNING callback_id")
ENDED_PER_MINUTE = ("SELECT floor((ended - $2) / 60)::int AS minute, state, count(*) AS n FROM jobs"
                    " WHERE bucket = $1 AND state IN ('Success', 'Failed') AND ended >= $2 AND ended < $3"
                    " GROUP BY 1, 2")
JOB_COUNTS = "SELECT bucket, queue_id, state, count(*) AS n FROM jobs GROUP BY bucket, queue_id, state"
OUTBOX_COUNTS = ("SELECT count(*) FILTER (WHERE dead_at IS NULL AND delivered_at IS NULL) AS pending,"
                 " count(*) FILTER (WHERE dead_at IS NOT NULL) AS dead FROM callbacks")
# a delivered callback keeps its row (target, attempts, last error) but not its body
CALLBACK_DONE = (f"UPDATE callbacks SET attempts = attempts + 1, delivered_at = $2, next_at = {NEVER},"
                 " body = ''::bytea WHERE callback_id = $1")
JOB_CALLBACKS = (f"SELECT {CALLBACK_COLUMNS}, next_at, last_error, dead_at, delivered_at FROM callbacks"
                 " WHERE job_id = ANY($1::text[]) ORDER BY callback_id")

# A live nonce is not taken again (no row returned); an expired one is taken anew.
USE_NONCE = """
INSERT INTO nonces (nonce, until) VALUES ($1, $2)
ON CONFLICT (nonce) DO UPDATE SET until = EXCLUDED.until WHERE nonces.until < $3
RETURNING nonce"""
PURGE_NONCES = "DELETE FROM nonces WHERE until < $1"

PUT_TEMPLATE = f"""
INSERT INTO templates ({TEMPLATE_COLUMNS}) VALUES ($1, $2, $3, $4, $5::json, $6, $7)
ON CONFLICT (template_id) DO UPDATE SET name = excluded.name, tag = excluded.tag, params = excluded.params,
    updated = excluded.updated"""
TEMPLATE = f"SELECT {TEMPLATE_COLUMNS} FROM templates WHERE bucket = $1 AND template_id = $2"
TEMPLATES_WHERE = ("bucket = $1 AND ($2 = '' OR tag = $2) AND left(name, length($3)) = $3"
                   " AND (cardinality($4::text[]) = 0 OR template_id = ANY($4::text[]))")
COUNT_TEMPLATES = f"SELECT count(*) AS n FROM templates WHERE {TEMPLATES_WHERE}"
LIST_TEMPLATES = (f"SELECT {TEMPLATE_COLUMNS} FROM templates WHERE {TEMPLATES_WHERE}"
                  " ORDER BY created, template_id LIMIT $5 OFFSET $6")
DELETE_TEMPLATE = "DELETE FROM templates WHERE bucket = $1 AND template_id = $2"


def text(value: str) -> str:
    """`value` storable in a text column (PostgreSQL text cannot hold NUL)."""
    return value.replace("\x00", "")


@functools.cache
def claim_statement(with_tags: bool) -> str:
    """CLAIM with or without the tags condition (at $6)."""
    return CLAIM.format(tags=" AND j.tag = ANY($6::text[])" if with_tags else "")


def list_jobs(bucket: str, flt: JobFilter) -> tuple[str, list[Any]]:
    """LIST_JOBS for a filter and its arguments."""
    where: list[str] = []
    args: list[Any] = []

    def cond(clause: str, value: Any) -> None:
        args.append(value)
        where.append(clause.replace("?", f"${len(args)}"))
    cond("bucket = ?", bucket)
    cond("tag = ?", flt.tag)
    for clause, value, used in (("queue_id = ?", flt.queue_id, bool(flt.queue_id)),
                                ("state = ANY(?::text[])", sorted(flt.states), bool(flt.states)),
                                ("created >= ?", flt.start, flt.start is not None),
                                ("created <= ?", flt.end, flt.end is not None),
                                ("input_object = ?", flt.input_object, bool(flt.input_object)),
                                ("spec->'Workflow'->>'WorkflowId' = ?", flt.workflow_id, bool(flt.workflow_id)),
                                ("spec->>'InventoryTriggerJobId' = ?", flt.batch_id, bool(flt.batch_id)),
                                ("seq > ?" if flt.ascending else "seq < ?", flt.after_seq, flt.after_seq is not None)):
        if used:
            cond(clause, value)
    order = "ASC" if flt.ascending else "DESC"
    return LIST_JOBS.format(where=" AND ".join(where), order=order, limit=len(args) + 1), [*args, flt.size]
