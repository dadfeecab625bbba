"""The Scheduler: one loop per worker slot claims runnable jobs from the store and runs them.

General slots take any Tag; fast-lane slots take only short Tags, so a MediaInfo or Snapshot never
waits behind hour-long transcodes. Fairness across queues and JobLevel/FIFO order live in the
store's atomic claim. A supervisor loop rescues jobs whose node died (expired leases).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from .. import tags
from ..config import Settings
from ..domain.events import EventBus
from ..errors import CiJobsError
from ..notify import Notifier
from ..storage import Storage
from ..store import JobRecord, Store
from .pool import Pool
from .runner import JobWorker, Runner

log = logging.getLogger(__name__)

class Scheduler:
    """Runs jobs from the store on a pool of workers until stopped."""

    def __init__(self, store: Store, storage: Storage, pool: Pool | None, settings: Settings, work_dir: Path,
                 notifier: Notifier, events: EventBus, on_finish: Callable[[], None] | None = None) -> None:
        self.store = store
        self.pool = pool
        self.settings = settings
        self.node = f"node-{uuid.uuid4().hex[:12]}"
        self.runner = Runner(store, storage, settings, work_dir, notifier, events)
        self.notifier = notifier
        self._tasks: list[asyncio.Task[None]] = []
        self._on_finish = on_finish

    async def start(self, single_node: bool) -> None:
        """Rescue interrupted jobs, then start one loop per worker and the lease supervisor."""
        await self.rescue(everything=single_node)
        assert self.pool is not None, "start() runs the pool's workers; use run_until_idle() without one"
        for worker in self.pool.general:
            self._spawn(self._slot(worker, None), worker.name)
        for worker in self.pool.fast:
            self._spawn(self._slot(worker, tags.fast_tags()), worker.name)
        self._spawn(self._supervise(), "lease-supervisor")

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        task.add_done_callback(_report_death)
        self._tasks.append(task)

    async def stop(self) -> None:
        """Cancel the loops (running jobs are cut off and re-run after restart)."""
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def rescue(self, everything: bool = False) -> list[JobRecord]:
        """Requeue jobs whose lease expired; fail those out of attempts (with their callbacks)."""
        return await self.store.rescue(time.time(), self.settings.scheduler.max_attempts,
                                       lambda job: self.notifier.task_finish(job, None) if job.spec.get("CallBack")
                                       else [], everything=everything)

    async def _slot(self, worker: JobWorker, tags: frozenset[str] | None) -> None:
        while True:
            if not await self.run_one(worker, tags):
                await self.store.wait_for_work(self.settings.scheduler.poll_seconds)

    async def run_one(self, worker: JobWorker, tags: frozenset[str] | None = None) -> bool:
        """Claim the next runnable job and run it on `worker`; False when there was none to claim."""
        try:
            claim = await self.store.claim(self.node, time.time(), self.settings.scheduler.lease_seconds, tags)
        except CiJobsError as exc:
            log.error("claim failed: %s", exc)
            return False
        if claim is None:
            return False
        try:
            await self.runner.run(claim, worker)
        except Exception:
            log.exception("runner crashed on job %s", claim.job.job_id)
        finally:
            if self._on_finish is not None:
                self._on_finish()
        return True

    async def run_until_idle(self, worker: JobWorker, tags: frozenset[str] | None = None) -> int:
        """Burst mode: run jobs one after another until none is runnable; return how many ran.

        What the slots do forever, for tests and one-shot tools: no polling, no sleeps.
        """
        count = 0
        while await self.run_one(worker, tags):
            count += 1
        return count

    async def _supervise(self) -> None:
        sched = self.settings.scheduler
        while True:
            await asyncio.sleep(max(sched.lease_seconds / 3, 0.5))
            try:
                rescued = await self.rescue()
            except CiJobsError as exc:
                log.error("lease rescue failed: %s", exc)
                continue
            for job in rescued:
                log.warning("job %s lost its worker; now %s (attempt %d)", job.job_id, job.state, job.attempts)


def _report_death(task: asyncio.Task[None]) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.critical("scheduler task %s died: %r", task.get_name(), exc)
