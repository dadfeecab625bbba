"""PostgreSQL store beyond the contract: several nodes on one database, wake-ups, migrations, fencing."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager

import asyncpg
import pytest

from ci_jobs import ids
from ci_jobs.domain import priority
from ci_jobs.errors import StoreError
from ci_jobs.store import Beat, Callback, JobRecord, JobState, Outcome, migrations
from ci_jobs.store import postgres_sql as sql
from ci_jobs.store.postgres import LISTEN_APP, PostgresStore, migrate_only

B = "examplebucket-1250000000"


def job(queue_id: str, level: int = 0) -> JobRecord:
    return JobRecord(job_id=ids.new_id("j"), bucket=B, queue_id=queue_id, tag="Transcode", state=JobState.SUBMITTED,
                     level=level, created=time.time(), spec={"Input": {"Object": "a.mp4"}})


@asynccontextmanager
async def nodes(dsn: str, n: int) -> AsyncIterator[list[PostgresStore]]:
    """`n` stores on one database, as `n` ci-jobs nodes would have."""
    async with AsyncExitStack() as stack:
        stores = []
        for _ in range(n):
            s = PostgresStore(dsn, max_size=4)
            await s.open()
            stack.push_async_callback(s.close)
            stores.append(s)
        yield stores


async def drain(store: PostgresStore, busy: Callable[[], None] | None = None) -> list[str]:
    """Claim and finish until nothing is claimable; return the claimed job ids."""
    claimed = []
    while (c := await store.claim("n", time.time(), 30)) is not None:
        claimed.append(c.job.job_id)
        if busy is not None:
            busy()
        await asyncio.sleep(0.002)  # the "work": keeps runs overlapping if the limit ever leaks
        assert await store.finish(c.job.job_id, c.token, time.time(), Outcome(JobState.SUCCESS))
    return claimed


async def test_two_nodes_never_exceed_max_concurrent(pg_dsn: str) -> None:
    async with nodes(pg_dsn, 2) as (a, b):
        q = await a.ensure_queue(B, "queue-1", 1)
        jobs = [job(q.queue_id) for _ in range(30)]
        await a.insert_jobs(jobs)
        running, peak = 0, 0

        async def claimer(store: PostgresStore) -> list[str]:
            nonlocal running, peak
            claimed = []
            while (c := await store.claim("n", time.time(), 30)) is not None:
                running += 1
                peak = max(peak, running)
                claimed.append(c.job.job_id)
                await asyncio.sleep(0.002)
                running -= 1
                assert await store.finish(c.job.job_id, c.token, time.time(), Outcome(JobState.SUCCESS))
            return claimed
        results = await asyncio.gather(*(claimer(s) for s in (a, b, a, b, a, b)))
        claimed = [j for r in results for j in r]
        # a claimer may give up while another holds the only slot; whatever is left is claimable now
        claimed += await drain(a)
        assert peak == 1
        assert sorted(claimed) == sorted(j.job_id for j in jobs)
        assert (await b.queues(B))[0].running == 0


async def test_four_nodes_claim_each_job_exactly_once(pg_dsn: str) -> None:
    async with nodes(pg_dsn, 4) as stores:
        queues = [await stores[0].ensure_queue(B, f"queue-{i}", 1000) for i in range(3)]
        jobs = [job(queues[i % 3].queue_id, level=i % 3) for i in range(200)]
        await stores[0].insert_jobs(jobs)
        results = await asyncio.gather(*(drain(s) for s in stores for _ in range(2)))
        claimed = [j for r in results for j in r]
        assert len(claimed) == 200 and sorted(claimed) == sorted(j.job_id for j in jobs)
        assert all(len(r) > 0 for r in results)  # nobody gave up early while work existed
        assert [q.running for q in await stores[1].queues(B)] == [0, 0, 0]


async def test_claim_waits_for_a_locked_queue_instead_of_returning_none(pg_dsn: str) -> None:
    async with nodes(pg_dsn, 1) as (store,):
        q = await store.ensure_queue(B, "queue-1", 10)
        await store.insert_jobs([job(q.queue_id)])
        other = await asyncpg.connect(pg_dsn)
        try:
            tx = other.transaction()
            await tx.start()
            await other.execute("SELECT 1 FROM queues WHERE queue_id = $1 FOR NO KEY UPDATE", q.queue_id)
            pending = asyncio.create_task(store.claim("n", time.time(), 30))
            await asyncio.wait_for(_lock_waiters(other, 1), 10)
            assert not pending.done()
            await tx.rollback()
            assert await asyncio.wait_for(pending, 10) is not None
        finally:
            await other.close()


async def _lock_waiters(conn: asyncpg.Connection, n: int) -> None:
    """Return once `n` sessions of this database wait on a lock."""
    while await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                              " AND wait_event_type = 'Lock'") < n:
        await asyncio.sleep(0.01)


async def test_claim_skips_a_locked_job(pg_dsn: str) -> None:
    async with nodes(pg_dsn, 1) as (store,):
        q = await store.ensure_queue(B, "queue-1", 10)
        best, next_best = job(q.queue_id, level=2), job(q.queue_id, level=1)
        await store.insert_jobs([best, next_best])
        other = await asyncpg.connect(pg_dsn)
        try:
            async with other.transaction():
                await other.execute("SELECT 1 FROM jobs WHERE job_id = $1 FOR UPDATE", best.job_id)
                c = await asyncio.wait_for(store.claim("n", time.time(), 30), 5)
                assert c is not None and c.job.job_id == next_best.job_id
        finally:
            await other.close()


async def test_notify_wakes_another_node(pg_dsn: str) -> None:
    async with nodes(pg_dsn, 2) as (a, b):
        q = await a.ensure_queue(B, "queue-1", 10)
        await b.wait_for_work(0)  # forget earlier wake-ups
        waiting = asyncio.create_task(b.wait_for_work(30))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        t0 = time.monotonic()
        await a.insert_jobs([job(q.queue_id)])
        await waiting
        assert time.monotonic() - t0 < 1.0


async def test_listener_reconnects_after_its_connection_dies(pg_dsn: str) -> None:
    async with nodes(pg_dsn, 2) as (a, b):
        q = await a.ensure_queue(B, "queue-1", 10)
        killer = await asyncpg.connect(pg_dsn)
        try:
            killed = await killer.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = $1 AND datname = current_database()", LISTEN_APP)
        finally:
            await killer.close()
        assert killed == 2
        await b.wait_for_work(0)
        await asyncio.wait_for(_relistening(pg_dsn, 2), 10)
        await b.wait_for_work(0)  # the reconnect itself wakes waiters (a NOTIFY may have been missed)
        waiting = asyncio.create_task(b.wait_for_work(30))
        t0 = time.monotonic()
        await a.insert_jobs([job(q.queue_id)])
        await waiting
        assert time.monotonic() - t0 < 1.0


async def _relistening(dsn: str, n: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        while await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1"
                                  " AND datname = current_database() AND query LIKE 'LISTEN%'", LISTEN_APP) < n:
            await asyncio.sleep(0.05)
    finally:
        await conn.close()


async def test_migrations_are_idempotent_and_safe_concurrently(pg_dsn: str) -> None:
    versions = await asyncio.gather(migrate_only(pg_dsn), migrate_only(pg_dsn), migrate_only(pg_dsn))
    latest = migrations("postgres")[-1][0]
    assert versions == [latest] * 3
    async with nodes(pg_dsn, 2) as (a, b):  # opening migrates again, twice at once
        await a.ensure_queue(B, "queue-1", 10)
    assert await migrate_only(pg_dsn) == latest
    conn = await asyncpg.connect(pg_dsn)
    try:
        recorded = [r["version"] for r in await conn.fetch("SELECT version FROM ci_jobs_schema ORDER BY version")]
        assert recorded == [n for n, _, _ in migrations("postgres")]
    finally:
        await conn.close()


async def test_a_database_of_version_2_migrates_and_its_jobs_have_no_task(pg_dsn: str) -> None:
    conn = await asyncpg.connect(pg_dsn)
    try:
        await conn.execute(sql.SCHEMA_TABLE)
        for number, name, script in migrations("postgres")[:2]:
            await conn.execute(script)
            await conn.execute("INSERT INTO ci_jobs_schema (version, name) VALUES ($1, $2)", number, name)
        await conn.execute("INSERT INTO queues (queue_id, bucket, name, max_concurrent, created, updated)"
                           " VALUES ('q', $1, 'queue-1', 1, 0, 0)", B)
        old = job("q")
        await conn.execute("INSERT INTO jobs (job_id, bucket, queue_id, tag, state, created, spec)"
                           " VALUES ($1, $2, 'q', 'Transcode', 'Submitted', 0, '{}')", old.job_id, B)
    finally:
        await conn.close()
    async with nodes(pg_dsn, 1) as (store,):
        (read,) = await store.get_jobs(B, [old.job_id])
        assert read.task_id == "" and read.state == JobState.SUBMITTED
        claim = await store.claim("n1", time.time(), 30)
        assert claim is not None and claim.job.job_id == old.job_id and claim.job.task_id == ""
    assert await migrate_only(pg_dsn) == migrations("postgres")[-1][0]


async def test_two_stores_opening_an_empty_database_at_once(pg_dsn: str) -> None:
    stores = [PostgresStore(pg_dsn), PostgresStore(pg_dsn), PostgresStore(pg_dsn)]
    await asyncio.gather(*(s.open() for s in stores))
    try:
        q = await stores[0].ensure_queue(B, "queue-1", 10)
        assert [x.queue_id for x in await stores[2].queues(B)] == [q.queue_id]
    finally:
        await asyncio.gather(*(s.close() for s in stores))


async def test_lost_lease_cannot_finish_after_rescue_on_another_node(pg_dsn: str) -> None:
    async with nodes(pg_dsn, 2) as (a, b):
        q = await a.ensure_queue(B, "queue-1", 1)
        j = job(q.queue_id)
        await a.insert_jobs([j])
        old = await a.claim("node-a", 1000.0, 5)
        assert old is not None
        touched = await b.rescue(2000.0, 3, lambda r: [])
        assert [t.job_id for t in touched] == [j.job_id] and touched[0].state == JobState.SUBMITTED
        new = await b.claim("node-b", 2001.0, 5)
        assert new is not None and new.job.attempts == 2
        assert await a.heartbeat(j.job_id, old.token, 2100.0, 50) == Beat.LOST
        assert not await a.finish(j.job_id, old.token, 2002.0, Outcome(JobState.FAILED, "X", "late"))
        assert (await a.queues(B))[0].running == 1
        assert await b.finish(j.job_id, new.token, 2003.0, Outcome(JobState.SUCCESS))
        done = (await a.get_jobs(B, [j.job_id]))[0]
        assert done.state == JobState.SUCCESS and done.code == "Success"
        assert (await a.queues(B))[0].running == 0


async def test_a_finish_is_durable_when_it_returns(pg_dsn: str) -> None:
    """FINISH_ALL commits lazily (the queue row is not held across an fsync); finish() returns only after a
    durable commit behind it, so the WAL holding the outcome is flushed by then (nothing else writes here)."""
    async with nodes(pg_dsn, 1) as (a,):
        q = await a.ensure_queue(B, "queue-1", 1)
        j = job(q.queue_id)
        await a.insert_jobs([j])
        c = await a.claim("n", time.time(), 30)
        assert c is not None
        observer = await asyncpg.connect(pg_dsn)
        try:
            assert await a.finish(j.job_id, c.token, time.time(), Outcome(JobState.SUCCESS))
            assert await observer.fetchval("SELECT pg_current_wal_flush_lsn() >= pg_current_wal_insert_lsn()")
            assert await observer.fetchval("SELECT state FROM jobs WHERE job_id = $1", j.job_id) == "Success"
        finally:
            await observer.close()
        assert await a._db.fetchval("SHOW synchronous_commit") == "on"  # the lazy commit was the statement's only


async def test_records_round_trip_exactly(pg_dsn: str) -> None:
    async with nodes(pg_dsn, 1) as (store,):
        notify = {"State": "On", "Url": "http://x/cb", "Type": "Url", "Event": "TaskFinish"}
        q = await store.ensure_queue(B, "queue-1", 10)
        q = await store.update_queue(B, q.queue_id, "queue-1", "Active", notify, 5.5) or q
        assert list(q.notify.items()) == list(notify.items())
        spec = {"Tag": "Transcode", "Input": {"Object": "视频/a b.mp4"},
                "Operation": {"Z": "1", "A": ["x", {"n": 1.5}]}, "Nul": "a\x00b"}
        j = JobRecord(**{**job(q.queue_id).__dict__, "spec": spec, "created": 1656314590.123456})
        await store.insert_jobs([j])
        c = await store.claim("n", 1656314591.25, 30)
        assert c is not None
        result = {"MediaInfo": {"Stream": {"Video": [{"Width": "1920"}]}}, "B": None, "A": True}
        body = bytes(range(256))
        cb = Callback({"type": "Url", "url": "http://x", "headers": {"B": "1", "A": "2"}}, body, "application/xml",
                      job_id=j.job_id)
        assert await store.finish(j.job_id, c.token, 1656314600.5, Outcome(JobState.SUCCESS, result=result,
                                                                             callbacks=[cb]))
        got = (await store.get_jobs(B, [j.job_id]))[0]
        assert json.dumps(got.spec) == json.dumps(spec) and json.dumps(got.result) == json.dumps(result)
        assert (got.created, got.started, got.ended) == (1656314590.123456, 1656314591.25, 1656314600.5)
        due = await store.due_callbacks(1e10, 10)
        assert len(due) == 1 and due[0].body == body and json.dumps(due[0].target) == json.dumps(cb.target)
        assert (due[0].job_id, due[0].content_type) == (j.job_id, "application/xml")


async def test_one_bad_insert_does_not_fail_its_group_commit_neighbours(pg_dsn: str) -> None:
    async with nodes(pg_dsn, 1) as (store,):
        q = await store.ensure_queue(B, "queue-1", 10)
        good = [[job(q.queue_id), job(q.queue_id)] for _ in range(5)]
        bad = [job(q.queue_id), job("p" + "0" * 32)]  # no such queue: the whole request must fail
        results = await asyncio.gather(*(store.insert_jobs(js) for js in [*good[:2], bad, *good[2:]]),
                                       return_exceptions=True)
        assert isinstance(results[2], StoreError)
        assert all(isinstance(r, list) and len(r) == 2 for i, r in enumerate(results) if i != 2)
        stored = await store.get_jobs(B, [j.job_id for js in [*good, bad] for j in js])
        assert {j.job_id for j in stored} == {j.job_id for js in good for j in js}


async def test_pause_while_inserting_leaves_no_submitted_job(pg_dsn: str) -> None:
    async with nodes(pg_dsn, 2) as (a, b):
        q = await a.ensure_queue(B, "queue-1", 10)

        async def submit() -> None:
            for _ in range(20):
                await a.insert_jobs([job(q.queue_id) for _ in range(5)])
        inserting = asyncio.create_task(submit())
        await asyncio.sleep(0.01)
        await b.update_queue(B, q.queue_id, "queue-1", "Paused", {}, time.time())
        await inserting
        conn = await asyncpg.connect(pg_dsn)
        try:
            states = {r["state"] for r in await conn.fetch("SELECT DISTINCT state FROM jobs")}
        finally:
            await conn.close()
        assert states == {JobState.PAUSE}


async def test_unreachable_server_is_a_store_error() -> None:
    store = PostgresStore("postgresql://postgres:secret@127.0.0.1:1/nothing")
    with pytest.raises(StoreError) as err:
        await store.open()
    assert "secret" not in str(err.value)
    with pytest.raises(StoreError):
        await migrate_only("postgresql://postgres@127.0.0.1:1/nothing")


async def test_domain_events_cross_nodes_as_typed_payloads(pg_dsn: str) -> None:
    """JobFinished on node A reaches node B's remote subscribers typed, once; A does not hear its own."""
    from ci_jobs.app.cluster import EventRelay
    from ci_jobs.domain.events import EventBus, JobFinished, ObjectCreated, Source

    async with nodes(pg_dsn, 2) as (a, b):
        buses = {"a": EventBus(), "b": EventBus()}
        heard: dict[str, list[object]] = {"a": [], "b": [], "b-local": []}
        for name, store in (("a", a), ("b", b)):
            EventRelay(buses[name], store, node=name).attach()
            for kind in (JobFinished, ObjectCreated):
                buses[name].subscribe(kind, lambda e, n=name: _keep(heard[n], e), remote=True)
        buses["b"].subscribe(JobFinished, lambda e: _keep(heard["b-local"], e))
        finished = JobFinished("j1", B, "Transcode", "Failed", "InvalidInput")
        created = ObjectCreated(B, "out/clip.mp4", 10, '"e"', Source.JOB)
        await buses["a"].publish(finished)
        await buses["a"].publish(created)
        for _ in range(200):
            if len(heard["b"]) == 2:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)  # time for a duplicate or an echo to arrive, if there were one
        assert heard["b"] == [finished, created]
        assert heard["a"] == [finished, created]  # its own subscribers, locally; no echo from NOTIFY
        assert heard["b-local"] == []  # a subscriber that did not ask for remote events


async def _keep(into: list[object], event: object) -> None:
    into.append(event)


async def test_offline_work_waits_while_a_queue_with_online_work_is_locked(pg_dsn: str) -> None:
    """A claimer that skips a queue locked by another claimer still sees its Online jobs: no Offline job
    is taken meanwhile; the claim waits for the lock and then takes the Online job."""
    async with nodes(pg_dsn, 1) as (store,):
        busy = await store.ensure_queue(B, "queue-busy", 10)
        quiet = await store.ensure_queue(B, "queue-offline", 10)
        online, idle = job(busy.queue_id), job(quiet.queue_id, priority.from_tasks_priority(0, offline=True))
        await store.insert_jobs([online, idle])
        other = await asyncpg.connect(pg_dsn)
        try:
            tx = other.transaction()
            await tx.start()
            await other.execute("SELECT 1 FROM queues WHERE queue_id = $1 FOR NO KEY UPDATE", busy.queue_id)
            pending = asyncio.create_task(store.claim("n", time.time(), 30))
            await asyncio.wait_for(_lock_waiters(other, 1), 10)
            assert not pending.done()
            await tx.rollback()
            first = await asyncio.wait_for(pending, 10)
            assert first is not None and first.job.job_id == online.job_id
            second = await store.claim("n", time.time(), 30)
            assert second is not None and second.job.job_id == idle.job_id
        finally:
            await other.close()


async def test_a_nonce_used_on_one_node_is_refused_on_another(pg_dsn: str) -> None:
    async with nodes(pg_dsn, 2) as (a, b):
        now = time.time()
        assert await a.first_use("tc3:sig", now + 300, now)
        assert not await b.first_use("tc3:sig", now + 300, now)
        racing = await asyncio.gather(*(s.first_use("tc3:race", now + 300, now) for s in (a, b, a, b)))
        assert sorted(racing) == [False, False, False, True]   # exactly one node's use wins
