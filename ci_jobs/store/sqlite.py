"""The embedded Store: one SQLite file in WAL mode through aiosqlite.

One writer connection serialises every write transaction behind an asyncio lock (statements of two
coroutines must never interleave inside one transaction); a second connection serves reads. Job
inserts from concurrent requests are group-committed: one transaction, one fsync, many jobs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import uuid
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from ..errors import StoreError
from . import (
    Beat,
    Callback,
    CallbackFactory,
    Claim,
    JobFilter,
    JobRecord,
    JobState,
    QueueRecord,
    QueueState,
    Wakeups,
    migrations,
)
from .sqlite_templates import TemplateRows

T = TypeVar("T")
JOB_COLUMNS = ("seq, job_id, bucket, queue_id, tag, state, level, created, started, ended, progress, "
               "code, message, spec, result, attempts, cancel_requested")
QUEUE_COLUMNS = ("queue_id, bucket, name, state, max_concurrent, max_size, notify, category, created, "
                 "updated, running")


class SqliteStore(TemplateRows, Wakeups):
    """Store on a SQLite file (`:memory:` is not supported: two connections must share it)."""

    def __init__(self, path: Path, synchronous: str = "FULL") -> None:
        self.path = path
        self.synchronous = synchronous
        self._w: aiosqlite.Connection | None = None
        self._r: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._pending: list[tuple[list[JobRecord], asyncio.Future[set[str]]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._work = asyncio.Event()
        # Job inserts are the hot path: one thread hop per group-committed batch (a whole
        # transaction in one call), on a connection of their own, instead of one hop per statement.
        self._inserter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-insert")
        self._insert_conn: sqlite3.Connection | None = None

    # --- lifecycle --------------------------------------------------------------------------

    async def open(self) -> None:
        """Open both connections and migrate."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._w = await self._connect()
            await self._migrate(self._w)
            self._r = await self._connect()
            self._insert_conn = await asyncio.get_running_loop().run_in_executor(
                self._inserter, _plain_connection, self.path, self.synchronous)
        except Exception as exc:
            raise StoreError(f"cannot open {self.path}: {exc}") from exc

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute(f"PRAGMA synchronous={self.synchronous}")
        await conn.execute("PRAGMA busy_timeout=10000")
        await conn.execute("PRAGMA foreign_keys=ON")
        return conn

    async def _migrate(self, conn: aiosqlite.Connection) -> None:
        async with conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        version = int(row[0]) if row else 0
        for number, _, script in migrations("sqlite"):
            if number > version:
                await conn.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version={number};\nCOMMIT;")

    async def close(self) -> None:
        """Flush pending inserts and close."""
        if self._flusher is not None:
            await asyncio.shield(self._flusher)
        for conn in (self._r, self._w):
            if conn is not None:
                await conn.close()
        self._w = self._r = None
        if self._insert_conn is not None:
            await asyncio.get_running_loop().run_in_executor(self._inserter, self._insert_conn.close)
            self._insert_conn = None
        self._inserter.shutdown(wait=False)

    async def reset(self) -> None:
        """Delete all jobs and callbacks; queues back to Active with no notification."""
        async def run(db: aiosqlite.Connection) -> None:
            await db.execute("DELETE FROM jobs")
            await db.execute("DELETE FROM callbacks")
            await db.execute("DELETE FROM templates")
            await db.execute("UPDATE queues SET state='Active', notify='{}', running=0")
        await self._tx(run)

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
                await db.execute("BEGIN IMMEDIATE")
                result = await fn(db)
                await db.execute("COMMIT")
                return result
            except BaseException as exc:
                with contextlib.suppress(Exception):  # the original error matters more
                    await db.execute("ROLLBACK")
                if isinstance(exc, StoreError | asyncio.CancelledError):
                    raise
                raise StoreError(f"store write failed: {exc}") from exc

    async def _read(self, sql: str, args: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        if self._r is None:
            raise StoreError("store is not open")
        try:
            async with self._r.execute(sql, tuple(args)) as cur:
                return list(await cur.fetchall())
        except Exception as exc:
            raise StoreError(f"store read failed: {exc}") from exc

    # --- queues -----------------------------------------------------------------------------

    async def ensure_queue(self, bucket: str, name: str, max_concurrent: int,
                           category: str = "Transcoding") -> QueueRecord:
        """Create the named queue if missing and return it."""
        async def run(db: aiosqlite.Connection) -> None:
            now = _now()
            await db.execute(
                "INSERT OR IGNORE INTO queues (queue_id, bucket, name, max_concurrent, category, created, updated)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                ("p" + uuid.uuid4().hex, bucket, name, max_concurrent, category, now, now))
            await db.execute("UPDATE queues SET max_concurrent=? WHERE bucket=? AND name=?",
                             (max_concurrent, bucket, name))
        await self._tx(run)
        rows = await self._read(f"SELECT {QUEUE_COLUMNS} FROM queues WHERE bucket=? AND name=?", (bucket, name))
        return _queue(rows[0])

    async def queues(self, bucket: str) -> list[QueueRecord]:
        """All queues of a bucket, oldest first."""
        rows = await self._read(f"SELECT {QUEUE_COLUMNS} FROM queues WHERE bucket=? ORDER BY created, name",
                                (bucket,))
        return [_queue(r) for r in rows]

    async def update_queue(self, bucket: str, queue_id: str, name: str, state: str,
                           notify: dict[str, Any], now: float) -> QueueRecord | None:
        """Rename, pause/resume and set NotifyConfig; waiting jobs follow the queue state."""
        async def run(db: aiosqlite.Connection) -> int:
            cur = await db.execute(
                "UPDATE queues SET name=?, state=?, notify=?, updated=? WHERE queue_id=? AND bucket=?",
                (name, state, json.dumps(notify), now, queue_id, bucket))
            if cur.rowcount == 0:
                return 0
            old, new = ((JobState.SUBMITTED, JobState.PAUSE) if state == QueueState.PAUSED
                        else (JobState.PAUSE, JobState.SUBMITTED))
            await db.execute("UPDATE jobs SET state=? WHERE queue_id=? AND state=?", (new, queue_id, old))
            return 1
        if not await self._tx(run):
            return None
        if state == QueueState.ACTIVE:
            self.notify_work()
        rows = await self._read(f"SELECT {QUEUE_COLUMNS} FROM queues WHERE queue_id=?", (queue_id,))
        return _queue(rows[0])

    # --- jobs -------------------------------------------------------------------------------

    async def insert_jobs(self, jobs: list[JobRecord]) -> list[JobRecord]:
        """Commit jobs (group-committed with other concurrent inserts); return them once durable."""
        fut: asyncio.Future[set[str]] = asyncio.get_running_loop().create_future()
        self._pending.append((jobs, fut))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="sqlite-group-commit")
        paused = await fut
        self.notify_work()
        return [JobRecord(**{**j.__dict__, "state": JobState.PAUSE}) if j.queue_id in paused else j for j in jobs]

    async def _flush(self) -> None:
        while self._pending:
            # Let the requests already being parsed join this batch: fewer, larger commits.
            if len(self._pending) < 64:
                await asyncio.sleep(0.001)
            batch, self._pending = self._pending, []
            rows = [_job_row(j) for jobs, _ in batch for j in jobs]
            try:
                async with self._lock:
                    paused = await asyncio.get_running_loop().run_in_executor(self._inserter, _insert_batch,
                                                                              self._insert_conn, rows)
            except BaseException as exc:  # noqa: BLE001 - every waiter hears about it
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc if isinstance(exc, Exception) else StoreError(str(exc)))
                continue
            for _, fut in batch:
                if not fut.done():
                    fut.set_result(paused)

    async def get_jobs(self, bucket: str, job_ids: list[str]) -> list[JobRecord]:
        """Jobs of a bucket by id, in the order asked."""
        if not job_ids:
            return []
        marks = ",".join("?" * len(job_ids))
        rows = await self._read(f"SELECT {JOB_COLUMNS} FROM jobs WHERE bucket=? AND job_id IN ({marks})",
                                (bucket, *job_ids))
        found = {r["job_id"]: _job(r) for r in rows}
        return [found[i] for i in job_ids if i in found]

    async def list_jobs(self, bucket: str, flt: JobFilter) -> list[JobRecord]:
        """Jobs matching `flt`, by submission order, at most `size`."""
        where: list[str] = ["bucket=?", "tag=?"]
        args: list[Any] = [bucket, flt.tag]
        if flt.queue_id:
            where.append("queue_id=?")
            args.append(flt.queue_id)
        if flt.states:
            where.append(f"state IN ({','.join('?' * len(flt.states))})")
            args.extend(sorted(flt.states))
        if flt.start is not None:
            where.append("created>=?")
            args.append(flt.start)
        if flt.end is not None:
            where.append("created<=?")
            args.append(flt.end)
        if flt.input_object:
            where.append("input_object=?")
            args.append(flt.input_object)
        if flt.after_seq is not None:
            where.append("seq>?" if flt.ascending else "seq<?")
            args.append(flt.after_seq)
        order = "ASC" if flt.ascending else "DESC"
        rows = await self._read(f"SELECT {JOB_COLUMNS} FROM jobs WHERE {' AND '.join(where)}"
                                f" ORDER BY seq {order} LIMIT ?", (*args, flt.size))
        return [_job(r) for r in rows]

    async def cancel_job(self, bucket: str, job_id: str, now: float) -> JobRecord | None:
        """Waiting -> Cancel at once; Running -> flagged (its runner stops it within a heartbeat)."""
        async def run(db: aiosqlite.Connection) -> None:
            await db.execute("UPDATE jobs SET state='Cancel', ended=?, code='Cancel', message='The job was cancelled.'"
                             " WHERE bucket=? AND job_id=? AND state IN ('Submitted','Pause')",
                             (now, bucket, job_id))
            await db.execute("UPDATE jobs SET cancel_requested=1 WHERE bucket=? AND job_id=? AND state='Running'",
                             (bucket, job_id))
        await self._tx(run)
        found = await self.get_jobs(bucket, [job_id])
        return found[0] if found else None

    # --- running ----------------------------------------------------------------------------

    async def claim(self, node: str, now: float, lease_seconds: float,
                    tags: frozenset[str] | None = None) -> Claim | None:
        """Take the best job of the least-served active queue that has a free slot."""
        tag_sql = ""
        tag_args: tuple[str, ...] = ()
        if tags is not None:
            tag_sql = f" AND j.tag IN ({','.join('?' * len(tags))})"
            tag_args = tuple(sorted(tags))

        async def run(db: aiosqlite.Connection) -> Claim | None:
            async with db.execute(
                "SELECT q.queue_id FROM queues q WHERE q.state='Active' AND q.running < q.max_concurrent"
                f" AND EXISTS (SELECT 1 FROM jobs j WHERE j.queue_id=q.queue_id AND j.state='Submitted'{tag_sql})"
                " ORDER BY q.running, q.last_claim LIMIT 1", tag_args) as cur:
                q = await cur.fetchone()
            if q is None:
                return None
            async with db.execute(
                f"SELECT {JOB_COLUMNS} FROM jobs j WHERE j.queue_id=? AND j.state='Submitted'{tag_sql}"
                " ORDER BY j.level DESC, j.seq LIMIT 1", (q[0], *tag_args)) as cur:
                row = await cur.fetchone()
            assert row is not None
            token, until = uuid.uuid4().hex, now + lease_seconds
            await db.execute(
                "UPDATE jobs SET state='Running', started=?, attempts=attempts+1, lease_token=?, lease_until=?,"
                " node=?, progress=0 WHERE job_id=?", (now, token, until, node, row["job_id"]))
            await db.execute("UPDATE queues SET running=running+1, last_claim=? WHERE queue_id=?", (now, q[0]))
            job = _job(row)
            job = JobRecord(**{**job.__dict__, "state": JobState.RUNNING, "started": now,
                               "attempts": job.attempts + 1})
            return Claim(job, token, until)
        return await self._tx(run)

    async def heartbeat(self, job_id: str, token: str, lease_until: float, progress: int) -> Beat:
        """Extend the lease and store progress, fenced by the token."""
        async def run(db: aiosqlite.Connection) -> Beat:
            cur = await db.execute(
                "UPDATE jobs SET lease_until=?, progress=? WHERE job_id=? AND lease_token=? AND state='Running'",
                (lease_until, progress, job_id, token))
            if cur.rowcount == 0:
                return Beat.LOST
            async with db.execute("SELECT cancel_requested FROM jobs WHERE job_id=?", (job_id,)) as c:
                row = await c.fetchone()
            return Beat.CANCEL if row and row[0] else Beat.OK
        return await self._tx(run)

    async def finish(self, job_id: str, token: str, now: float, outcome: Any) -> bool:
        """Write the outcome and its callbacks atomically, only while the token holds."""
        async def run(db: aiosqlite.Connection) -> bool:
            cur = await db.execute(
                "UPDATE jobs SET state=?, code=?, message=?, result=?, ended=?, lease_token=NULL,"
                " lease_until=NULL, progress=CASE WHEN ?='Success' THEN 100 ELSE progress END"
                " WHERE job_id=? AND lease_token=? AND state='Running'",
                (outcome.state, outcome.code, outcome.message, _dumps(outcome.result), now,
                 outcome.state, job_id, token))
            if cur.rowcount == 0:
                return False
            await db.execute("UPDATE queues SET running=MAX(running-1, 0) WHERE queue_id="
                             "(SELECT queue_id FROM jobs WHERE job_id=?)", (job_id,))
            await _insert_callbacks(db, outcome.callbacks, now)
            return True
        done = await self._tx(run)
        self.notify_work()
        return done

    async def rescue(self, now: float, max_attempts: int, on_fail: CallbackFactory,
                     everything: bool = False) -> list[JobRecord]:
        """Requeue (or fail) Running jobs whose lease expired — or all of them at a lone node's start."""
        cond = "state='Running'" + ("" if everything else " AND lease_until < ?")
        args: tuple[Any, ...] = () if everything else (now,)

        async def run(db: aiosqlite.Connection) -> list[JobRecord]:
            async with db.execute(f"SELECT {JOB_COLUMNS} FROM jobs WHERE {cond}", args) as cur:
                rows = [_job(r) for r in await cur.fetchall()]
            touched = []
            for job in rows:
                touched.append(await _rescue_one(db, job, now, max_attempts, on_fail))
            return touched
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
            async with db.execute(
                "SELECT callback_id, job_id, target, body, content_type, attempts FROM callbacks"
                " WHERE next_at<=? ORDER BY next_at LIMIT ?", (now, limit)) as cur:
                rows = list(await cur.fetchall())
            if rows:
                await db.execute(f"UPDATE callbacks SET next_at=? WHERE callback_id IN"
                                 f" ({','.join('?' * len(rows))})", (now + 60, *[r[0] for r in rows]))
            return [Callback(json.loads(r["target"]), bytes(r["body"]), r["content_type"], r["callback_id"],
                             r["attempts"], r["job_id"]) for r in rows]
        return await self._tx(run)

    async def callback_done(self, callback_id: int) -> None:
        """Forget a delivered (or abandoned) callback."""
        async def run(db: aiosqlite.Connection) -> None:
            await db.execute("DELETE FROM callbacks WHERE callback_id=?", (callback_id,))
        await self._tx(run)

    async def callback_retry(self, callback_id: int, attempts: int, next_at: float, error: str) -> None:
        """Record a failed attempt and when to try again."""
        async def run(db: aiosqlite.Connection) -> None:
            await db.execute("UPDATE callbacks SET attempts=?, next_at=?, last_error=? WHERE callback_id=?",
                             (attempts, next_at, error[:500], callback_id))
        await self._tx(run)



def _plain_connection(path: Path, synchronous: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def _insert_batch(conn: sqlite3.Connection | None, rows: list[tuple[Any, ...]]) -> set[str]:
    """One transaction: insert the jobs (Pause in paused queues), report which queues are paused."""
    if conn is None:
        raise StoreError("store is not open")
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO jobs (job_id, bucket, queue_id, tag, state, level, created, spec, input_object)"
            " VALUES (?, ?, ?, ?, (SELECT CASE WHEN q.state='Paused' THEN 'Pause' ELSE ? END"
            " FROM queues q WHERE q.queue_id=?), ?, ?, ?, ?)", rows)
        paused = {r[0] for r in conn.execute("SELECT queue_id FROM queues WHERE state='Paused'")}
        conn.execute("COMMIT")
        return paused
    except Exception as exc:
        with contextlib.suppress(Exception):
            conn.execute("ROLLBACK")
        raise StoreError(f"store write failed: {exc}") from exc


async def _rescue_one(db: aiosqlite.Connection, job: JobRecord, now: float, max_attempts: int,
                      on_fail: CallbackFactory) -> JobRecord:
    await db.execute("UPDATE queues SET running=MAX(running-1, 0) WHERE queue_id=?", (job.queue_id,))
    if job.cancel_requested:
        await db.execute("UPDATE jobs SET state='Cancel', ended=?, code='Cancel', message='The job was cancelled.',"
                         " lease_token=NULL WHERE job_id=?", (now, job.job_id))
        return JobRecord(**{**job.__dict__, "state": JobState.CANCEL, "ended": now})
    if job.attempts >= max_attempts:
        msg = f"The job's worker was lost {job.attempts} times; giving up."
        await db.execute("UPDATE jobs SET state='Failed', ended=?, code='WorkerLost', message=?, lease_token=NULL"
                         " WHERE job_id=?", (now, msg, job.job_id))
        failed = JobRecord(**{**job.__dict__, "state": JobState.FAILED, "ended": now, "code": "WorkerLost",
                              "message": msg})
        await _insert_callbacks(db, on_fail(failed), now)
        return failed
    await db.execute("UPDATE jobs SET state=(SELECT CASE WHEN q.state='Paused' THEN 'Pause' ELSE 'Submitted' END"
                     " FROM queues q WHERE q.queue_id=jobs.queue_id), lease_token=NULL, lease_until=NULL,"
                     " progress=0 WHERE job_id=?", (job.job_id,))
    return JobRecord(**{**job.__dict__, "state": JobState.SUBMITTED})


async def _insert_callbacks(db: aiosqlite.Connection, callbacks: list[Callback], now: float) -> None:
    if callbacks:
        await db.executemany(
            "INSERT INTO callbacks (job_id, target, body, content_type, next_at) VALUES (?, ?, ?, ?, ?)",
            [(c.job_id, json.dumps(c.target), c.body, c.content_type, now) for c in callbacks])


def _now() -> float:
    import time
    return time.time()


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _job_row(j: JobRecord) -> tuple[Any, ...]:
    return (j.job_id, j.bucket, j.queue_id, j.tag, j.state, j.queue_id, j.level, j.created,
            json.dumps(j.spec, ensure_ascii=False), str(j.spec.get("Input", {}).get("Object", ""))
            if isinstance(j.spec.get("Input"), dict) else "")


def _job(r: aiosqlite.Row) -> JobRecord:
    return JobRecord(
        job_id=r["job_id"], bucket=r["bucket"], queue_id=r["queue_id"], tag=r["tag"], state=r["state"],
        level=r["level"], created=r["created"], spec=json.loads(r["spec"]), seq=r["seq"], started=r["started"],
        ended=r["ended"], progress=r["progress"], code=r["code"], message=r["message"],
        result=json.loads(r["result"]) if r["result"] else None, attempts=r["attempts"],
        cancel_requested=bool(r["cancel_requested"]))


def _queue(r: aiosqlite.Row) -> QueueRecord:
    return QueueRecord(
        queue_id=r["queue_id"], bucket=r["bucket"], name=r["name"], state=r["state"],
        max_concurrent=r["max_concurrent"], max_size=r["max_size"], notify=json.loads(r["notify"]),
        category=r["category"], created=r["created"], updated=r["updated"], running=r["running"])
