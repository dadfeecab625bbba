"""Group commit (store/batching.py) on a fake commit: one transaction for concurrent requests, a bad one fails alone."""

from __future__ import annotations

import asyncio

import pytest

from ci_jobs.errors import StoreError
from ci_jobs.store.batching import GroupCommit


class FakeDatabase:
    """Commits lists of ints; a request containing a negative number makes its whole transaction fail."""

    def __init__(self) -> None:
        self.transactions: list[list[list[int]]] = []
        self.gate: asyncio.Event | None = None

    async def commit(self, requests: list[list[int]]) -> list[int]:
        self.transactions.append(requests)
        if self.gate is not None:
            await self.gate.wait()
        if any(n < 0 for r in requests for n in r):
            raise StoreError("constraint violated")
        return [sum(r) for r in requests]


async def test_concurrent_requests_share_one_commit() -> None:
    db = FakeDatabase()
    batch: GroupCommit[list[int], int] = GroupCommit(db.commit, "test-commit")
    assert await asyncio.gather(*(batch.submit([i, i]) for i in range(5))) == [0, 2, 4, 6, 8]
    assert db.transactions == [[[0, 0], [1, 1], [2, 2], [3, 3], [4, 4]]]


async def test_a_failing_batch_is_retried_request_by_request() -> None:
    db = FakeDatabase()
    batch: GroupCommit[list[int], int] = GroupCommit(db.commit, "test-commit")
    results = await asyncio.gather(batch.submit([1]), batch.submit([2, -1]), batch.submit([3]),
                                   return_exceptions=True)
    assert results[0] == 1 and results[2] == 3 and isinstance(results[1], StoreError)
    assert db.transactions == [[[1], [2, -1], [3]], [[1]], [[2, -1]], [[3]]]


async def test_a_lone_failing_request_is_not_retried() -> None:
    db = FakeDatabase()
    batch: GroupCommit[list[int], int] = GroupCommit(db.commit, "test-commit")
    with pytest.raises(StoreError):
        await batch.submit([-1])
    assert db.transactions == [[[-1]]]
    assert await batch.submit([4]) == 4


async def test_requests_arriving_during_a_commit_form_the_next_batch() -> None:
    db = FakeDatabase()
    db.gate = asyncio.Event()
    batch: GroupCommit[list[int], int] = GroupCommit(db.commit, "test-commit")
    first = asyncio.create_task(batch.submit([1]))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    later = [asyncio.create_task(batch.submit([n])) for n in (2, 3)]
    await asyncio.sleep(0)
    db.gate.set()
    assert [await first, *[await t for t in later]] == [1, 2, 3]
    assert db.transactions == [[[1]], [[2], [3]]]


async def test_linger_lets_concurrent_requests_join() -> None:
    db = FakeDatabase()
    batch: GroupCommit[list[int], int] = GroupCommit(db.commit, "test-commit", linger=0.01, full=64)

    async def late(n: int) -> int:
        await asyncio.sleep(0)  # arrives after the flusher started, within its linger
        return await batch.submit([n])
    assert list(await asyncio.gather(batch.submit([1]), late(2))) == [1, 2]
    assert db.transactions == [[[1], [2]]]


async def test_nobody_waits_forever_when_the_flusher_is_cancelled() -> None:
    db = FakeDatabase()
    db.gate = asyncio.Event()  # the commit never returns
    batch: GroupCommit[list[int], int] = GroupCommit(db.commit, "test-commit")
    waiters = [asyncio.create_task(batch.submit([n])) for n in (1, 2)]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert batch._flusher is not None
    batch._flusher.cancel()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert all(isinstance(r, StoreError) and "interrupted" in str(r) for r in results)
    db.gate.set()
    assert await batch.submit([5]) == 5  # a new flusher serves later requests


async def test_a_cancelled_caller_does_not_disturb_its_batch() -> None:
    db = FakeDatabase()
    db.gate = asyncio.Event()
    batch: GroupCommit[list[int], int] = GroupCommit(db.commit, "test-commit")
    gone = asyncio.create_task(batch.submit([1]))
    stays = asyncio.create_task(batch.submit([2]))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    gone.cancel()
    db.gate.set()
    assert await stays == 2
    assert gone.cancelled()
