"""Group commit: concurrent requests share one transaction (one fsync, many jobs), shared by the adapters.

Everything pending is committed in one transaction. Should that fail, each request is committed
alone, so that one bad request (say, a job naming a queue that does not exist) fails only its own
caller. Should the flusher be cancelled mid-way, every request still waiting hears so: nobody waits
forever, and no request refused that way commits later.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from ..errors import StoreError

R = TypeVar("R")  # one caller's request
T = TypeVar("T")  # what that caller gets back

Commit = Callable[[list[R]], Awaitable[list[T]]]


class GroupCommit(Generic[R, T]):
    """Batches `submit`ted requests into `commit` calls; `commit(requests)` returns one result per request."""

    def __init__(self, commit: Commit[R, T], name: str, linger: float = 0.0, full: int = 0) -> None:
        """`linger`: how long a batch smaller than `full` waits for concurrent requests to join it."""
        self._commit = commit
        self._name = name
        self._linger = linger
        self._full = full
        self._pending: list[tuple[R, asyncio.Future[T]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, request: R) -> T:
        """Commit `request` with whatever else is pending; return its result once durable."""
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append((request, fut))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name=self._name)
        return await fut

    async def drain(self) -> None:
        """Wait until every pending request is settled (at close)."""
        if self._flusher is not None:
            await asyncio.shield(self._flusher)

    async def _flush(self) -> None:
        batch: list[tuple[R, asyncio.Future[T]]] = []
        try:
            while self._pending:
                # Let the requests already being parsed join this batch: fewer, larger commits.
                if self._linger and len(self._pending) < self._full:
                    await asyncio.sleep(self._linger)
                batch, self._pending = self._pending, []
                await self._commit_batch(batch)
        finally:
            stranded, self._pending = batch + self._pending, []
            for _, fut in stranded:
                _settle(fut, StoreError("job insert was interrupted"))

    async def _commit_batch(self, batch: list[tuple[R, asyncio.Future[T]]]) -> None:
        try:
            results = await self._commit([request for request, _ in batch])
        except Exception as exc:  # noqa: BLE001 - every waiter hears about it
            if len(batch) == 1:
                _settle(batch[0][1], exc)
                return
            for request, fut in batch:
                try:
                    _settle(fut, (await self._commit([request]))[0])
                except Exception as exc:  # noqa: BLE001 - its own caller hears about it
                    _settle(fut, exc)
            return
        for (_, fut), result in zip(batch, results, strict=True):
            _settle(fut, result)


def _settle(fut: asyncio.Future[T], outcome: T | Exception) -> None:
    if fut.done():  # its caller was cancelled; the request may be committed all the same
        return
    if isinstance(outcome, Exception):
        fut.set_exception(outcome)
    else:
        fut.set_result(outcome)
