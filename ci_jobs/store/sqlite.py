"""The embedded Store: one SQLite file in WAL mode through aiosqlite. Statements: sqlite_sql.py.

One writer connection serialises every write transaction behind an asyncio lock (statements of two
coroutines must never interleave inside one transaction); a second connection serves reads. Job
inserts from concurrent requests are group-committed (batching.py): one transaction, one fsync,
many jobs, on a third connection of their own. The job-state decisions are domain/jobs.py's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from ..domain import jobs as domain
from ..domain.jobs import Beat
from ..errors import StoreError
from . import migrations, newer_schema, rows
from . import sqlite_sql as sql
from .batching import GroupCommit
from .records import (
    Callback,
    CallbackFactory,
    CallbackStatus,
    Claim,
    DeadLetter,
    JobFilter,
    JobRecord,
    Outcome,
    QueueRecord,
    StoreCounts,
    TaskRecord,
)
from .rows import JobInsert
from .sqlite_flows import FlowRows
from .sqlite_templates import TemplateRows
from .wakeups import LocalEvents, Wakeups

T = TypeVar("T")
Stored = list[tuple[str, int]]  # (state, seq) of each inserted job, as committed
STATE = rows.JOB_VALUES.index("state")
NONCE_PURGE_SECONDS = 60.0


class SqliteStore(FlowRows, TemplateRows, Wakeups, LocalEvents):
    """Store on a SQLite file (`:memory:` is not supported: two connections must share it)."""

    def __init__(self, path: Path, synchronous: str = "FULL") -> None:
        self.path = path
        self.synchronous = synchronous
        self._w: aiosqlite.Connection | None = None
        self._r: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._work = asyncio.Event()
        self._nonces_purged = 0.0
        self._nonces: dict[str, float] = {}
        self._inserts: GroupCommit[JobInsert, list[JobRecord]] = GroupCommit(
            self._commit_jobs, "sqlite-group-commit", linger=0.001, full=64)
        # Job inserts are the hot path: one thread hop per group-committed batch (a whole
        # transaction in one call), on a connection of their own, instead of one hop per statement.
        self._inserter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-insert")
        self._insert_conn: sqlite3.Connection | None = None

    # --- lifecycle --------------------------------------------------------------------------

    async def open(self) -> None:
        """Open the connections and migrate."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._w = await self._connect()
            await self._migrate(self._w)
            self._r = await self._connect()
            self._insert_conn = await asyncio.get_running_loop().run_in_executor(
                self._inserter, _plain_connection, self.path, self.synchronous)
        except StoreError:
            await self.close()
            raise
        except Exception as exc:
            raise StoreError(f"cannot open {self.path}: {exc}") from exc

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        for pragma in sql.PRAGMAS:
            await conn.execute(pragma.format(synchronous=self.synchronous))
        return conn

    async def _migrate(self, conn: aiosqlite.Connection) -> None:
        row = await _one(conn, sql.USER_VERSION, ())
        version = int(row[0]) if row else 0
        newer = newer_schema(version, "sqlite", str(self.path))
        if newer is not None:
            raise newer
        for number, _, script in migrations("sqlite"):
            if number > version:
                await conn.executescript(sql.MIGRATION.format(script=script, number=number))

    async def close(self) -> None:
        """Flush pending inserts and close."""
        await self._inserts.drain()
        for conn in (self._r, self._w):
            if conn is not None:
                await conn.close()
        self._w = self._r = None
        if self._insert_conn is not None:
            await asyncio.get_running_loop().run_in_executor(self._inserter, self._insert_conn.close)
            self._insert_conn = None
        self._inserter.shutdown(wait=False)

    async def reset(self) -> None:
        """Delete all jobs, callbacks and templates; queues back to Active with no notification."""
        async def run(db: aiosqlite.Connection) -> None:
            for statement in sql.RESET:
                await db.execute(statement)
        await self._tx(run)
        self._nonces.clear()

    # --- plumbing ---------------------------------------------------------------------------

    @property
    def _writer(self) -> aiosqlite.Connection:
        if self._w is None:
            raise StoreError("store is not open")
        return self._w

    async def _tx(self, fn: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        async with self._lock:
            db = self._writer
            try:
                await db.execute(sql.BEGIN)
                result = await fn(db)
                await db.execute(sql.COMMIT)
                return result
            except BaseException as exc:
                with contextlib.suppress(Exception):  # the original error matters more
                    await db.execute(sql.ROLLBACK)
                if isinstance(exc, StoreError | asyncio.CancelledError):
                    raise
                raise StoreError(f"store write failed: {exc}") from exc

    async def _read(self, statement: str, args: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        if self._r is None:
            raise StoreError("store is not open")
        try:
            return await _all(self._r, statement, args)
        except Exception as exc:
            raise StoreError(f"store read failed: {exc}") from exc

    # --- queues -----------------------------------------------------------------------------

    async def ensure_queue(self, bucket: str, name: str, max_concurrent: int,
                           category: str = "Transcoding") -> QueueRecord:
        """Create the named queue if missing and return it."""
        async def run(db: aiosqlite.Connection) -> None:
            now = time.time()
            await db.execute(sql.ENSURE_QUEUE, ("p" + uuid.uuid4().hex, bucket, name, max_concurrent, category,
                                                now, now))
            await db.execute(sql.SET_MAX_CONCURRENT, (max_concurrent, bucket, name))
        await self._tx(run)
        return rows.queue((await self._read(sql.QUEUE_BY_NAME, (bucket, name)))[0])

    async def queues(self, bucket: str) -> list[QueueRecord]:
        """All queues of a bucket, oldest first."""
        return [rows.queue(r) for r in await self._read(sql.QUEUES, (bucket,))]

    async def update_queue(self, bucket: str, queue_id: str, name: str, state: str,
                           notify: dict[str, Any], now: float) -> QueueRecord | None:
        """Rename, pause/resume and set NotifyConfig; waiting jobs follow the queue state."""
        async def run(db: aiosqlite.Connection) -> aiosqlite.Row | None:
            row = await _one(db, sql.UPDATE_QUEUE, (name, state, json.dumps(notify), now, queue_id, bucket))
            if row is not None:
                move = domain.queue_move(state)
                await db.execute(sql.MOVE_WAITING, (move.new, queue_id, move.old))
            return row
        row = await self._tx(run)
        if row is None:
            return None
        if domain.resumes(state):
            self.notify_work()
        return rows.queue(row)

    # --- jobs -------------------------------------------------------------------------------

    async def insert_jobs(self, jobs: list[JobRecord], task: TaskRecord | None = None) -> list[JobRecord]:
        """Commit jobs and their task (group-committed with other concurrent inserts); return the jobs once
        durable, as stored."""
        rows.check_task(jobs, task)
        if not jobs:
            return []
        stored = await self._inserts.submit(JobInsert(jobs, task))
        self.notify_work()
        return stored

    async def _commit_jobs(self, requests: list[JobInsert]) -> list[list[JobRecord]]:
        """One transaction for the jobs and tasks of every request; each request's jobs as stored."""
        jobs = [j for request in requests for j in request.jobs]
        values = [rows.job_values(j, j.state) for j in jobs]  # JSON encoding here, not under the write lock
        tasks = [rows.task_values(r.task) for r in requests if r.task is not None]
        async with self._lock:
            stored = await asyncio.get_running_loop().run_in_executor(self._inserter, _insert_jobs,
                                                                      self._insert_conn, jobs, values, tasks)
        it = iter(stored)
        return [[rows.as_stored(j, state, seq) for j, (state, seq) in zip(request.jobs, it, strict=False)]
                for request in requests]

    async def get_jobs(self, bucket: str, job_ids: list[str]) -> list[JobRecord]:
        """Jobs of a bucket by id, in the order asked."""
        if not job_ids:
            return []
        found = {r["job_id"]: rows.job(r)
                 for r in await self._read(sql.JOBS_BY_ID.format(marks=sql.marks(len(job_ids))), (bucket, *job_ids))}
        return [found[i] for i in job_ids if i in found]

    async def list_jobs(self, bucket: str, flt: JobFilter) -> list[JobRecord]:
        """Jobs matching `flt`, by submission order, at most `size`."""
        statement, args = sql.list_jobs(bucket, flt)
        return [rows.job(r) for r in await self._read(statement, args)]

    async def cancel_job(self, bucket: str, job_id: str, now: float) -> JobRecord | None:
        """Waiting -> Cancel at once; Running -> flagged (its runner stops it within a heartbeat)."""
        async def run(db: aiosqlite.Connection) -> aiosqlite.Row | None:
            row = await _one(db, sql.JOB, (bucket, job_id))
            if row is None:
                return None
            match domain.cancel_decision(row["state"]):
                case domain.CancelKind.NOW:
                    return await _end(db, job_id, now, domain.CANCELLED)
                case domain.CancelKind.FLAG:
                    return await _one(db, sql.FLAG_CANCEL, (job_id,))
            return row
        row = await self._tx(run)
        return None if row is None else rows.job(row)

    # --- tasks ------------------------------------------------------------------------------

    async def get_task(self, bucket: str, task_id: str) -> TaskRecord | None:
        """A task of a bucket."""
        found = await self._read(sql.TASK, (bucket, task_id))
        return rows.task(found[0]) if found else None

    async def list_tasks(self, bucket: str, size: int = 10, after_seq: int | None = None) -> list[TaskRecord]:
        """A bucket's tasks, newest first, at most `size`, older than `after_seq` when given."""
        found = await self._read(sql.LIST_TASKS, (bucket, sql.NO_SEQ if after_seq is None else after_seq, size))
        return [rows.task(r) for r in found]

    # --- running ----------------------------------------------------------------------------

    async def claim(self, node: str, now: float, lease_seconds: float,
                    tags: frozenset[str] | None = None) -> Claim | None:
        """Take the best job of the least-served active queue that has a free slot."""
        tag_sql, tag_args = sql.tags_clause(tags)

        async def run(db: aiosqlite.Connection) -> Claim | None:
            q = await _one(db, sql.PICK_QUEUE.format(tags=tag_sql), tag_args * 3)
            if q is None:
                return None
            token, until = uuid.uuid4().hex, now + lease_seconds
            row = await _one(db, sql.TAKE_JOB.format(tags=tag_sql), (now, token, until, node, q[0], *tag_args))
            if row is None:
                return None
            await db.execute(sql.TAKE_SLOT, (now, q[0]))
            return Claim(rows.job(row), token, until)
        return await self._tx(run)

    async def heartbeat(self, job_id: str, token: str, lease_until: float, progress: int) -> Beat:
        """Extend the lease and store progress, fenced by the token."""
        async def run(db: aiosqlite.Connection) -> Beat:
            row = await _one(db, sql.HEARTBEAT, (lease_until, progress, job_id, token))
            return domain.beat(None if row is None else bool(row[0]))
        return await self._tx(run)

    async def release(self, job_id: str, token: str) -> bool:
        """Expire the lease now and return the attempt, fenced by the token."""
        async def run(db: aiosqlite.Connection) -> bool:
            return await _one(db, sql.RELEASE, (job_id, token)) is not None
        return await self._tx(run)

    async def finish(self, job_id: str, token: str, now: float, outcome: Outcome) -> bool:
        """Write the outcome and its callbacks atomically, only while the token holds."""
        async def run(db: aiosqlite.Connection) -> bool:
            row = await _one(db, sql.FINISH, (outcome.state, outcome.code, outcome.message, rows.dumps(outcome.result),
                                              now, domain.finished_progress(outcome.state), job_id, token))
            if row is None:
                return False
            await _one(db, sql.FREE_SLOTS, (1, row[0]))
            await _insert_callbacks(db, outcome.callbacks, now)
            return True
        done = await self._tx(run)
        self.notify_work()
        return done

    async def rescue(self, now: float, max_attempts: int, on_fail: CallbackFactory,
                     everything: bool = False) -> list[JobRecord]:
        """Requeue (or fail) Running jobs whose lease expired — or all of them at a lone node's start."""
        cond, args = ("", ()) if everything else (sql.RUNNING_EXPIRED, (now,))

        async def run(db: aiosqlite.Connection) -> list[JobRecord]:
            lost = [rows.job(r) for r in await _all(db, sql.RUNNING.format(cond=cond), args)]
            return [await _rescue_one(db, job, now, max_attempts, on_fail) for job in lost]
        touched = await self._tx(run)
        if touched:
            self.notify_work()
        return touched

    # --- callbacks --------------------------------------------------------------------------

    async def add_callbacks(self, callbacks: list[Callback], now: float) -> None:
        """Enqueue callbacks."""
        async def run(db: aiosqlite.Connection) -> None:
            await _insert_callbacks(db, callbacks, now)
        await self._tx(run)

    async def due_callbacks(self, now: float, limit: int) -> list[Callback]:
        """Due callbacks, each leased for 60 s so that a second deliverer skips it."""
        async def run(db: aiosqlite.Connection) -> list[Callback]:
            due = await _all(db, sql.DUE_CALLBACKS, (now, limit))
            if due:
                await db.execute(sql.LEASE_CALLBACKS.format(marks=sql.marks(len(due))),
                                 (now + 60, *[r["callback_id"] for r in due]))
            return [rows.callback(r) for r in due]
        return await self._tx(run)

    async def callback_done(self, callback_id: int, now: float | None = None) -> None:
        """Mark a callback delivered (kept with its attempts, never due again)."""
        async def run(db: aiosqlite.Connection) -> None:
            await db.execute(sql.CALLBACK_DONE, (time.time() if now is None else now, callback_id))
        await self._tx(run)

    async def callback_retry(self, callback_id: int, attempts: int, next_at: float, error: str) -> None:
        """Record a failed attempt and when to try again."""
        async def run(db: aiosqlite.Connection) -> None:
            await db.execute(sql.CALLBACK_RETRY, (attempts, next_at, error[:500], callback_id))
        await self._tx(run)

    async def callback_dead(self, callback_id: int, attempts: int, error: str, now: float) -> None:
        """Keep a callback that ran out of retries as a dead letter."""
        async def run(db: aiosqlite.Connection) -> None:
            await db.execute(sql.CALLBACK_DEAD, (attempts, error[:500], now, callback_id))
        await self._tx(run)

    async def dead_callbacks(self, limit: int, after_id: int = 0) -> list[DeadLetter]:
        """Dead letters by id."""
        found = await self._read(sql.DEAD_CALLBACKS, (after_id, limit))
        return [DeadLetter(rows.callback(r), r["dead_at"], r["last_error"]) for r in found]

    async def resend_callback(self, callback_id: int, now: float) -> bool:
        """Make a dead letter due now with its attempts reset."""
        async def run(db: aiosqlite.Connection) -> bool:
            return await _one(db, sql.RESEND_CALLBACK, (now, callback_id)) is not None
        return await self._tx(run)

    async def job_callbacks(self, job_ids: list[str]) -> list[CallbackStatus]:
        """Every callback of these jobs, oldest first."""
        if not job_ids:
            return []
        found = await self._read(sql.JOB_CALLBACKS.format(marks=sql.marks(len(job_ids))), tuple(job_ids))
        return [rows.callback_status(r) for r in found]

    async def ended_per_minute(self, bucket: str, since: float, until: float) -> list[tuple[int, str, int]]:
        """Jobs of the bucket that ended Success or Failed in [since, until), per minute after `since`."""
        found = await self._read(sql.ENDED_PER_MINUTE, (since, bucket, since, until))
        return sorted((int(r["minute"]), str(r["state"]), int(r["n"])) for r in found)

    async def first_use(self, nonce: str, until: float, now: float) -> bool:
        """Record `nonce` as used until `until`; False when it is recorded and live. A SQLite store is one
        process's (embedded mode), so its nonces are kept here, in memory: a table row would cost a synchronous
        commit per state-changing MPS call (ProcessMedia's rate fell from ~0.9 to ~0.6 of POST /jobs's with one)."""
        if now - self._nonces_purged >= NONCE_PURGE_SECONDS:
            self._nonces_purged = now
            self._nonces = {k: t for k, t in self._nonces.items() if t >= now}
        if self._nonces.get(nonce, -1.0) >= now:
            return False
        self._nonces[nonce] = until
        return True

    async def counts(self) -> StoreCounts:
        """Jobs per bucket, queue and state; outbox entries pending and dead."""
        jobs = await self._read(sql.JOB_COUNTS)
        (outbox,) = await self._read(sql.OUTBOX_COUNTS)
        return StoreCounts(tuple((r["bucket"], r["queue_id"], r["state"], int(r["n"])) for r in jobs),
                           int(outbox["pending"] or 0), int(outbox["dead"] or 0))


def _plain_connection(path: Path, synchronous: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in sql.PRAGMAS:
        conn.execute(pragma.format(synchronous=synchronous))
    return conn


def _insert_jobs(conn: sqlite3.Connection | None, jobs: list[JobRecord], values: list[tuple[Any, ...]],
                 tasks: list[tuple[Any, ...]]) -> Stored:
    """One transaction (on the inserter thread): the jobs (`values`: their rows), Pause in paused queues,
    and their tasks (`tasks`: their rows); the jobs' (state, seq)."""
    if conn is None:
        raise StoreError("store is not open")
    try:
        conn.execute(sql.BEGIN)
        queue_ids = sorted({j.queue_id for j in jobs})
        queue_states = dict(conn.execute(sql.QUEUE_STATES.format(marks=sql.marks(len(queue_ids))), queue_ids))
        states = [domain.submitted_state(j.state, queue_states.get(j.queue_id)) for j in jobs]
        rows = [v if v[STATE] == state else (*v[:STATE], state, *v[STATE + 1:])
                for v, state in zip(values, states, strict=True)]
        _insert_all(conn, sql.INSERT_JOB, rows)
        seqs = _seqs(conn, jobs)  # before the tasks: last_insert_rowid() must be the last job's
        if tasks:
            _insert_all(conn, sql.INSERT_TASK, tasks)
        conn.execute(sql.COMMIT)
        return list(zip(states, seqs, strict=True))
    except Exception as exc:
        with contextlib.suppress(Exception):
            conn.execute(sql.ROLLBACK)
        raise StoreError(f"store write failed: {exc}") from exc


def _insert_all(conn: sqlite3.Connection, statement: str, rows: list[tuple[Any, ...]]) -> None:
    """Insert `rows` in order, up to _ROWS_PER_STATEMENT a statement: one step of SQLite (and one release of
    the GIL) for many rows, where executemany steps, and gives the GIL back, once a row."""
    for at in range(0, len(rows), _ROWS_PER_STATEMENT):
        chunk = rows[at:at + _ROWS_PER_STATEMENT]
        conn.execute(sql.insert_rows(statement, len(chunk)), [v for row in chunk for v in row])


_ROWS_PER_STATEMENT = 64  # 640 parameters for a job row of 10: far under SQLite's limit of 32,766


def _seqs(conn: sqlite3.Connection, jobs: list[JobRecord]) -> list[int]:
    """The seqs the batch just inserted got, in order (two cheap lookups instead of one row per job).

    AUTOINCREMENT gives each row a seq above every seq used before, so the batch's seqs increase;
    when the first and the last are len(jobs) - 1 apart, they are consecutive.
    """
    (last,), = conn.execute(sql.LAST_INSERTED)
    (first,), = conn.execute(sql.SEQ_OF, (jobs[0].job_id,))
    if last - first == len(jobs) - 1:
        return list(range(first, last + 1))
    by_id = dict(conn.execute(sql.SEQS_OF.format(marks=sql.marks(len(jobs))), [j.job_id for j in jobs]))
    return [by_id[j.job_id] for j in jobs]


async def _all(db: aiosqlite.Connection, statement: str, args: Iterable[Any] = ()) -> list[aiosqlite.Row]:
    """The rows of a statement run inside the caller's transaction (one thread hop: execute, fetch, close)."""
    return list(await db.execute_fetchall(statement, tuple(args)))


async def _one(db: aiosqlite.Connection, statement: str, args: Iterable[Any]) -> aiosqlite.Row | None:
    """The first row of a statement run inside the caller's transaction."""
    found = await _all(db, statement, args)
    return found[0] if found else None


async def _end(db: aiosqlite.Connection, job_id: str, now: float, ending: domain.Ending) -> aiosqlite.Row | None:
    return await _one(db, sql.END_JOB, (ending.state, now, ending.code, ending.message, job_id))


async def _rescue_one(db: aiosqlite.Connection, job: JobRecord, now: float, max_attempts: int,
                      on_fail: CallbackFactory) -> JobRecord:
    queue = await _one(db, sql.FREE_SLOTS, (1, job.queue_id))
    rescue = domain.rescue_decision(job, max_attempts, None if queue is None else queue[0])
    if rescue.ending is not None:
        row = await _end(db, job.job_id, now, rescue.ending)
    else:
        row = await _one(db, sql.REQUEUE_JOB, (rescue.state, job.job_id))
    assert row is not None  # the job row is ours: this transaction holds the write lock
    touched = rows.job(row)
    if rescue.kind == domain.RescueKind.FAIL:
        await _insert_callbacks(db, on_fail(touched), now)
    return touched


async def _insert_callbacks(db: aiosqlite.Connection, callbacks: list[Callback], now: float) -> None:
    if callbacks:
        await db.executemany(sql.INSERT_CALLBACK, [(c.job_id, json.dumps(c.target), c.body, c.content_type, now)
                                                   for c in callbacks])
