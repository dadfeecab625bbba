"""The Store contract: claims, ordering, limits, pause, fencing, rescue, cancel, outbox, paging."""

from __future__ import annotations

import asyncio
import time

from ci_jobs import ids
from ci_jobs.store import Beat, Callback, JobFilter, JobRecord, JobState, Outcome, Store, TemplateRecord

B = "examplebucket-1250000000"


def job(queue_id: str, level: int = 0, tag: str = "Transcode", created: float | None = None) -> JobRecord:
    return JobRecord(job_id=ids.new_id("j"), bucket=B, queue_id=queue_id, tag=tag, state=JobState.SUBMITTED,
                     level=level, created=created or time.time(), spec={"Input": {"Object": "a.mp4"}})


async def claim_all(store: Store, n: int = 100, tags: frozenset[str] | None = None) -> list[str]:
    out = []
    for _ in range(n):
        c = await store.claim("n1", time.time(), 30, tags)
        if c is None:
            break
        out.append(c.job.job_id)
    return out


async def test_ensure_queue_is_idempotent(store: Store) -> None:
    a = await store.ensure_queue(B, "queue-1", 10)
    b = await store.ensure_queue(B, "queue-1", 10)
    assert a.queue_id == b.queue_id and a.queue_id.startswith("p") and len(a.queue_id) == 33
    assert [q.name for q in await store.queues(B)] == ["queue-1"]


async def test_joblevel_then_fifo(store: Store) -> None:
    q = await store.ensure_queue(B, "queue-1", 10)
    jobs = [job(q.queue_id, 0), job(q.queue_id, 1), job(q.queue_id, 2), job(q.queue_id, 0), job(q.queue_id, 2)]
    for j in jobs:
        await store.insert_jobs([j])
    order = await claim_all(store)
    assert order == [jobs[2].job_id, jobs[4].job_id, jobs[1].job_id, jobs[0].job_id, jobs[3].job_id]


async def test_max_concurrent_and_release(store: Store) -> None:
    q = await store.ensure_queue(B, "queue-1", 2)
    await store.insert_jobs([job(q.queue_id) for _ in range(4)])
    first = await store.claim("n1", time.time(), 30)
    second = await store.claim("n1", time.time(), 30)
    assert first and second
    assert await store.claim("n1", time.time(), 30) is None
    assert await store.finish(first.job.job_id, first.token, time.time(), Outcome(JobState.SUCCESS))
    assert await store.claim("n1", time.time(), 30) is not None


async def test_pause_resume(store: Store) -> None:
    q = await store.ensure_queue(B, "queue-1", 10)
    j = job(q.queue_id)
    await store.insert_jobs([j])
    await store.update_queue(B, q.queue_id, "queue-1", "Paused", {}, time.time())
    assert (await store.get_jobs(B, [j.job_id]))[0].state == JobState.PAUSE
    late = job(q.queue_id)
    await store.insert_jobs([late])
    assert (await store.get_jobs(B, [late.job_id]))[0].state == JobState.PAUSE
    assert await store.claim("n1", time.time(), 30) is None
    await store.update_queue(B, q.queue_id, "queue-1", "Active", {}, time.time())
    assert {s.state for s in await store.get_jobs(B, [j.job_id, late.job_id])} == {JobState.SUBMITTED}
    assert len(await claim_all(store)) == 2


async def test_fair_share_across_queues(store: Store) -> None:
    flood = await store.ensure_queue(B, "flood", 10)
    other = await store.ensure_queue("other-1250000000", "queue-1", 10)
    await store.insert_jobs([job(flood.queue_id) for _ in range(6)])
    lone = JobRecord(**{**job(other.queue_id).__dict__, "bucket": "other-1250000000"})
    await store.insert_jobs([lone])
    first_two = await claim_all(store, 2)
    assert lone.job_id in first_two


async def test_tag_filter_for_fast_lane(store: Store) -> None:
    q = await store.ensure_queue(B, "queue-1", 10)
    long, short = job(q.queue_id, tag="Transcode"), job(q.queue_id, tag="MediaInfo")
    await store.insert_jobs([long, short])
    assert await claim_all(store, tags=frozenset({"MediaInfo", "Snapshot"})) == [short.job_id]


async def test_claim_is_atomic_under_concurrency(store: Store) -> None:
    q = await store.ensure_queue(B, "queue-1", 100)
    await store.insert_jobs([job(q.queue_id) for _ in range(20)])
    results = await asyncio.gather(*(store.claim(f"n{i}", time.time(), 30) for i in range(40)))
    claimed = [c.job.job_id for c in results if c is not None]
    assert len(claimed) == 20 and len(set(claimed)) == 20


async def test_fencing_and_rescue(store: Store) -> None:
    q = await store.ensure_queue(B, "queue-1", 10)
    j = job(q.queue_id)
    await store.insert_jobs([j])
    old = await store.claim("n1", 1000.0, 5)
    assert old is not None
    assert await store.heartbeat(j.job_id, old.token, 1010.0, 40) == Beat.OK
    touched = await store.rescue(2000.0, 3, lambda r: [])
    assert [t.state for t in touched] == [JobState.SUBMITTED]
    new = await store.claim("n2", 2001.0, 5)
    assert new is not None and new.job.attempts == 2
    assert await store.heartbeat(j.job_id, old.token, 2100.0, 50) == Beat.LOST
    assert not await store.finish(j.job_id, old.token, 2002.0, Outcome(JobState.FAILED, "X", "late"))
    assert await store.finish(j.job_id, new.token, 2003.0, Outcome(JobState.SUCCESS, result={"a": "1"}))
    done = (await store.get_jobs(B, [j.job_id]))[0]
    assert done.state == JobState.SUCCESS and done.result == {"a": "1"} and done.progress == 100


async def test_rescue_fails_after_max_attempts_with_callbacks(store: Store) -> None:
    q = await store.ensure_queue(B, "queue-1", 10)
    j = job(q.queue_id)
    await store.insert_jobs([j])
    for t in range(3):
        assert await store.claim("n", 1000.0 + t * 100, 5) is not None
        await store.rescue(1050.0 + t * 100, 3,
                           lambda r: [Callback({"type": "Url", "url": "http://x"}, b"b", "t", job_id=r.job_id)])
    final = (await store.get_jobs(B, [j.job_id]))[0]
    assert final.state == JobState.FAILED and final.code == "WorkerLost"
    due = await store.due_callbacks(time.time(), 10)
    assert [c.job_id for c in due] == [j.job_id]


async def test_cancel_waiting_and_running(store: Store) -> None:
    q = await store.ensure_queue(B, "queue-1", 10)
    waiting, running = job(q.queue_id), job(q.queue_id, level=2)
    await store.insert_jobs([waiting, running])
    c = await store.claim("n1", time.time(), 30)
    assert c is not None and c.job.job_id == running.job_id
    w = await store.cancel_job(B, waiting.job_id, time.time())
    assert w is not None and w.state == JobState.CANCEL
    r = await store.cancel_job(B, running.job_id, time.time())
    assert r is not None and r.state == JobState.RUNNING and r.cancel_requested
    assert await store.heartbeat(running.job_id, c.token, time.time() + 30, 10) == Beat.CANCEL
    assert await store.cancel_job(B, "j" + "0" * 32, time.time()) is None


async def test_outbox_retry_and_done(store: Store) -> None:
    await store.add_callbacks([Callback({"type": "Url", "url": "http://x"}, b"<x/>", "application/xml")], 100.0)
    due = await store.due_callbacks(100.0, 10)
    assert len(due) == 1 and due[0].body == b"<x/>"
    assert await store.due_callbacks(100.0, 10) == []  # leased
    await store.callback_retry(due[0].callback_id, 1, 200.0, "refused")
    assert await store.due_callbacks(150.0, 10) == []
    again = await store.due_callbacks(200.0, 10)
    assert again[0].attempts == 1
    await store.callback_done(again[0].callback_id)
    assert await store.due_callbacks(10**10, 10) == []


async def test_list_paging_and_filters(store: Store) -> None:
    q = await store.ensure_queue(B, "queue-1", 10)
    jobs = [job(q.queue_id, created=1000.0 + i) for i in range(7)]
    for j in jobs:
        await store.insert_jobs([j])
    page1 = await store.list_jobs(B, JobFilter(tag="Transcode", size=3))
    assert [j.job_id for j in page1] == [j.job_id for j in reversed(jobs)][:3]
    page2 = await store.list_jobs(B, JobFilter(tag="Transcode", size=3, after_seq=page1[-1].seq))
    assert [j.job_id for j in page2] == [j.job_id for j in reversed(jobs)][3:6]
    asc = await store.list_jobs(B, JobFilter(tag="Transcode", size=10, ascending=True, start=1002.0, end=1004.0))
    assert [j.job_id for j in asc] == [j.job_id for j in jobs[2:5]]
    assert await store.list_jobs(B, JobFilter(tag="Snapshot")) == []
    running = await store.list_jobs(B, JobFilter(tag="Transcode", states=frozenset({"Running"})))
    assert running == []


async def test_data_survives_reopen(store: Store) -> None:
    q = await store.ensure_queue(B, "queue-1", 10)
    j = job(q.queue_id)
    await store.insert_jobs([j])
    assert (await store.get_jobs(B, [j.job_id]))[0].spec == {"Input": {"Object": "a.mp4"}}


async def test_templates_put_get_list_delete(store: Store) -> None:
    t1 = TemplateRecord("t1" + "a" * 32, B, "alpha", "Transcode", {"Container": {"Format": "mp4"}}, 100.0, 100.0)
    t2 = TemplateRecord("t1" + "b" * 32, B, "beta", "Snapshot", {"Snapshot": {"Count": "2"}}, 200.0, 200.0)
    other = TemplateRecord("t1" + "c" * 32, "other-1250000000", "alpha2", "Transcode", {}, 50.0, 50.0)
    for t in (t1, t2, other):
        await store.put_template(t)
    assert await store.get_template(B, t1.template_id) == t1
    assert await store.get_template(B, other.template_id) is None
    page, total = await store.list_templates(B, "", "", [], 0, 10)
    assert [t.template_id for t in page] == [t1.template_id, t2.template_id] and total == 2
    page, total = await store.list_templates(B, "Snapshot", "", [], 0, 10)
    assert [t.name for t in page] == ["beta"] and total == 1
    page, total = await store.list_templates(B, "", "al", [], 0, 10)
    assert [t.name for t in page] == ["alpha"]
    page, total = await store.list_templates(B, "", "", [t2.template_id], 0, 10)
    assert [t.name for t in page] == ["beta"]
    page, total = await store.list_templates(B, "", "", [], 1, 1)
    assert [t.name for t in page] == ["beta"] and total == 2
    renamed = TemplateRecord(t1.template_id, B, "alpha-2", "Transcode", {"Container": {"Format": "flv"}}, 100.0, 300.0)
    await store.put_template(renamed)
    assert await store.get_template(B, t1.template_id) == renamed
    assert await store.delete_template(B, t1.template_id)
    assert not await store.delete_template(B, t1.template_id)
    assert await store.get_template(B, t1.template_id) is None
