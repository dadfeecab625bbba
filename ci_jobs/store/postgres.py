"""The distributed Store: PostgreSQL through an asyncpg pool, shared by every node.

A claim locks the chosen queue row and then the chosen job row with SKIP LOCKED, so two nodes never
run one job nor exceed a queue's MaxConcurrent (the `running` counter lives in the queue row); every
later write of a run is fenced by its lease token. Job inserts from concurrent requests are
group-committed (batching.py). Wake-ups travel by LISTEN/NOTIFY on one dedicated connection per store; the
caller's poll timeout is the fallback while that connection is down. Statements: postgres_sql.py;
the job-state decisions are domain/jobs.py's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from ..domain import jobs as domain
from ..domain.jobs import Beat, JobState
from ..errors import StoreError
from . import migrations, newer_schema, rows
from . import postgres_sql as sql
from .batching import GroupCommit
from .postgres_flows import FlowRows
from .postgres_templates import TemplateRows
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
from .wakeups import Wakeups

log = logging.getLogger(__name__)
T = TypeVar("T")
Conn = Any  # asyncpg ships no type information

LISTEN_APP = "ci-jobs-listen"
MIGRATION_LOCK = 0x63695F6A6F6273  # "ci_jobs": every node's migrate() takes this advisory lock
CLAIM_TRIES = 8
CALLBACK_LEASE = 60.0
LISTEN_PING_SECONDS = 30.0
NONCE_PURGE_SECONDS = 60.0
SUBMIT_RULE = ([str(k) for k in domain.SUBMIT_INTO], [str(v) for v in domain.SUBMIT_INTO.values()])


async def apply_migrations(conn: Conn) -> int:
    """Apply pending migrations in one transaction under an advisory lock; return the schema version."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        await conn.execute(sql.SCHEMA_TABLE)
        version: int = await conn.fetchval("SELECT coalesce(max(version), 0) FROM ci_jobs_schema")
        newer = newer_schema(version, "postgres", "the PostgreSQL database")
        if newer is not None:
            raise newer
        for number, name, script in migrations("postgres"):
            if number > version:
                await conn.execute(script)
                await conn.execute("INSERT INTO ci_jobs_schema (version, name) VALUES ($1, $2)", number, name)
                version = number
    return version


async def _keep_session(conn: Any) -> None:
    """A pooled connection goes back as it is, less any open transaction (asyncpg rolls that back first).

    asyncpg's default reset sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` on
    every release: a second round trip for each one-statement claim or finish. Pooled connections here
    never LISTEN (a dedicated connection does), take only transaction-scoped advisory locks, open no
    cursors outside transactions and change settings only with set_config(..., true): nothing outlives
    the transaction, so there is nothing to reset.
    """


async def migrate_only(dsn: str) -> int:
    """Bring the schema at `dsn` up to date and return its version (for `ci-jobs migrate`)."""
    try:
        conn = await asyncpg.connect(dsn)
        try:
            return await apply_migrations(conn)
        finally:
            await conn.close()
    except Exception as exc:
        raise StoreError(f"cannot migrate {redact(dsn)}: {exc}") from exc


def redact(dsn: str) -> str:
    """The DSN with its password masked, for messages."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", dsn)


class PostgresStore(FlowRows, TemplateRows, Wakeups):
    """Store on a PostgreSQL database that any number of ci-jobs nodes share."""

    def __init__(self, dsn: str, *, min_size: int = 1, max_size: int = 10, migrate: bool = True,
                 command_timeout: float | None = 60.0) -> None:
        self.dsn = dsn
        self.min_size = min_size
        self.max_size = max_size
        self.migrate_on_open = migrate
        self.command_timeout = command_timeout
        self._pool: Any = None
        self._listener: asyncio.Task[None] | None = None
        self._work = asyncio.Event()
        self._receivers: list[Callable[[str], None]] = []
        self._nonces_purged = 0.0
        self._inserts: GroupCommit[JobInsert, list[JobRecord]] = GroupCommit(
            self._commit_jobs, "postgres-group-commit")

    # --- lifecycle --------------------------------------------------------------------------

    async def open(self) -> None:
        """Create the pool, migrate (unless told not to) and start listening for work."""
        try:
            self._pool = await asyncpg.create_pool(
                self.dsn, min_size=self.min_size, max_size=self.max_size, command_timeout=self.command_timeout,
                server_settings={"application_name": "ci-jobs", "plan_cache_mode": "force_generic_plan"},
                reset=_keep_session)
            if self.migrate_on_open:
                await self.migrate()
            conn = await self._listen()
        except Exception as exc:
            await self.close()
            if isinstance(exc, StoreError):
                raise
            raise StoreError(f"cannot open {redact(self.dsn)}: {exc}") from exc
        self._listener = asyncio.create_task(self._keep_listening(conn), name="postgres-listen")

    async def migrate(self) -> int:
        """Apply pending migrations (safe while other nodes do the same); return the schema version."""
        return await migrate_only(self.dsn)

    async def close(self) -> None:
        """Flush pending inserts, stop listening and close the pool."""
        await self._inserts.drain()
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        pool, self._pool = self._pool, None
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), 10)
            except Exception:  # noqa: BLE001 - a hung server must not hang shutdown
                pool.terminate()

    async def reset(self) -> None:
        """Delete all jobs and callbacks; queues back to Active with no notification."""
        async def run(conn: Conn) -> None:
            for statement in sql.RESET:
                await conn.execute(statement)
        await self._tx(run)

    # --- plumbing ---------------------------------------------------------------------------

    @property
    def _db(self) -> Any:
        if self._pool is None:
            raise StoreError("store is not open")
        return self._pool

    async def _tx(self, fn: Callable[[Conn], Awaitable[T]]) -> T:
        pool = self._db
        try:
            async with pool.acquire() as conn, conn.transaction():
                return await fn(conn)
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"store write failed: {exc}") from exc

    async def _fetch(self, statement: str, *args: Any) -> list[Any]:
        """Run one statement (its own transaction) and return its rows."""
        pool = self._db
        try:
            return list(await pool.fetch(statement, *args))
        except Exception as exc:
            raise StoreError(f"store statement failed: {exc}") from exc

    # --- queues -----------------------------------------------------------------------------

    async def ensure_queue(self, bucket: str, name: str, max_concurrent: int,
                           category: str = "Transcoding") -> QueueRecord:
        """Create the named queue if missing (its MaxConcurrent follows the configuration) and return it."""
        found = await self._fetch(sql.ENSURE_QUEUE, "p" + uuid.uuid4().hex, bucket, name, max_concurrent, category,
                                 time.time())
        return rows.queue(found[0])

    async def queues(self, bucket: str) -> list[QueueRecord]:
        """All queues of a bucket, oldest first."""
        return [rows.queue(r) for r in await self._fetch(sql.QUEUES, bucket)]

    async def update_queue(self, bucket: str, queue_id: str, name: str, state: str,
                           notify: dict[str, Any], now: float) -> QueueRecord | None:
        """Rename, pause/resume and set NotifyConfig; waiting jobs follow the queue state."""
        move, resumes = domain.queue_move(state), domain.resumes(state)

        async def run(conn: Conn) -> Any:
            # FOR UPDATE conflicts with the KEY SHARE of in-flight job inserts: they commit first.
            if await conn.fetchval(sql.LOCK_QUEUE, queue_id, bucket) is None:
                return None
            row = await conn.fetchrow(sql.UPDATE_QUEUE, queue_id, name, state,
                                      json.dumps(notify, ensure_ascii=False), now)
            await conn.execute(sql.MOVE_WAITING, queue_id, str(move.old), str(move.new))
            if resumes:
                await conn.execute(sql.NOTIFY_IF_WAITING, queue_id)
            return row
        row = await self._tx(run)
        if row is None:
            return None
        if resumes:
            self.notify_work()
        return rows.queue(row)

    # --- jobs -------------------------------------------------------------------------------

    async def insert_jobs(self, jobs: list[JobRecord], task: TaskRecord | None = None) -> list[JobRecord]:
        """Commit jobs and their task (group-committed with concurrent inserts); return the jobs once durable,
        as stored."""
        rows.check_task(jobs, task)
        if not jobs:
            return []
        stored = await self._inserts.submit(JobInsert(jobs, task))
        self.notify_work()
        return stored

    async def _commit_jobs(self, requests: list[JobInsert]) -> list[list[JobRecord]]:
        """One transaction (one statement) for the jobs and tasks of every request; each request's jobs as stored."""
        jobs = [j for request in requests for j in request.jobs]
        tasks = [rows.task_values(r.task) for r in requests if r.task is not None]

        async def run(conn: Conn) -> dict[str, tuple[str, int]]:
            columns = [list(c) for c in zip(*(rows.job_values(j, j.state) for j in jobs), strict=True)]
            task_columns = [list(c) for c in zip(*tasks, strict=True)]
            statement = sql.INSERT_JOBS_AND_TASKS if tasks else sql.INSERT_JOBS
            inserted = await conn.fetch(statement, *columns, *SUBMIT_RULE, *task_columns)
            if any(r["state"] == JobState.SUBMITTED for r in inserted):
                await conn.execute(sql.NOTIFY)
            return {r["job_id"]: (r["state"], r["seq"]) for r in inserted}
        stored = await self._tx(run)
        return [[rows.as_stored(j, *stored[j.job_id]) for j in request.jobs] for request in requests]

    async def get_jobs(self, bucket: str, job_ids: list[str]) -> list[JobRecord]:
        """Jobs of a bucket by id, in the order asked."""
        if not job_ids:
            return []
        found = {r["job_id"]: rows.job(r) for r in await self._fetch(sql.JOBS_BY_ID, bucket, job_ids)}
        return [found[i] for i in job_ids if i in found]

    async def list_jobs(self, bucket: str, flt: JobFilter) -> list[JobRecord]:
        """Jobs matching `flt`, by submission order, at most `size`."""
        statement, args = sql.list_jobs(bucket, flt)
        return [rows.job(r) for r in await self._fetch(statement, *args)]

    async def cancel_job(self, bucket: str, job_id: str, now: float) -> JobRecord | None:
        """Waiting -> Cancel at once; Running -> flagged (its runner stops it within a heartbeat)."""
        async def run(conn: Conn) -> Any:
            row = await conn.fetchrow(sql.LOCK_JOB, bucket, job_id)
            if row is None:
                return None
            match domain.cancel_decision(row["state"]):
                case domain.CancelKind.NOW:
                    return await _end(conn, job_id, now, domain.CANCELLED)
                case domain.CancelKind.FLAG:
                    return await conn.fetchrow(sql.FLAG_CANCEL, job_id)
            return row
        row = await self._tx(run)
        return None if row is None else rows.job(row)

    # --- tasks ------------------------------------------------------------------------------

    async def get_task(self, bucket: str, task_id: str) -> TaskRecord | None:
        """A task of a bucket."""
        found = await self._fetch(sql.TASK, bucket, task_id)
        return rows.task(found[0]) if found else None

    async def list_tasks(self, bucket: str, size: int = 10, after_seq: int | None = None) -> list[TaskRecord]:
        """A bucket's tasks, newest first, at most `size`, older than `after_seq` when given."""
        return [rows.task(r) for r in await self._fetch(sql.LIST_TASKS, bucket, after_seq, size)]

    # --- running ----------------------------------------------------------------------------

    async def claim(self, node: str, now: float, lease_seconds: float,
                    tags: frozenset[str] | None = None) -> Claim | None:
        """Take the best job of the least-served active queue that has a free slot."""
        tag_args = [] if tags is None else [sorted(tags)]
        claim = sql.claim_statement(tags is not None)
        skipped: list[str] = []
        for _ in range(CLAIM_TRIES):
            token, until = uuid.uuid4().hex, now + lease_seconds
            row = await self._fetchrow(claim, skipped, now, token, until, node, *tag_args)
            if row is None:
                return None
            if row["job_id"] is not None:
                return Claim(rows.job(row), token, until)
            skipped.append(row["picked"])  # its waiting jobs were all locked (being cancelled, say): try another
        return None

    async def _fetchrow(self, statement: str, *args: Any) -> Any:
        """The first row of one statement run as its own transaction (one round trip), or None."""
        pool = self._db
        try:
            return await pool.fetchrow(statement, *args)
        except Exception as exc:
            raise StoreError(f"store write failed: {exc}") from exc

    async def heartbeat(self, job_id: str, token: str, lease_until: float, progress: int) -> Beat:
        """Extend the lease and store progress, fenced by the token."""
        found = await self._fetch(sql.HEARTBEAT, job_id, token, lease_until, progress)
        return domain.beat(found[0]["cancel_requested"] if found else None)

    async def release(self, job_id: str, token: str) -> bool:
        """Expire the lease now and return the attempt, fenced by the token."""
        return bool(await self._fetch(sql.RELEASE, job_id, token))

    async def finish(self, job_id: str, token: str, now: float, outcome: Outcome) -> bool:
        """Write the outcome, free the slot and enqueue callbacks atomically, only while the token holds."""
        callbacks = outcome.callbacks
        # One statement: the outcome, the freed slot, the callbacks and a wake-up when jobs wait for that slot,
        # committed lazily (the queue row is not held across an fsync), then made durable before returning.
        row = await self._fetchrow(sql.FINISH_ALL, job_id, token, str(outcome.state), outcome.code,
                                   sql.text(outcome.message), rows.dumps(outcome.result), now,
                                   domain.finished_progress(outcome.state), [c.job_id for c in callbacks],
                                   [json.dumps(c.target, ensure_ascii=False) for c in callbacks],
                                   [c.body for c in callbacks], [c.content_type for c in callbacks])
        if row is None:
            return False  # the token no longer held: nothing was written (and that commit waited for its flush)
        await self._fetch(sql.FLUSH, job_id)
        self.notify_work()
        return True

    async def rescue(self, now: float, max_attempts: int, on_fail: CallbackFactory,
                     everything: bool = False) -> list[JobRecord]:
        """Requeue (or fail) Running jobs whose lease expired — or all of them at a lone node's start."""
        cond, args = ("", ()) if everything else (sql.RUNNING_EXPIRED, (now,))

        async def run(conn: Conn) -> list[JobRecord]:
            # SKIP LOCKED: a run finishing or heartbeating right now is alive, and two rescuers never wait
            # on each other's job rows; queue rows are then locked in one global order (no deadlock).
            running = [rows.job(r) for r in await conn.fetch(sql.RUNNING.format(cond=cond), *args)]
            lost = Counter(j.queue_id for j in running)
            # FREE_SLOTS locks the queue row: a pause waits for this rescue, so the state read here holds.
            states = {q: await conn.fetchval(sql.FREE_SLOTS, q, n) for q, n in sorted(lost.items())}
            decisions = [domain.rescue_decision(j, max_attempts, states[j.queue_id]) for j in running]
            touched = [await _rescue_one(conn, j, now, d, on_fail) for j, d in zip(running, decisions, strict=True)]
            if any(t.state == JobState.SUBMITTED for t in touched):
                await conn.execute(sql.NOTIFY)
            return touched
        touched = await self._tx(run)
        if touched:
            self.notify_work()
        return touched

    # --- callbacks --------------------------------------------------------------------------

    async def add_callbacks(self, callbacks: list[Callback], now: float) -> None:
        """Enqueue callbacks."""
        async def run(conn: Conn) -> None:
            await _insert_callbacks(conn, callbacks, now)
        await self._tx(run)

    async def due_callbacks(self, now: float, limit: int) -> list[Callback]:
        """Due callbacks, each leased for 60 s so that a second deliverer (on any node) skips it."""
        due = await self._fetch(sql.DUE_CALLBACKS, now, limit, CALLBACK_LEASE)
        due.sort(key=lambda r: (r["was"], r["callback_id"]))
        return [rows.callback(r) for r in due]

    async def callback_done(self, callback_id: int, now: float | None = None) -> None:
        """Mark a callback delivered (kept with its attempts, never due again)."""
        await self._fetch(sql.CALLBACK_DONE, callback_id, time.time() if now is None else now)

    async def callback_retry(self, callback_id: int, attempts: int, next_at: float, error: str) -> None:
        """Record a failed attempt and when to try again."""
        await self._fetch(sql.CALLBACK_RETRY, callback_id, attempts, next_at, sql.text(error)[:500])

    async def callback_dead(self, callback_id: int, attempts: int, error: str, now: float) -> None:
        """Keep a callback that ran out of retries as a dead letter."""
        await self._fetch(sql.CALLBACK_DEAD, callback_id, attempts, sql.text(error)[:500], now)

    async def dead_callbacks(self, limit: int, after_id: int = 0) -> list[DeadLetter]:
        """Dead letters by id."""
        found = await self._fetch(sql.DEAD_CALLBACKS, after_id, limit)
        return [DeadLetter(rows.callback(r), r["dead_at"], r["last_error"]) for r in found]

    async def resend_callback(self, callback_id: int, now: float) -> bool:
        """Make a dead letter due now with its attempts reset."""
        return bool(await self._fetch(sql.RESEND_CALLBACK, callback_id, now))

    async def job_callbacks(self, job_ids: list[str]) -> list[CallbackStatus]:
        """Every callback of these jobs, oldest first."""
        if not job_ids:
            return []
        return [rows.callback_status(r) for r in await self._fetch(sql.JOB_CALLBACKS, list(job_ids))]

    async def ended_per_minute(self, bucket: str, since: float, until: float) -> list[tuple[int, str, int]]:
        """Jobs of the bucket that ended Success or Failed in [since, until), per minute after `since`."""
        found = await self._fetch(sql.ENDED_PER_MINUTE, bucket, since, until)
        return sorted((int(r["minute"]), str(r["state"]), int(r["n"])) for r in found)

    async def first_use(self, nonce: str, until: float, now: float) -> bool:
        """Record `nonce` as used until `until`; False when it is recorded and live (by any node). Expired ones are
        purged by each node once a minute."""
        if now - self._nonces_purged >= NONCE_PURGE_SECONDS:
            self._nonces_purged = now
            await self._fetch(sql.PURGE_NONCES, now)
        return bool(await self._fetch(sql.USE_NONCE, nonce, until, now))

    async def counts(self) -> StoreCounts:
        """Jobs per bucket, queue and state; outbox entries pending and dead."""
        jobs = await self._fetch(sql.JOB_COUNTS)
        (outbox,) = await self._fetch(sql.OUTBOX_COUNTS)
        return StoreCounts(tuple((r["bucket"], r["queue_id"], r["state"], int(r["n"])) for r in jobs),
                           int(outbox["pending"]), int(outbox["dead"]))

    # --- wake-ups: LISTEN/NOTIFY from every node sets the local event (Wakeups) ----------------

    async def _listen(self) -> Conn:
        conn = await asyncpg.connect(self.dsn, server_settings={"application_name": LISTEN_APP})
        try:
            await conn.add_listener(sql.CHANNEL, self._on_notify)
            await conn.add_listener(sql.EVENTS, self._on_event)
        except BaseException:
            conn.terminate()
            raise
        return conn

    def _on_notify(self, *_: object) -> None:
        self._work.set()

    # --- domain events between nodes: NOTIFY on their own channel, payload as given ----------

    async def send_event(self, payload: str) -> None:
        """NOTIFY every listening node, this one included (PostgreSQL caps a payload at 8000 bytes)."""
        await self._fetch(sql.SEND_EVENT, payload)

    def on_event(self, receive: Callable[[str], None]) -> None:
        """Call `receive(payload)` for each event NOTIFY from any node."""
        self._receivers.append(receive)

    def _on_event(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        for receive in self._receivers:
            try:
                receive(payload)
            except Exception:  # noqa: BLE001 - a receiver's bug must not end the LISTEN connection
                log.exception("event receiver failed on %r", payload[:200])

    async def _keep_listening(self, conn: Conn | None) -> None:
        """Hold the LISTEN connection; when it drops, reconnect (with backoff) and wake the waiters,
        who may have missed a NOTIFY meanwhile and until then poll on their timeout."""
        delay = 0.1
        while True:
            failed = False
            try:
                if conn is None:
                    conn = await self._listen()
                    delay = 0.1
                    self._work.set()
                await _until_lost(conn)
                log.warning("LISTEN connection to PostgreSQL closed; reconnecting")
            except Exception as exc:  # noqa: BLE001 - any failure here means: reconnect
                log.warning("LISTEN connection to PostgreSQL failed (%s); retrying in %.1f s", exc, delay)
                failed = True
            finally:
                if conn is not None:
                    conn.terminate()
                conn = None
            if failed:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)


async def _until_lost(conn: Conn) -> None:
    """Return when `conn` closes; a ping now and then catches a half-open TCP connection."""
    lost = asyncio.Event()
    conn.add_termination_listener(lambda _conn: lost.set())
    while not conn.is_closed():
        try:
            await asyncio.wait_for(lost.wait(), LISTEN_PING_SECONDS)
            return
        except TimeoutError:
            await conn.execute("SELECT 1", timeout=10)


async def _end(conn: Conn, job_id: str, now: float, ending: domain.Ending) -> Any:
    return await conn.fetchrow(sql.END_JOB, job_id, str(ending.state), now, str(ending.code), ending.message)


async def _rescue_one(conn: Conn, job: JobRecord, now: float, rescue: domain.Rescue,
                      on_fail: CallbackFactory) -> JobRecord:
    if rescue.ending is not None:
        row = await _end(conn, job.job_id, now, rescue.ending)
    else:
        row = await conn.fetchrow(sql.REQUEUE_JOB, job.job_id, str(rescue.state))
    touched = rows.job(row)
    if rescue.kind == domain.RescueKind.FAIL:
        await _insert_callbacks(conn, on_fail(touched), now)
    return touched


async def _insert_callbacks(conn: Conn, callbacks: list[Callback], now: float) -> None:
    if callbacks:
        await conn.execute(sql.INSERT_CALLBACKS, [c.job_id for c in callbacks],
                           [json.dumps(c.target, ensure_ascii=False) for c in callbacks],
                           [c.body for c in callbacks], [c.content_type for c in callbacks], now)
