"""Job, queue and template use cases with typed requests, on the in-memory store."""

from __future__ import annotations

from typing import Any

import pytest

from ci_jobs.app.requests import JobRequest, Operation, QueueUpdate, TemplateRequest
from ci_jobs.errors import InvalidArgument, NoSuchTemplate

from .conftest import BUCKET, Node

OUT = {"Region": "ap-guangzhou", "Bucket": BUCKET, "Object": "out/a.${ext}"}


def transcode(**video: str) -> dict[str, Any]:
    return {"Transcode": {"Container": {"Format": "mp4"}, "Video": {"Codec": "H.264", **video}}, "Output": OUT}


def request(node: Node, *ops: Operation, **kw: Any) -> JobRequest:
    return JobRequest(node.bucket, "in/a.mp4", ops, **kw)


async def test_submit_commits_typed_jobs_with_their_seq(node: Node) -> None:
    jobs = await node.service.jobs.submit(request(node, Operation("Transcode", transcode()),
                                                  Operation("MediaInfo", {})))
    assert [j.tag for j in jobs] == ["Transcode", "MediaInfo"]
    assert all(j.state == "Submitted" and j.seq > 0 for j in jobs) and jobs[0].seq < jobs[1].seq
    stored = await node.store.get_jobs(BUCKET, [j.job_id for j in jobs])
    assert stored[0].spec["Operation"] == transcode() and stored[0].spec["Input"]["Object"] == "in/a.mp4"


async def test_one_bad_operation_refuses_the_whole_request(node: Node) -> None:
    with pytest.raises(InvalidArgument, match=r"Video.Crf 99"):
        await node.service.jobs.submit(request(node, Operation("MediaInfo", {}),
                                               Operation("Transcode", transcode(Crf="99"))))
    page = await node.service.jobs.list(node.bucket, {"tag": "MediaInfo"})
    assert page.jobs == []


async def test_jobs_into_a_paused_queue_wait_as_pause(node: Node) -> None:
    queue = (await node.service.queues.describe(node.bucket, {})).queues[0]
    await node.service.queues.update(node.bucket, queue.queue_id, QueueUpdate(queue.name, "Paused", {}))
    (job,) = await node.service.jobs.submit(request(node, Operation("MediaInfo", {})))
    assert job.state == "Pause"
    await node.service.queues.update(node.bucket, queue.queue_id, QueueUpdate(queue.name, "Active", {}))
    assert (await node.store.get_jobs(BUCKET, [job.job_id]))[0].state == "Submitted"


async def test_a_template_wins_over_inline_parameters(node: Node) -> None:
    template = await node.service.templates.create(node.bucket, TemplateRequest(
        "Transcode", "small", {"Container": {"Format": "mp4"}, "Video": {"Codec": "H.264", "Width": "320"}}))
    op = {**transcode(Width="1280"), "TemplateId": template.template_id}
    (job,) = await node.service.jobs.submit(request(node, Operation("Transcode", op)))
    assert job.spec["Resolved"]["Transcode"]["Video"]["Width"] == "320"
    assert job.spec["Operation"]["TemplateName"] == "small"
    with pytest.raises(NoSuchTemplate):
        await node.service.jobs.submit(request(node, Operation("Transcode", {**op, "TemplateId": "t0nope"})))


async def test_a_template_is_checked_as_the_job_it_would_make(node: Node) -> None:
    with pytest.raises(InvalidArgument, match=r"^Request.Video.Codec VP8 is not supported in container mp4"):
        await node.service.templates.create(node.bucket, TemplateRequest(
            "Transcode", "bad", {"Container": {"Format": "mp4"}, "Video": {"Codec": "VP8"}}))


async def test_callback_targets_follow_the_policy(node: Node) -> None:
    with pytest.raises(InvalidArgument, match="link-local"):
        await node.service.jobs.submit(request(node, Operation("MediaInfo", {}),
                                               callback={"CallBack": "http://[::ffff:169.254.169.254]/"}))
    (job,) = await node.service.jobs.submit(request(node, Operation("MediaInfo", {}),
                                                    callback={"CallBack": "http://127.0.0.1:9/cb"}))
    assert job.spec["CallBack"] == "http://127.0.0.1:9/cb"


async def test_cancel_and_paging(node: Node) -> None:
    jobs = [j for _ in range(3) for j in await node.service.jobs.submit(request(node, Operation("MediaInfo", {})))]
    await node.service.jobs.cancel(node.bucket, jobs[0].job_id)
    assert (await node.store.get_jobs(BUCKET, [jobs[0].job_id]))[0].state == "Cancel"
    first = await node.service.jobs.list(node.bucket, {"tag": "MediaInfo", "size": "2", "orderByTime": "Asc"})
    assert [j.job_id for j in first.jobs] == [j.job_id for j in jobs[:2]] and first.next_token
    rest = await node.service.jobs.list(node.bucket, {"tag": "MediaInfo", "size": "2", "orderByTime": "Asc",
                                                      "nextToken": first.next_token})
    assert [j.job_id for j in rest.jobs] == [jobs[2].job_id] and not rest.next_token
    with pytest.raises(InvalidArgument, match="does not exist"):
        await node.service.jobs.cancel(node.bucket, "j" + "0" * 32)
