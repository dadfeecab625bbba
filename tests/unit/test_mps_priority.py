"""MPS TasksPriority against CI JobLevel in one queue: one scale (JobLevel 0/1/2 = priority 0/5/10), FIFO on ties."""

from __future__ import annotations

from typing import Any

from ci_jobs.app.requests import Operation
from ci_jobs.engine.inline import InlineWorker
from ci_jobs.media import Task
from ci_jobs.protocols.mps.codec import process_media

from .conftest import BUCKET, Node
from .test_engine import put_input, snapshot_op, submit, writing


async def mps_task(node: Node, tasks_priority: int) -> list[str]:
    body: dict[str, Any] = {
        "InputInfo": {"Type": "COS", "CosInputInfo": {"Bucket": BUCKET, "Region": node.bucket.region,
                                                      "Object": "/in/a.mp4"}},
        "MediaProcessTask": {"SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["0.5s"]}]},
        "TasksPriority": tasks_priority}
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
