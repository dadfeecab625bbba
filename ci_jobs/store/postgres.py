"""The distributed Store: PostgreSQL through an asyncpg pool, shared by every node.

A claim locks the chosen queue row and then the chosen job row with SKIP LOCKED, so two nodes never
run one job nor exceed a queue's MaxConcurrent (the `running` counter lives in the queue row); every
later write of a run is fenced by its lease token. Job inserts from concurrent requests are
group-committed. Wake-ups travel by LISTEN/NOTIFY on one dedicated connection per store; the
caller's poll timeout is the fallback while that connection is down. Statements: postgres_sql.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import re
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from ..errors import StoreError
from . import (
    Beat,
    Callback,
    CallbackFactory,
    Claim,
    JobFilter,
    JobRecord,
    JobState,
    Outcome,
    QueueRecord,
    QueueState,
    Wakeups,
    migrations,
)
from . import postgres_sql as sql
from .postgres_templates import TemplateRows

log = logging.getLogger(__name__)
T = TypeVar("T")
Conn = Any  # asyncpg ships no type information
Stored = dict[str, tuple[str, int]]  # job_id -> (state, seq) as committed

LISTEN_APP = "ci-jobs-listen"
MIGRATION_LOCK = 0x63695F6A6F6273  # "ci_jobs": every node's migrate() takes this advisory lock
CLAIM_TRIES = 8
CALLBACK_LEASE = 60.0
LISTEN_PING_SECONDS = 30.0


async def apply_migrations(conn: Conn) -> int:
    """Apply pending migrations in one transaction under an advisory lock; return the schema version."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        await conn.execute(sql.SCHEMA_TABLE)
        version: int = await conn.fetchval("SELECT coalesce(max(version), 0) FROM ci_jobs_schema")
        for number, name, script in migrations("postgres"):
            if number > version:
                await conn.execute(script)
                await conn.execute("INSERT INTO ci_jobs_schema (version, name) VALUES ($1, $2)", number, name)
                version = number
    return version


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


class PostgresStore(TemplateRows, Wakeups):
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
        self._pending: list[tuple[list[JobRecord], asyncio.Future[Stored]]] = []
        self._flusher: asyncio.Task[None] | None = None

    # --- lifecycle --------------------------------------------------------------------------

    async def open(self) -> None:
        """Create the pool, migrate (unless told not to) and start listening for work."""
        try:
            self._pool = await asyncpg.create_pool(
                self.dsn, min_size=self.min_size, max_size=self.max_size, command_timeout=self.command_timeout,
                server_settings={"application_name": "ci-jobs"})
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
        if self._flusher is not None:
            await asyncio.shield(self._flusher)
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
            await conn.execute("TRUNCATE jobs, callbacks, templates")
            await conn.execute("UPDATE queues SET state = 'Active', notify = '{}', running = 0")
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
        rows = await self._fetch(sql.ENSURE_QUEUE, "p" + uuid.uuid4().hex, bucket, name, max_concurrent, category,
                                 time.time())
        return sql.queue(rows[0])

    async def queues(self, bucket: str) -> list[QueueRecord]:
        """All queues of a bucket, oldest first."""
        rows = await self._fetch(f"SELECT {sql.QUEUE_COLUMNS} FROM queues WHERE bucket = $1 ORDER BY created, name",
                                 bucket)
        return [sql.queue(r) for r in rows]

    async def update_queue(self, bucket: str, queue_id: str, name: str, state: str,
                           notify: dict[str, Any], now: float) -> QueueRecord | None:
        """Rename, pause/resume and set NotifyConfig; waiting jobs follow the queue state."""
        pausing = state == QueueState.PAUSED

        async def run(conn: Conn) -> Any:
            # FOR UPDATE conflicts with the KEY SHARE of in-flight job inserts: they commit first.
            if await conn.fetchval(sql.LOCK_QUEUE, queue_id, bucket) is None:
                return None
            row = await conn.fetchrow(sql.UPDATE_QUEUE, queue_id, name, state,
                                      json.dumps(notify, ensure_ascii=False), now)
            old, new = (JobState.SUBMITTED, JobState.PAUSE) if pausing else (JobState.PAUSE, JobState.SUBMITTED)
            await conn.execute("UPDATE jobs SET state = $3 WHERE queue_id = $1 AND state = $2",
                               queue_id, str(old), str(new))
            if not pausing:
                await conn.execute(sql.NOTIFY_IF_WAITING, queue_id)
            return row
        row = await self._tx(run)
        if row is None:
            return None
        if not pausing:
            self.notify_work()
        return sql.queue(row)

    # --- jobs -------------------------------------------------------------------------------

    async def insert_jobs(self, jobs: list[JobRecord]) -> list[JobRecord]:
        """Commit jobs (group-committed with concurrent inserts); return them once durable, as stored."""
        if not jobs:
            return []
        fut: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        self._pending.append((jobs, fut))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="postgres-group-commit")
        stored = await fut
        self.notify_work()
        return [dataclasses.replace(j, state=stored[j.job_id][0], seq=stored[j.job_id][1]) for j in jobs]

    async def _flush(self) -> None:
        """Commit everything pending in one transaction; should that fail, each request alone, so
        that one bad request does not fail its neighbours."""
        batch: list[tuple[list[JobRecord], asyncio.Future[Stored]]] = []
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    _settle(batch, await self._insert([j for jobs, _ in batch for j in jobs]))
                except Exception as exc:  # noqa: BLE001 - every waiter hears about it
                    if len(batch) == 1:
                        _settle(batch, exc)
                        continue
                    for one in batch:
                        try:
                            _settle([one], await self._insert(one[0]))
                        except Exception as exc:  # noqa: BLE001
                            _settle([one], exc)
        finally:  # cancelled mid-way: nobody may wait forever, and no refused request may commit later
            stranded, self._pending = batch + self._pending, []
            _settle(stranded, StoreError("job insert was interrupted"))

    async def _insert(self, jobs: list[JobRecord]) -> Stored:
        columns = [list(c) for c in zip(*(sql.job_row(j) for j in jobs), strict=True)]

        async def run(conn: Conn) -> Stored:
            rows = await conn.fetch(sql.INSERT_JOBS, *columns)
            if any(r["state"] == JobState.SUBMITTED for r in rows):
                await conn.execute(sql.NOTIFY)
            return {r["job_id"]: (r["state"], r["seq"]) for r in rows}
        return await self._tx(run)

    async def get_jobs(self, bucket: str, job_ids: list[str]) -> list[JobRecord]:
        """Jobs of a bucket by id, in the order asked."""
        if not job_ids:
            return []
        rows = await self._fetch(f"SELECT {sql.JOB_COLUMNS} FROM jobs WHERE bucket = $1 AND job_id = ANY($2::text[])",
                                 bucket, job_ids)
        found = {r["job_id"]: sql.job(r) for r in rows}
        return [found[i] for i in job_ids if i in found]

    async def list_jobs(self, bucket: str, flt: JobFilter) -> list[JobRecord]:
        """Jobs matching `flt`, by submission order, at most `size`."""
        where: list[str] = []
        args: list[Any] = []

        def cond(clause: str, value: Any) -> None:
            args.append(value)
            where.append(clause.replace("?", f"${len(args)}"))
        cond("bucket = ?", bucket)
        cond("tag = ?", flt.tag)
        if flt.queue_id:
            cond("queue_id = ?", flt.queue_id)
        if flt.states:
            cond("state = ANY(?::text[])", sorted(flt.states))
        if flt.start is not None:
            cond("created >= ?", flt.start)
        if flt.end is not None:
            cond("created <= ?", flt.end)
        if flt.input_object:
            cond("input_object = ?", flt.input_object)
        if flt.after_seq is not None:
            cond("seq > ?" if flt.ascending else "seq < ?", flt.after_seq)
        order = "ASC" if flt.ascending else "DESC"
        rows = await self._fetch(f"SELECT {sql.JOB_COLUMNS} FROM jobs WHERE {' AND '.join(where)}"
                                 f" ORDER BY seq {order} LIMIT ${len(args) + 1}", *args, flt.size)
        return [sql.job(r) for r in rows]

    async def cancel_job(self, bucket: str, job_id: str, now: float) -> JobRecord | None:
        """Waiting -> Cancel at once; Running -> flagged (its runner stops it within a heartbeat)."""
        async def run(conn: Conn) -> Any:
            await conn.execute(sql.CANCEL_WAITING, bucket, job_id, now)
            await conn.execute(sql.CANCEL_RUNNING, bucket, job_id)
            return await conn.fetchrow(f"SELECT {sql.JOB_COLUMNS} FROM jobs WHERE bucket = $1 AND job_id = $2",
                                       bucket, job_id)
        row = await self._tx(run)
        return None if row is None else sql.job(row)

    # --- running ----------------------------------------------------------------------------

    async def claim(self, node: str, now: float, lease_seconds: float,
                    tags: frozenset[str] | None = None) -> Claim | None:
        """Take the best job of the least-served active queue that has a free slot."""
        skipped: list[str] = []
        for _ in range(CLAIM_TRIES):
            got = await self._tx(lambda conn: self._claim_in(conn, node, now, lease_seconds, tags, skipped))
            if not isinstance(got, str):
                return got
            skipped.append(got)  # its waiting jobs were all locked (being cancelled, say): try another queue
        return None

    async def _claim_in(self, conn: Conn, node: str, now: float, lease_seconds: float,
                        tags: frozenset[str] | None, skipped: list[str]) -> Claim | str | None:
        """One claim transaction: a Claim, None when nothing is runnable, or the id of a queue to skip."""
        tag_sql, tag_args = ("", []) if tags is None else (" AND j.tag = ANY(${}::text[])", [sorted(tags)])
        pick = sql.PICK_QUEUE.format(tags=tag_sql.format(2), skip="{skip}")
        queue_id: str | None = await conn.fetchval(pick.format(skip=" SKIP LOCKED"), skipped, *tag_args)
        if queue_id is None:
            # Every eligible queue may be locked by a claimer on another connection: wait for the best
            # one rather than report "nothing to do" while work exists. This transaction holds no lock
            # yet, so the wait cannot deadlock; the row's conditions are re-checked after the wait.
            queue_id = await conn.fetchval(pick.format(skip=""), skipped, *tag_args)
            if queue_id is None:
                return None
        token, until = uuid.uuid4().hex, now + lease_seconds
        row = await conn.fetchrow(sql.TAKE_JOB.format(tags=tag_sql.format(6)), queue_id, now, token, until, node,
                                  *tag_args)
        if row is None:
            return queue_id
        await conn.execute(sql.TAKE_SLOT, queue_id, now)
        return Claim(sql.job(row), token, until)

    async def heartbeat(self, job_id: str, token: str, lease_until: float, progress: int) -> Beat:
        """Extend the lease and store progress, fenced by the token."""
        rows = await self._fetch(sql.HEARTBEAT, job_id, token, lease_until, progress)
        if not rows:
            return Beat.LOST
        return Beat.CANCEL if rows[0]["cancel_requested"] else Beat.OK

    async def finish(self, job_id: str, token: str, now: float, outcome: Outcome) -> bool:
        """Write the outcome, free the slot and enqueue callbacks atomically, only while the token holds."""
        async def run(conn: Conn) -> bool:
            queue_id = await conn.fetchval(sql.FINISH, job_id, token, str(outcome.state), outcome.code,
                                           sql.text(outcome.message), sql.dumps(outcome.result), now)
            if queue_id is None:
                return False
            await conn.execute(sql.FREE_SLOTS, queue_id, 1)
            await _insert_callbacks(conn, outcome.callbacks, now)
            await conn.execute(sql.NOTIFY_IF_WAITING, queue_id)  # a slot came free for its waiting jobs
            return True
        done = await self._tx(run)
        self.notify_work()
        return done

    async def rescue(self, now: float, max_attempts: int, on_fail: CallbackFactory,
                     everything: bool = False) -> list[JobRecord]:
        """Requeue (or fail) Running jobs whose lease expired — or all of them at a lone node's start."""
        cond, args = ("", ()) if everything else (" AND lease_until < $1", (now,))

        async def run(conn: Conn) -> list[JobRecord]:
            # SKIP LOCKED: a run finishing or heartbeating right now is alive, and two rescuers never wait
            # on each other's job rows; queue rows are then locked in one global order (no deadlock).
            rows = await conn.fetch(sql.RUNNING.format(cond=cond), *args)
            lost = Counter(r["queue_id"] for r in rows)
            for queue_id in sorted(lost):
                await conn.execute(sql.FREE_SLOTS, queue_id, lost[queue_id])
            touched = [await _rescue_one(conn, sql.job(r), now, max_attempts, on_fail) for r in rows]
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
        rows = await self._fetch(sql.DUE_CALLBACKS, now, limit, CALLBACK_LEASE)
        rows.sort(key=lambda r: (r["was"], r["callback_id"]))
        return [Callback(json.loads(r["target"]), bytes(r["body"]), r["content_type"], r["callback_id"],
                         r["attempts"], r["job_id"]) for r in rows]

    async def callback_done(self, callback_id: int) -> None:
        """Forget a delivered (or abandoned) callback."""
        await self._fetch("DELETE FROM callbacks WHERE callback_id = $1", callback_id)

    async def callback_retry(self, callback_id: int, attempts: int, next_at: float, error: str) -> None:
        """Record a failed attempt and when to try again."""
        await self._fetch(sql.CALLBACK_RETRY, callback_id, attempts, next_at, sql.text(error)[:500])

    # --- wake-ups: LISTEN/NOTIFY from every node sets the local event (Wakeups) ----------------

    async def _listen(self) -> Conn:
        conn = await asyncpg.connect(self.dsn, server_settings={"application_name": LISTEN_APP})
        try:
            await conn.add_listener(sql.CHANNEL, self._on_notify)
        except BaseException:
            conn.terminate()
            raise
        return conn

    def _on_notify(self, *_: object) -> None:
        self._work.set()

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


async def _rescue_one(conn: Conn, job: JobRecord, now: float, max_attempts: int,
                      on_fail: CallbackFactory) -> JobRecord:
    args: tuple[Any, ...]
    if job.cancel_requested:
        kind, args = "cancel", (now,)
    elif job.attempts >= max_attempts:
        kind, args = "fail", (now, f"The job's worker was lost {job.attempts} times; giving up.")
    else:
        kind, args = "requeue", ()
    touched = sql.job(await conn.fetchrow(sql.RESCUE.format(change=sql.RESCUE_CHANGES[kind]), job.job_id, *args))
    if kind == "fail":
        await _insert_callbacks(conn, on_fail(touched), now)
    return touched


async def _insert_callbacks(conn: Conn, callbacks: list[Callback], now: float) -> None:
    if callbacks:
        await conn.execute(sql.INSERT_CALLBACKS, [c.job_id for c in callbacks],
                           [json.dumps(c.target, ensure_ascii=False) for c in callbacks],
                           [c.body for c in callbacks], [c.content_type for c in callbacks], now)


def _settle(group: list[tuple[list[JobRecord], asyncio.Future[Stored]]], outcome: Stored | Exception) -> None:
    for _, fut in group:
        if fut.done():  # its caller was cancelled; the jobs may be committed all the same
            continue
        if isinstance(outcome, Exception):
            fut.set_exception(outcome)
        else:
            fut.set_result(outcome)
