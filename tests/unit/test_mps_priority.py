"""MPS TasksPriority against CI JobLevel in one queue: one scale (JobLevel 0/1/2 = priority 0/5/10), FIFO on ties;
TaskType Offline only when no open queue has Online work."""

from __future__ import annotations

from typing import Any

from ci_jobs.app.requests import Operation
from ci_jobs.engine.inline import InlineWorker
from ci_jobs.media import Task
from ci_jobs.protocols.mps.codec import process_media

from .conftest import BUCKET, Node
from .test_engine import put_input, snapshot_op, submit, writing


async def mps_task(node: Node, tasks_priority: int, task_type: str = "Online") -> list[str]:
    body: dict[str, Any] = {
        "InputInfo": {"Type": "COS", "CosInputInfo": {"Bucket": BUCKET, "Region": node.bucket.region,
                                                      "Object": "/in/a.mp4"}},
        "MediaProcessTask": {"SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["0.5s"]}]},
        "TasksPriority": tasks_priority, "TaskType": task_type}
    account = next(a for a in node.settings.accounts if a.appid == node.bucket.appid)
    jobs = await node.service.jobs.submit(process_media(body, account, node.settings))
    return [j.job_id for j in jobs]


async def test_tasks_priority_and_job_level_share_one_order(node: Node) -> None:
    await put_input(node)
    ci_low = await submit(node, Operation("Snapshot", snapshot_op(level="0")))
    mps_minus = await mps_task(node, -3)
    mps_three = await mps_task(node, 3)
    ci_mid = await submit(node, Operation("Snapshot", snapshot_op(level="1")))
    mps_five = await mps_task(node, 5)      # ties with JobLevel 1: after it (FIFO)
    mps_ten = await mps_task(node, 10)
    ci_high = await submit(node, Operation("Snapshot", snapshot_op(level="2")))  # ties with 10: after it
    mps_zero = await mps_task(node, 0)      # ties with JobLevel 0: after it
    ran: list[Task] = []
    assert await node.scheduler.run_until_idle(InlineWorker(writing([("0.jpg", "main")], ran))) == 8
    assert [t.job_id for t in ran] == (mps_ten + ci_high + ci_mid + mps_five + mps_three + ci_low + mps_zero
                                       + mps_minus)


async def test_offline_tasks_run_only_when_no_queue_has_online_work(node: Node) -> None:
    await put_input(node)
    other = await node.store.ensure_queue(BUCKET, "queue-2", 10)
    offline_high = await mps_task(node, 10, "Offline")   # the default queue, oldest, least served
    ci_other = await submit(node, Operation("Snapshot", snapshot_op(level="0")), queue_id=other.queue_id)
    mps_minus = await mps_task(node, -10)                # Online, lowest priority: still before Offline
    offline_low = await mps_task(node, -10, "Offline")
    ci_other_2 = await submit(node, Operation("Snapshot", snapshot_op(level="0")), queue_id=other.queue_id)
    ran: list[Task] = []
    assert await node.scheduler.run_until_idle(InlineWorker(writing([("0.jpg", "main")], ran))) == 5
    order = [t.job_id for t in ran]
    assert set(order[:3]) == {*ci_other, *ci_other_2, *mps_minus}   # every Online job, whichever queue
    assert order[3:] == offline_high + offline_low                  # then Offline, by TasksPriority
