"""Store throughput: claims per second across nodes and job inserts per second, SQLite vs PostgreSQL.

1. claim+finish of no-op jobs by `workers` concurrent claimers, each with its own PostgresStore (as
   separate nodes would), against the same loop on one SQLite store as the reference.
2. insert_jobs (one job per call, as one POST /jobs makes) from 32 concurrent inserters.

PostgreSQL comes from CI_JOBS_BENCH_PG (default: the test server, postgresql://postgres@127.0.0.1:5432/postgres);
each figure runs in a throwaway database. Run: .venv/bin/python bench/bench_store.py
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ci_jobs import ids  # noqa: E402
from ci_jobs.store import JobRecord, JobState, Outcome, Store  # noqa: E402
from ci_jobs.store.postgres import PostgresStore  # noqa: E402
from ci_jobs.store.sqlite import SqliteStore  # noqa: E402

PG = os.environ.get("CI_JOBS_BENCH_PG", os.environ.get("CI_JOBS_TEST_PG",
                                                        "postgresql://postgres@127.0.0.1:5432/postgres"))
BUCKET = "examplebucket-1250000000"
StoreFactory = Callable[[], Awaitable[Store]]


def _job(queue_id: str, i: int) -> JobRecord:
    return JobRecord(job_id=ids.new_id("j"), bucket=BUCKET, queue_id=queue_id, tag="Transcode",
                     state=JobState.SUBMITTED, level=i % 3, created=time.time(),
                     spec={"Tag": "Transcode", "Input": {"Object": f"input/{i}.mp4"},
                           "Operation": {"TemplateId": "t0" + "a" * 32,
                                         "Output": {"Bucket": BUCKET, "Object": f"out/{i}.mp4"}}})


async def _claim_finish(stores: list[Store], jobs: int) -> float:
    """Fill one queue with `jobs` jobs, then drain it with one claimer per store; return claims/s."""
    q = await stores[0].ensure_queue(BUCKET, "bench", 10_000)
    for start in range(0, jobs, 500):
        await stores[0].insert_jobs([_job(q.queue_id, i) for i in range(start, min(start + 500, jobs))])
    done = 0

    async def claimer(store: Store) -> None:
        nonlocal done
        while (c := await store.claim("bench", time.time(), 60)) is not None:
            await store.finish(c.job.job_id, c.token, time.time(), Outcome(JobState.SUCCESS))
            done += 1
    t0 = time.perf_counter()
    await asyncio.gather(*(claimer(s) for s in stores))
    elapsed = time.perf_counter() - t0
    if done != jobs:
        raise RuntimeError(f"claimed {done} of {jobs} jobs")
    return done / elapsed


async def claims_per_second(dsn: str, workers: int = 4, jobs: int = 2000) -> float:
    """Claim+finish rate of `workers` concurrent claimers, each on its own PostgresStore; prints it."""
    stores: list[Store] = []
    try:
        for _ in range(workers):
            s = PostgresStore(dsn, max_size=2)
            await s.open()
            stores.append(s)
        rate = await _claim_finish(stores, jobs)
    finally:
        for s in stores:
            await s.close()
    print(f"postgres claim+finish: {rate:,.0f} claims/s ({workers} nodes, {jobs} jobs)", flush=True)
    return rate


async def sqlite_claims_per_second(path: Path, workers: int = 4, jobs: int = 2000) -> float:
    """The reference: the same claimers sharing one SQLite store (the embedded, one-node case)."""
    store = SqliteStore(path)
    await store.open()
    try:
        rate = await _claim_finish([store] * workers, jobs)
    finally:
        await store.close()
    print(f"sqlite   claim+finish: {rate:,.0f} claims/s ({workers} claimers on one store, {jobs} jobs)", flush=True)
    return rate


async def submit_rate(store_factory: StoreFactory, n: int = 2000, concurrency: int = 32) -> float:
    """insert_jobs throughput (one job per call) from `concurrency` concurrent inserters; returns jobs/s."""
    store = await store_factory()
    try:
        q = await store.ensure_queue(BUCKET, "bench", 10)
        left = n

        async def inserter() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                await store.insert_jobs([_job(q.queue_id, left)])
        t0 = time.perf_counter()
        await asyncio.gather(*(inserter() for _ in range(concurrency)))
        return n / (time.perf_counter() - t0)
    finally:
        await store.close()


@asynccontextmanager
async def scratch_database(admin_dsn: str) -> AsyncIterator[str]:
    """A throwaway database on the server of `admin_dsn`."""
    name = f"ci_jobs_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield urlsplit(admin_dsn)._replace(path="/" + name).geturl()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="ci-jobs-bench-store-"))
    try:
        async def sqlite_store() -> Store:
            s = SqliteStore(work / f"submit-{uuid.uuid4().hex}.db")
            await s.open()
            return s
        sq_claims = await sqlite_claims_per_second(work / "claims.db")
        sq_submit = await submit_rate(sqlite_store)
        print(f"sqlite   insert_jobs: {sq_submit:,.0f} jobs/s (32 concurrent inserters)", flush=True)
        try:
            await (await asyncpg.connect(PG, timeout=5)).close()
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            print(f"PostgreSQL not reachable at {PG} ({exc}): no PostgreSQL figures")
            return
        async with scratch_database(PG) as dsn:
            pg_claims = await claims_per_second(dsn)
        async with scratch_database(PG) as dsn:
            async def pg_store() -> Store:
                s = PostgresStore(dsn, max_size=10)
                await s.open()
                return s
            pg_submit = await submit_rate(pg_store)
        print(f"postgres insert_jobs: {pg_submit:,.0f} jobs/s (32 concurrent inserters, pool of 10)")
        print(f"ratios postgres/sqlite: claims {pg_claims / sq_claims:.2f}, inserts {pg_submit / sq_submit:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
