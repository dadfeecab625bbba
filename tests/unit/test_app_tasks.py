"""Tasks of the job use cases: one per request, stored with its jobs, read with its derived state."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from ci_jobs.app.requests import JobRequest, Operation
from ci_jobs.config import Bucket
from ci_jobs.domain.jobs import JobState
from ci_jobs.domain.tasks import TaskKind, TaskState
from ci_jobs.errors import InvalidArgument
from ci_jobs.store import Outcome

from .conftest import BUCKET, Node

OUT = {"Region": "ap-guangzhou", "Bucket": BUCKET, "Object": "out/a.${ext}"}
TRANSCODE = {"Transcode": {"Container": {"Format": "mp4"}, "Video": {"Codec": "H.264"}}, "Output": OUT}


def request(node: Node, *ops: Operation, **kw: Any) -> JobRequest:
    return JobRequest(node.bucket, "in/a.mp4", ops, **kw)


async def test_submit_groups_the_request_in_one_task(node: Node) -> None:
    jobs = await node.service.jobs.submit(request(node, Operation("Transcode", TRANSCODE), Operation("MediaInfo", {}),
                                                  origin="cos"))
    assert [j.tag for j in jobs] == ["Transcode", "MediaInfo"]  # returned as before
    task_id = jobs[0].task_id
    assert re.fullmatch(r"k[0-9a-f]{32}", task_id) and jobs[1].task_id == task_id
    view = await node.service.jobs.task(node.bucket, task_id)
    assert view is not None and view.state == TaskState.WAITING
    assert view.task.kind == TaskKind.REQUEST and view.task.origin == "cos" and view.task.bucket == BUCKET
    assert view.task.job_ids == tuple(j.job_id for j in jobs)
    assert [j.job_id for j in view.jobs] == list(view.task.job_ids)


async def test_each_request_gets_its_own_task(node: Node) -> None:
    (a,) = await node.service.jobs.submit(request(node, Operation("MediaInfo", {})))
    (b,) = await node.service.jobs.submit(request(node, Operation("MediaInfo", {})))
    assert a.task_id != b.task_id
    view = await node.service.jobs.task(node.bucket, a.task_id)
    assert view is not None and view.task.origin == "ci" and [j.job_id for j in view.jobs] == [a.job_id]


async def test_a_refused_request_leaves_no_task(node: Node) -> None:
    bad = {**TRANSCODE, "Transcode": {**TRANSCODE["Transcode"], "Video": {"Codec": "H.264", "Crf": "99"}}}
    with pytest.raises(InvalidArgument):
        await node.service.jobs.submit(request(node, Operation("MediaInfo", {}), Operation("Transcode", bad)))
    assert (await node.service.jobs.tasks(node.bucket)).tasks == []


async def test_the_task_state_follows_its_jobs(node: Node) -> None:
    jobs = await node.service.jobs.submit(request(node, Operation("MediaInfo", {}), Operation("MediaInfo", {})))
    task_id = jobs[0].task_id

    async def state() -> TaskState:
        view = await node.service.jobs.task(node.bucket, task_id)
        assert view is not None
        return view.state
    claim = await node.store.claim("n1", time.time(), 30)
    assert claim is not None and await state() == TaskState.PROCESSING
    assert await node.store.finish(claim.job.job_id, claim.token, time.time(), Outcome(JobState.SUCCESS))
    assert await state() == TaskState.PROCESSING  # one finished, one waiting
    await node.service.jobs.cancel(node.bucket, next(j.job_id for j in jobs if j.job_id != claim.job.job_id))
    assert await state() == TaskState.FINISHED


async def test_task_of_another_bucket_or_unknown_is_none(node: Node) -> None:
    (job,) = await node.service.jobs.submit(request(node, Operation("MediaInfo", {})))
    assert await node.service.jobs.task(Bucket("other-1250000000", "ap-guangzhou"), job.task_id) is None
    assert await node.service.jobs.task(node.bucket, "k" + "0" * 32) is None


async def test_tasks_list_newest_first_in_pages(node: Node) -> None:
    made = [(await node.service.jobs.submit(request(node, Operation("MediaInfo", {}))))[0].task_id for _ in range(5)]
    first = await node.service.jobs.tasks(node.bucket, size=2)
    assert [v.task.task_id for v in first.tasks] == [made[4], made[3]] and first.next_token
    assert all(v.state == TaskState.WAITING and len(v.jobs) == 1 for v in first.tasks)
    second = await node.service.jobs.tasks(node.bucket, size=2, next_token=first.next_token)
    third = await node.service.jobs.tasks(node.bucket, size=2, next_token=second.next_token)
    assert [v.task.task_id for v in second.tasks + third.tasks] == [made[2], made[1], made[0]]
    assert third.next_token == ""
    with pytest.raises(InvalidArgument, match="size"):
        await node.service.jobs.tasks(node.bucket, size=0)
    with pytest.raises(InvalidArgument, match="nextToken"):
        await node.service.jobs.tasks(node.bucket, next_token="!!")
