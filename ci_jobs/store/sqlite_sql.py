"""The SQLite store's statements, apart from the code that runs them.

Placeholders are `?`; `{marks}` (a `?, ?, ...` list, see `marks`) and `{tags}` are filled in by the
adapter. The values a statement writes (states, codes, messages) come from domain/jobs.py.
"""

from __future__ import annotations

import functools
from typing import Any

from ..domain.priority import ONLINE_FLOOR
from .records import JobFilter
from .rows import CALLBACK_COLUMNS, JOB_COLUMNS, JOB_VALUES, QUEUE_COLUMNS, TASK_COLUMNS, TASK_VALUES, TEMPLATE_COLUMNS


def marks(n: int) -> str:
    """`n` placeholders for an IN list."""
    return ",".join("?" * n)


@functools.lru_cache(maxsize=64)
def insert_rows(statement: str, n: int) -> str:
    """`statement` (an INSERT of one row of `?`s) inserting `n` rows in one statement, in their order."""
    head, _, row = statement.partition(" VALUES ")
    return f"{head} VALUES {','.join([row] * n)}"


PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous={synchronous}", "PRAGMA busy_timeout=10000",
           "PRAGMA foreign_keys=ON")
USER_VERSION = "PRAGMA user_version"
MIGRATION = "BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version={number};\nCOMMIT;"
BEGIN, COMMIT, ROLLBACK = "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"

RESET = ("DELETE FROM jobs", "DELETE FROM tasks", "DELETE FROM callbacks", "DELETE FROM templates",
         "UPDATE queues SET state='Active', notify='{}', running=0")

# --- queues ----------------------------------------------------------------------------------

ENSURE_QUEUE = ("INSERT OR IGNORE INTO queues (queue_id, bucket, name, max_concurrent, category, created, updated)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)")
SET_MAX_CONCURRENT = "UPDATE queues SET max_concurrent=? WHERE bucket=? AND name=?"
QUEUE_BY_NAME = f"SELECT {QUEUE_COLUMNS} FROM queues WHERE bucket=? AND name=?"
QUEUES = f"SELECT {QUEUE_COLUMNS} FROM queues WHERE bucket=? ORDER BY created, name"
UPDATE_QUEUE = (f"UPDATE queues SET name=?, state=?, notify=?, updated=? WHERE queue_id=? AND bucket=?"
                f" RETURNING {QUEUE_COLUMNS}")
MOVE_WAITING = "UPDATE jobs SET state=? WHERE queue_id=? AND state=?"
QUEUE_STATES = "SELECT queue_id, state FROM queues WHERE queue_id IN ({marks})"

# --- jobs ------------------------------------------------------------------------------------

INSERT_JOB = f"INSERT INTO jobs ({', '.join(JOB_VALUES)}) VALUES ({marks(len(JOB_VALUES))})"
LAST_INSERTED = "SELECT last_insert_rowid()"
SEQ_OF = "SELECT seq FROM jobs WHERE job_id=?"
SEQS_OF = "SELECT job_id, seq FROM jobs WHERE job_id IN ({marks})"
JOBS_BY_ID = f"SELECT {JOB_COLUMNS} FROM jobs WHERE bucket=? AND job_id IN ({{marks}})"
JOB = f"SELECT {JOB_COLUMNS} FROM jobs WHERE bucket=? AND job_id=?"
LIST_JOBS = f"SELECT {JOB_COLUMNS} FROM jobs WHERE {{where}} ORDER BY seq {{order}} LIMIT ?"
END_JOB = (f"UPDATE jobs SET state=?, ended=?, code=?, message=?, lease_token=NULL, lease_until=NULL"
           f" WHERE job_id=? RETURNING {JOB_COLUMNS}")
FLAG_CANCEL = f"UPDATE jobs SET cancel_requested=1 WHERE job_id=? RETURNING {JOB_COLUMNS}"

# --- tasks -----------------------------------------------------------------------------------

INSERT_TASK = f"INSERT INTO tasks ({', '.join(TASK_VALUES)}) VALUES ({marks(len(TASK_VALUES))})"
TASK = f"SELECT {TASK_COLUMNS} FROM tasks WHERE bucket=? AND task_id=?"
LIST_TASKS = f"SELECT {TASK_COLUMNS} FROM tasks WHERE bucket=? AND seq<? ORDER BY seq DESC LIMIT ?"
NO_SEQ = 2**63 - 1  # LIST_TASKS's `seq<?` for the first page

# --- running ---------------------------------------------------------------------------------

# A queue with a free slot and a waiting job, least-served first; one whose waiting jobs are all Offline
# (level <= ONLINE_FLOOR) only while no open queue has an Online job waiting. {tags} three times.
PICK_QUEUE = ("SELECT q.queue_id FROM queues q WHERE q.state='Active' AND q.running < q.max_concurrent"
              " AND EXISTS (SELECT 1 FROM jobs j WHERE j.queue_id=q.queue_id AND j.state='Submitted'{tags})"
              " AND (EXISTS (SELECT 1 FROM jobs j WHERE j.queue_id=q.queue_id AND j.state='Submitted'"
              f" AND j.level>{ONLINE_FLOOR}{{tags}})"
              " OR NOT EXISTS (SELECT 1 FROM queues o WHERE o.state='Active' AND o.running < o.max_concurrent"
              " AND EXISTS (SELECT 1 FROM jobs j WHERE j.queue_id=o.queue_id AND j.state='Submitted'"
              f" AND j.level>{ONLINE_FLOOR}{{tags}})))"
              " ORDER BY q.running, q.last_claim LIMIT 1")
TAKE_JOB = ("UPDATE jobs SET state='Running', started=?, attempts=attempts+1, lease_token=?, lease_until=?,"
            " node=?, progress=0 WHERE job_id=(SELECT j.job_id FROM jobs j WHERE j.queue_id=?"
            " AND j.state='Submitted'{tags} ORDER BY j.level DESC, j.seq LIMIT 1)"
            f" RETURNING {JOB_COLUMNS}")
TAKE_SLOT = "UPDATE queues SET running=running+1, last_claim=? WHERE queue_id=?"
FREE_SLOTS = "UPDATE queues SET running=MAX(running-?, 0) WHERE queue_id=? RETURNING state"
HEARTBEAT = ("UPDATE jobs SET lease_until=?, progress=? WHERE job_id=? AND lease_token=? AND state='Running'"
             " RETURNING cancel_requested")
RELEASE = ("UPDATE jobs SET lease_until=0, lease_token=NULL, attempts=MAX(attempts-1, 0)"
           " WHERE job_id=? AND lease_token=? AND state='Running' RETURNING job_id")
FINISH = ("UPDATE jobs SET state=?, code=?, message=?, result=?, ended=?, lease_token=NULL, lease_until=NULL,"
          " progress=COALESCE(?, progress) WHERE job_id=? AND lease_token=? AND state='Running' RETURNING queue_id")
RUNNING = f"SELECT {JOB_COLUMNS} FROM jobs WHERE state='Running'{{cond}} ORDER BY job_id"
RUNNING_EXPIRED = " AND lease_until < ?"
REQUEUE_JOB = (f"UPDATE jobs SET state=?, progress=0, lease_token=NULL, lease_until=NULL WHERE job_id=?"
               f" RETURNING {JOB_COLUMNS}")

# --- callbacks -------------------------------------------------------------------------------

INSERT_CALLBACK = "INSERT INTO callbacks (job_id, target, body, content_type, next_at) VALUES (?, ?, ?, ?, ?)"
DUE_CALLBACKS = f"SELECT {CALLBACK_COLUMNS} FROM callbacks WHERE next_at<=? ORDER BY next_at, callback_id LIMIT ?"
LEASE_CALLBACKS = "UPDATE callbacks SET next_at=? WHERE callback_id IN ({marks})"
CALLBACK_RETRY = "UPDATE callbacks SET attempts=?, next_at=?, last_error=? WHERE callback_id=?"
NEVER = 1e18  # next_at of a dead letter: never due
CALLBACK_DEAD = f"UPDATE callbacks SET attempts=?, last_error=?, dead_at=?, next_at={NEVER} WHERE callback_id=?"
DEAD_CALLBACKS = (f"SELECT {CALLBACK_COLUMNS}, dead_at, last_error FROM callbacks"
                  " WHERE dead_at IS NOT NULL AND callback_id>? ORDER BY callback_id LIMIT ?")
# a delivered callback keeps its row (target, attempts, last error) but not its body
CALLBACK_DONE = (f"UPDATE callbacks SET attempts=attempts+1, delivered_at=?, next_at={NEVER}, body=X''"
                 " WHERE callback_id=?")
JOB_CALLBACKS = (f"SELECT {CALLBACK_COLUMNS}, next_at, last_error, dead_at, delivered_at FROM callbacks"
                 " WHERE job_id IN ({marks}) ORDER BY callback_id")
RESEND_CALLBACK = ("UPDATE callbacks SET dead_at=NULL, attempts=0, next_at=?"
                   " WHERE callback_id=? AND dead_at IS NOT NULL RETURNING callback_id")
ENDED_PER_MINUTE = ("SELECT CAST((ended - ?) / 60 AS INTEGER) AS minute, state, count(*) AS n FROM jobs"
                    " WHERE bucket=? AND state IN ('Success', 'Failed') AND ended >= ? AND ended < ?"
                    " GROUP BY minute, state")
JOB_COUNTS = "SELECT bucket, queue_id, state, count(*) AS n FROM jobs GROUP BY bucket, queue_id, state"
OUTBOX_COUNTS = ("SELECT count(*) FILTER (WHERE dead_at IS NULL AND delivered_at IS NULL) AS pending,"
                 " count(*) FILTER (WHERE dead_at IS NOT NULL) AS dead FROM callbacks")

# --- templates -------------------------------------------------------------------------------

PUT_TEMPLATE = (f"INSERT INTO templates ({TEMPLATE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (template_id) DO UPDATE SET name=excluded.name, tag=excluded.tag,"
                " params=excluded.params, updated=excluded.updated")
TEMPLATE = f"SELECT {TEMPLATE_COLUMNS} FROM templates WHERE bucket=? AND template_id=?"
COUNT_TEMPLATES = "SELECT COUNT(*) FROM templates WHERE {where}"
LIST_TEMPLATES = (f"SELECT {TEMPLATE_COLUMNS} FROM templates WHERE {{where}}"
                  " ORDER BY created, template_id LIMIT ? OFFSET ?")
DELETE_TEMPLATE = "DELETE FROM templates WHERE bucket=? AND template_id=?"


def tags_clause(tags: frozenset[str] | None) -> tuple[str, tuple[str, ...]]:
    """The `{tags}` condition of PICK_QUEUE/TAKE_JOB and its arguments (no condition for None)."""
    if tags is None:
        return "", ()
    return f" AND j.tag IN ({marks(len(tags))})", tuple(sorted(tags))


def list_jobs(bucket: str, flt: JobFilter) -> tuple[str, list[Any]]:
    """LIST_JOBS for a filter and its arguments."""
    where: list[str] = ["bucket=?", "tag=?"]
    args: list[Any] = [bucket, flt.tag]
    for clause, value, used in (("queue_id=?", flt.queue_id, bool(flt.queue_id)),
                                ("created>=?", flt.start, flt.start is not None),
                                ("created<=?", flt.end, flt.end is not None),
                                ("input_object=?", flt.input_object, bool(flt.input_object)),
                                ("json_extract(spec, '$.Workflow.WorkflowId')=?", flt.workflow_id,
                                 bool(flt.workflow_id)),
                                ("json_extract(spec, '$.InventoryTriggerJobId')=?", flt.batch_id, bool(flt.batch_id)),
                                ("seq>?" if flt.ascending else "seq<?", flt.after_seq, flt.after_seq is not None)):
        if used:
            where.append(clause)
            args.append(value)
    if flt.states:
        where.append(f"state IN ({marks(len(flt.states))})")
        args.extend(sorted(flt.states))
    order = "ASC" if flt.ascending else "DESC"
    return LIST_JOBS.format(where=" AND ".join(where), order=order), [*args, flt.size]


def list_templates(bucket: str, tag: str, name_prefix: str, ids: list[str]) -> tuple[str, list[Any]]:
    """The `{where}` of COUNT_TEMPLATES/LIST_TEMPLATES for these filters and its arguments."""
    where: list[str] = ["bucket=?"]
    args: list[Any] = [bucket]
    if tag:
        where.append("tag=?")
        args.append(tag)
    if name_prefix:
        where.append("substr(name, 1, ?)=?")
        args += [len(name_prefix), name_prefix]
    if ids:
        where.append(f"template_id IN ({marks(len(ids))})")
        args += ids
    return " AND ".join(where), args
