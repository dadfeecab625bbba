"""A graceful stop: no new claims, running jobs may finish within the grace period, the rest go back to
the store with their attempt unspent and run again at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ci_jobs.app.requests import Operation
from ci_jobs.engine.inline import InlineWorker
from ci_jobs.media import OutputFile, Result, Task

from .conftest import BUCKET, Node
from .test_engine import put_input, snapshot_op, submit, writing


class HeldWorker:
    """A job that runs until the test lets it finish (or the scheduler kills it)."""

    name = "held"

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.finish = asyncio.Event()
        self.killed = False

    async def run(self, task: Task, progress: object) -> Result:
        self.started.set()
        await self.finish.wait()
        Path(task.outdir, "0.jpg").write_bytes(b"shot")
        return Result((OutputFile("0.jpg"),), "jpg")

    def kill(self) -> None:
        self.killed = True


async def test_a_job_cut_off_by_three_stops_keeps_its_attempts_and_then_succeeds(node: Node) -> None:
    await put_input(node)
    (job_id,) = await submit(node, Operation("Snapshot", snapshot_op()))
    for _ in range(3):  # max_attempts is 3: three lost leases would end it Failed WorkerLost
        worker = HeldWorker()
        await node.scheduler.start(single_node=False, slots=[(worker, None)])
        await worker.started.wait()
        await node.scheduler.stop(grace=0)
        (job,) = await node.store.get_jobs(BUCKET, [job_id])
        assert (job.state, job.attempts) == ("Submitted", 0)
        node.scheduler._draining = False  # the same Scheduler object restarts, as a new process would
        node.scheduler._tasks.clear()
    assert await node.scheduler.run_until_idle(InlineWorker(writing([("0.jpg", "main")], []))) == 1
    (job,) = await node.store.get_jobs(BUCKET, [job_id])
    assert (job.state, job.attempts) == ("Success", 1)


async def test_a_job_that_finishes_within_the_grace_period_is_not_cut_off(node: Node) -> None:
    await put_input(node)
    (job_id,) = await submit(node, Operation("Snapshot", snapshot_op()))
    (waiting,) = await submit(node, Operation("Snapshot", snapshot_op()))
    worker = HeldWorker()
    await node.scheduler.start(single_node=False, slots=[(worker, None)])
    await worker.started.wait()
    stopping = asyncio.create_task(node.scheduler.stop(grace=60))
    await asyncio.sleep(0)  # the stop has begun: nothing new may be claimed now
    worker.finish.set()
    await stopping
    done, left = await node.store.get_jobs(BUCKET, [job_id, waiting])
    assert (done.state, done.attempts, worker.killed) == ("Success", 1, False)
    assert (left.state, left.attempts) == ("Submitted", 0)  # never claimed after the stop began
