"""The engine on the in-memory store: claims in order, runs, publishes by role, stores a neutral result,
enqueues the callback with the outcome and raises its events. Burst mode: no polling, no sleeps."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from ci_jobs.app.requests import JobRequest, Operation, QueueUpdate
from ci_jobs.domain.events import JobFinished, ObjectCreated, Source
from ci_jobs.domain.failures import Failure
from ci_jobs.domain.results import JobResult
from ci_jobs.engine.inline import InlineWorker
from ci_jobs.errors import JobFailed
from ci_jobs.media import OutputFile, Result, Task
from ci_jobs.protocols.ci.presenter import job_detail

from .conftest import BUCKET, Node

OUT = {"Region": "ap-guangzhou", "Bucket": BUCKET}


async def chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def put_input(node: Node, key: str = "in/a.mp4") -> None:
    await node.storage.put(BUCKET, key, chunks(b"not really media"))


def snapshot_op(obj: str = "shots/${Number}.jpg", level: str = "0") -> dict[str, Any]:
    return {"Snapshot": {"Mode": "Interval", "Count": "2"}, "Output": {**OUT, "Object": obj}, "JobLevel": level}


def writing(names: list[tuple[str, str]], ran: list[Task]) -> Callable[[Task, Callable[[float], None]], Result]:
    """Work that records its task and writes the named files (name, role) into the staging dir."""
    def work(task: Task, progress: Callable[[float], None]) -> Result:
        ran.append(task)
        for name, _ in names:
            Path(task.outdir, name).write_bytes(name.encode())
        progress(50.0)
        return Result(tuple(OutputFile(n, r) for n, r in names), "jpg", {"Format": {"Duration": "1.0"}})
    return work


async def submit(node: Node, *ops: Operation, **kw: Any) -> list[str]:
    jobs = await node.service.jobs.submit(JobRequest(node.bucket, "in/a.mp4", ops, **kw))
    return [j.job_id for j in jobs]


async def test_jobs_run_by_job_level_then_submission_order(node: Node) -> None:
    await put_input(node)
    low = await submit(node, Operation("Snapshot", snapshot_op(level="0")))
    high = await submit(node, Operation("Snapshot", snapshot_op(level="2")))
    later_low = await submit(node, Operation("Snapshot", snapshot_op(level="0")))
    ran: list[Task] = []
    assert await node.scheduler.run_until_idle(InlineWorker(writing([("0.jpg", "main")], ran))) == 3
    assert [t.job_id for t in ran] == high + low + later_low
    assert await node.scheduler.run_until_idle(InlineWorker(writing([], ran))) == 0


async def test_a_paused_queue_starts_nothing(node: Node) -> None:
    await put_input(node)
    queue = (await node.service.queues.describe(node.bucket, {})).queues[0]
    await node.service.queues.update(node.bucket, queue.queue_id, QueueUpdate(queue.name, "Paused", {}))
    await submit(node, Operation("Snapshot", snapshot_op()))
    assert await node.scheduler.run_until_idle(InlineWorker(writing([], []))) == 0


async def test_outputs_are_published_by_role_and_the_result_is_neutral(node: Node) -> None:
    await put_input(node)
    seen: list[Any] = []

    async def record(event: Any) -> None:
        seen.append(event)

    node.events.subscribe(ObjectCreated, record)
    node.events.subscribe(JobFinished, record)
    op = snapshot_op()
    op["Output"]["SpriteObject"] = "sprites/${Number}.jpg"
    (job_id,) = await submit(node, Operation("Snapshot", op), callback={"CallBack": "http://127.0.0.1:9/cb"})
    files = [("a.jpg", "main"), ("b.jpg", "main"), ("s.jpg", "sprite")]
    await node.scheduler.run_until_idle(InlineWorker(writing(files, [])))
    (job,) = await node.store.get_jobs(BUCKET, [job_id])
    assert job.state == "Success" and job.progress == 100
    assert job.result is not None and JobResult.is_stored_form(job.result)
    result = JobResult.from_json(job.result)
    assert [o.key for o in result.outputs["main"]] == ["shots/0.jpg", "shots/1.jpg"]
    assert [o.key for o in result.outputs["sprite"]] == ["sprites/0.jpg"]
    meta = await node.storage.head(BUCKET, "shots/1.jpg")
    assert meta.size == len(b"b.jpg") and meta.etag == result.outputs["main"][1].etag
    out = job_detail(job)["Operation"]["MediaResult"]["OutputFile"]
    assert out["ObjectName"] == ["shots/0.jpg", "shots/1.jpg"]
    assert out["SpriteOutputFile"]["ObjectName"] == "sprites/0.jpg"
    created = [e.key for e in seen if isinstance(e, ObjectCreated) and e.source == Source.JOB]
    assert created == ["shots/0.jpg", "shots/1.jpg", "sprites/0.jpg"]
    assert isinstance(seen[-1], JobFinished) and seen[-1].state == "Success"
    (callback,) = await node.store.due_callbacks(10**10, 10)
    assert callback.job_id == job_id and callback.target["url"] == "http://127.0.0.1:9/cb"
    assert b"<EventName>TaskFinish</EventName>" in callback.body and b"shots/1.jpg" in callback.body


async def test_a_failure_is_data_with_its_code(node: Node) -> None:
    await put_input(node)
    (job_id,) = await submit(node, Operation("Snapshot", snapshot_op()), callback={"CallBack": "http://127.0.0.1:9/"})

    def broken(task: Task, progress: Callable[[float], None]) -> Result:
        raise JobFailed(Failure.INVALID_INPUT, "The input cannot be decoded: Invalid data found")

    await node.scheduler.run_until_idle(InlineWorker(broken))
    (job,) = await node.store.get_jobs(BUCKET, [job_id])
    assert (job.state, job.code) == ("Failed", "InvalidInput") and "Invalid data" in job.message
    (callback,) = await node.store.due_callbacks(10**10, 10)
    assert b"<Code>InvalidInput</Code>" in callback.body


async def test_a_missing_input_fails_input_not_found(node: Node) -> None:
    (job_id,) = await submit(node, Operation("Snapshot", snapshot_op()))
    ran: list[Task] = []
    await node.scheduler.run_until_idle(InlineWorker(writing([], ran)))
    (job,) = await node.store.get_jobs(BUCKET, [job_id])
    assert (job.state, job.code) == ("Failed", Failure.INPUT_NOT_FOUND) and not ran
    assert "in/a.mp4" in job.message
