"""The Scheduler: one loop per worker slot claims runnable jobs from the store and runs them.

General slots take any Tag; fast-lane slots take only short Tags, so a MediaInfo or Snapshot never
waits behind hour-long transcodes. Fairness across queues and JobLevel/FIFO order live in the
store's atomic claim. A supervisor loop rescues jobs whose node died (expired leases).

A graceful stop (`stop(grace)`) stops claiming at once, lets the running jobs finish for up to
`grace` seconds, then gives the others back to the store without spending their attempt
(`Store.release`) and requeues them, so another node (or this one after a restart) runs them
again at once instead of after their lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from .. import tags
from ..config import Settings
from ..domain.events import EventBus
from ..errors import CiJobsError
from ..notify import Notifier
from ..storage import Storage
from ..store import Claim, JobRecord, Store
from .pool import Pool
from .runner import JobWorker, Runner
from .scratch import Scratch

log = logging.getLogger(__name__)
SUPERVISOR = "lease-supervisor"

class Scheduler:
    """Runs jobs from the store on a pool of workers until stopped."""

    def __init__(self, store: Store, storage: Storage, pool: Pool | None, settings: Settings, work_dir: Path,
                 notifier: Notifier, events: EventBus, on_finish: Callable[[], None] | None = None) -> None:
        self.store = store
        self.pool = pool
        self.settings = settings
        self.node = f"node-{uuid.uuid4().hex[:12]}"
        self.scratch = Scratch(work_dir, self.node)
        self.runner = Runner(store, storage, settings, self.scratch.folder, notifier, events)
        self.notifier = notifier
        self._tasks: list[asyncio.Task[None]] = []
        self._on_finish = on_finish
        self._draining = False
        self._running: dict[str, Claim] = {}  # job id -> the claim being run now

    async def start(self, single_node: bool, slots: Sequence[tuple[JobWorker, frozenset[str] | None]] = ()) -> None:
        """Rescue interrupted jobs, then start one loop per worker slot (the pool's, unless `slots`
        names (worker, Tags) pairs) and the lease supervisor."""
        await asyncio.to_thread(self.scratch.open)
        await self.rescue(everything=single_node)
        if not slots:
            assert self.pool is not None, "start() runs the pool's workers unless given slots"
            slots = [*((w, None) for w in self.pool.general), *((w, tags.fast_tags()) for w in self.pool.fast)]
        for index, (worker, only) in enumerate(slots):
            self._spawn(self._slot(worker, only), str(getattr(worker, "name", f"slot-{index}")))
        self._spawn(self._supervise(), SUPERVISOR)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        task.add_done_callback(_report_death)
        self._tasks.append(task)

    async def stop(self, grace: float = 0.0) -> None:
        """Stop claiming; let running jobs finish within `grace` seconds; give the rest back unspent."""
        self._draining = True
        self.store.notify_work()  # idle slots wake, see the flag and end
        slots = [t for t in self._tasks if t.get_name() != SUPERVISOR]
        if self._running and grace > 0:
            log.info("stopping: waiting up to %.0f s for %d running job(s)", grace, len(self._running))
        if slots and grace > 0:
            await asyncio.wait(slots, timeout=grace)
        unfinished = list(self._running.values())
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._give_back(unfinished)
        await asyncio.to_thread(self.scratch.close)

    async def _give_back(self, claims: list[Claim]) -> None:
        """Release the runs cut off by the stop and requeue them now (their attempt is not spent)."""
        released = []
        for claim in claims:
            try:
                if await self.store.release(claim.job.job_id, claim.token):
                    released.append(claim.job.job_id)
            except CiJobsError as exc:
                log.warning("could not give job %s back (%s); it runs again when its lease expires",
                            claim.job.job_id, exc)
        if released:
            log.info("gave back %d unfinished job(s) to run again: %s", len(released), ", ".join(released))
            with contextlib.suppress(CiJobsError):
                await self.rescue()

    async def rescue(self, everything: bool = False) -> list[JobRecord]:
        """Requeue jobs whose lease expired; fail those out of attempts (with their callbacks)."""
        return await self.store.rescue(time.time(), self.settings.scheduler.max_attempts,
                                       lambda job: self.notifier.task_finish(job, None) if job.spec.get("CallBack")
                                       else [], everything=everything)

    async def _slot(self, worker: JobWorker, tags: frozenset[str] | None) -> None:
        while not self._draining:
            if not await self.run_one(worker, tags) and not self._draining:
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
        if self._draining:  # claimed while the stop began: give it straight back
            await self._give_back([claim])
            return False
        self._running[claim.job.job_id] = claim
        try:
            await self.runner.run(claim, worker)
        except Exception:
            log.exception("runner crashed on job %s", claim.job.job_id)
        finally:
            self._running.pop(claim.job.job_id, None)
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
