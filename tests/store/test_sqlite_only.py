"""SQLite store beyond the contract: how a group-committed batch learns its seqs."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from ci_jobs import ids
from ci_jobs.store import JobRecord, JobState, migrations
from ci_jobs.store.sqlite import _plain_connection, _seqs


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
