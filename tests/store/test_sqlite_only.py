"""SQLite store beyond the contract: how a group-committed batch learns its seqs; migrating an older database."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

from ci_jobs import ids
from ci_jobs.domain.tasks import TaskKind
from ci_jobs.store import JobRecord, JobState, TaskRecord, migrations
from ci_jobs.store import sqlite_sql as sql
from ci_jobs.store.sqlite import SqliteStore, _plain_connection, _seqs


def _jobs(n: int) -> list[JobRecord]:
    return [JobRecord(job_id=ids.new_id("j"), bucket="b", queue_id="q", tag="Transcode", state=JobState.SUBMITTED,
                      level=0, created=time.time(), spec={}) for _ in range(n)]


def _db(tmp_path: Path) -> sqlite3.Connection:
    conn = _plain_connection(tmp_path / "x.db", "OFF")
    for _, _, script in migrations("sqlite"):
        conn.executescript(script)
    conn.execute("INSERT INTO queues (queue_id, bucket, name, max_concurrent, created, updated)"
                 " VALUES ('q', 'b', 'n', 1, 0, 0)")
    return conn


def _insert(conn: sqlite3.Connection, jobs: list[JobRecord], seqs: list[int | None]) -> None:
    conn.executemany("INSERT INTO jobs (seq, job_id, bucket, queue_id, tag, state, created, spec)"
                     " VALUES (?, ?, 'b', 'q', 'Transcode', 'Submitted', 0, '{}')",
                     [(s, j.job_id) for j, s in zip(jobs, seqs, strict=True)])


def test_consecutive_seqs_come_from_the_last_insert(tmp_path: Path) -> None:
    conn = _db(tmp_path)
    _insert(conn, _jobs(3), [None] * 3)
    batch = _jobs(4)
    _insert(conn, batch, [None] * 4)
    assert _seqs(conn, batch) == [4, 5, 6, 7]


def test_seqs_with_gaps_are_looked_up_by_id(tmp_path: Path) -> None:
    conn = _db(tmp_path)
    batch = _jobs(3)
    _insert(conn, batch, [2, 9, 30])
    assert _seqs(conn, batch) == [2, 9, 30]


async def test_a_database_of_version_2_migrates_and_its_jobs_have_no_task(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = _plain_connection(path, "FULL")
    for number, _, script in migrations("sqlite")[:2]:
        conn.executescript(sql.MIGRATION.format(script=script, number=number))
    conn.execute("INSERT INTO queues (queue_id, bucket, name, max_concurrent, created, updated)"
                 " VALUES ('q', 'b', 'queue-1', 1, 0, 0)")
    old = _jobs(1)[0]
    conn.execute("INSERT INTO jobs (job_id, bucket, queue_id, tag, state, level, created, spec, input_object)"
                 " VALUES (?, 'b', 'q', 'Transcode', 'Submitted', 0, 0, '{}', '')", (old.job_id,))
    assert conn.execute(sql.USER_VERSION).fetchone() == (2,)
    conn.close()
    store = SqliteStore(path)
    await store.open()
    try:
        (read,) = await store.get_jobs("b", [old.job_id])
        assert read.task_id == "" and read.state == JobState.SUBMITTED
        new = JobRecord(**{**_jobs(1)[0].__dict__, "task_id": "k" + "0" * 32})
        task = TaskRecord(new.task_id, "b", TaskKind.REQUEST, "ci", 1.0, (new.job_id,))
        await store.insert_jobs([new], task)
        assert await store.get_task("b", task.task_id) is not None
        claim = await store.claim("n1", 2.0, 30)
        assert claim is not None and claim.job.job_id == old.job_id and claim.job.task_id == ""
    finally:
        await store.close()
    check = sqlite3.connect(path)
    assert check.execute(sql.USER_VERSION).fetchone() == (len(migrations("sqlite")),)
    check.close()


async def test_a_batch_over_one_statement_keeps_order_states_and_tasks(tmp_path: Path) -> None:
    """Job and task rows go in as multi-row INSERTs of at most 64 rows: 150 concurrent submissions (one
    group commit) keep their order, their seqs, the paused queue's state and every task."""
    store = SqliteStore(tmp_path / "x.db")
    await store.open()
    try:
        active = await store.ensure_queue("b", "queue-1", 1)
        paused = await store.ensure_queue("b", "queue-2", 1)
        await store.update_queue("b", paused.queue_id, "queue-2", "Paused", {}, time.time())
        inserts = []
        for i in range(150):
            queue = paused if i % 3 == 0 else active
            job = JobRecord(job_id=ids.new_id("j"), bucket="b", queue_id=queue.queue_id, tag="Transcode",
                            state=JobState.SUBMITTED, level=0, created=1000.0 + i, spec={"n": i},
                            task_id=ids.new_id("k"))
            inserts.append(([job], TaskRecord(job.task_id, "b", TaskKind.REQUEST, "ci", job.created, (job.job_id,))))
        results = await asyncio.gather(*(store.insert_jobs(jobs, task) for jobs, task in inserts))
        stored = [r[0] for r in results]
        assert [j.seq for j in stored] == sorted(j.seq for j in stored) and len({j.seq for j in stored}) == 150
        assert [j.state for j in stored] == [JobState.PAUSE if i % 3 == 0 else JobState.SUBMITTED
                                             for i in range(150)]
        read = await store.get_jobs("b", [j.job_id for j in stored])
        by_id = {j.job_id: j for j in read}
        assert all(by_id[j.job_id].seq == j.seq and by_id[j.job_id].state == j.state
                   and by_id[j.job_id].spec == {"n": i} for i, j in enumerate(stored))
        for jobs, task in inserts[::37]:
            found = await store.get_task("b", task.task_id)
            assert found is not None and found.job_ids == (jobs[0].job_id,)
    finally:
        await store.close()
