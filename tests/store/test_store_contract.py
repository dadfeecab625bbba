"""The Store contract: claims, ordering, limits, pause, fencing, rescue, cancel, outbox, paging, seq, batches,
tasks.

Run against every adapter (memory, sqlite, postgres: see conftest.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time

import pytest

from ci_jobs import ids
from ci_jobs.domain import priority
from ci_jobs.domain.failures import CANCELLED_MESSAGE, Failure
from ci_jobs.domain.jobs import worker_lost
from ci_jobs.domain.tasks import TASK_ID_PREFIX, TaskKind
from ci_jobs.errors import StoreError
from ci_jobs.store import Beat, Callback, JobFilter, JobRecord, JobState, Outcome, Store, TaskRecord, TemplateRecord

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
    assert final.message == worker_lost(3).message and final.ended == 1250.0
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
    assert (w.code, w.message) == (Failure.CANCEL, CANCELLED_MESSAGE) and w.ended is not None
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


async def test_list_by_workflow_and_batch(store: Store) -> None:
    q = await store.ensure_queue(B, "queue-1", 10)
    plain = job(q.queue_id)
    flow = dataclasses.replace(job(q.queue_id), spec={"Input": {"Object": "a.mp4"},
                                                      "Workflow": {"RunId": "i1", "WorkflowId": "w1"}})
    batch = dataclasses.replace(job(q.queue_id), spec={"Input": {"Object": "a.mp4"}, "InventoryTriggerJobId": "b1"})
    both = dataclasses.replace(job(q.queue_id), spec={"Workflow": {"WorkflowId": "w1"}, "InventoryTriggerJobId": "b1"})
    for j in (plain, flow, batch, both):
        await store.insert_jobs([j])

    async def ids_of(**kw: str) -> set[str]:
        return {j.job_id for j in await store.list_jobs(B, JobFilter(tag="Transcode", size=100, **kw))}
    assert await ids_of(workflow_id="w1") == {flow.job_id, both.job_id}
    assert await ids_of(batch_id="b1") == {batch.job_id, both.job_id}
    assert await ids_of(workflow_id="w1", batch_id="b1") == {both.job_id}
    assert await ids_of(workflow_id="w2") == set() and await ids_of(batch_id="i1") == set()
    assert len(await ids_of()) == 4


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


async def test_cancel_of_a_final_job_changes_nothing(store: Store) -> None:
    q = await store.ensure_queue(B, "queue-1", 10)
    j = job(q.queue_id)
    await store.insert_jobs([j])
    c = await store.claim("n1", 1000.0, 30)
    assert c is not None and await store.finish(j.job_id, c.token, 1001.0, Outcome(JobState.SUCCESS))
    done = await store.cancel_job(B, j.job_id, 1002.0)
    assert done is not None and (done.state, done.code, done.ended) == (JobState.SUCCESS, "Success", 1001.0)
    assert not done.cancel_requested


# --- seq: the submission order, returned by insert_jobs ------------------------------------------

async def test_insert_returns_the_stored_seq_and_state(store: Store) -> None:
    q = await store.ensure_queue(B, "queue-1", 10)
    first = await store.insert_jobs([job(q.queue_id), job(q.queue_id)])
    second = await store.insert_jobs([job(q.queue_id)])
    seqs = [j.seq for j in first + second]
    assert seqs[0] > 0 and seqs == sorted(seqs) and len(set(seqs)) == 3
    got = await store.get_jobs(B, [j.job_id for j in first + second])
    assert [j.seq for j in got] == seqs
    assert [j.state for j in first + second] == [JobState.SUBMITTED] * 3
    await store.update_queue(B, q.queue_id, "queue-1", "Paused", {}, time.time())
    paused = await store.insert_jobs([job(q.queue_id)])
    assert paused[0].state == JobState.PAUSE and paused[0].seq > seqs[-1]
    assert await store.insert_jobs([]) == []


async def test_list_paging_by_the_seq_insert_returned(store: Store) -> None:
    q = await store.ensure_queue(B, "queue-1", 10)
    inserted = [(await store.insert_jobs([job(q.queue_id, created=1000.0 + i)]))[0] for i in range(5)]
    newer = await store.list_jobs(B, JobFilter(tag="Transcode", size=10, ascending=True, after_seq=inserted[1].seq))
    assert [j.job_id for j in newer] == [j.job_id for j in inserted[2:]]
    older = await store.list_jobs(B, JobFilter(tag="Transcode", size=10, after_seq=inserted[3].seq))
    assert [j.job_id for j in older] == [j.job_id for j in reversed(inserted[:3])]
    assert [j.seq for j in older] == [j.seq for j in reversed(inserted[:3])]


async def test_concurrent_inserts_get_distinct_increasing_seqs(store: Store) -> None:
    q = await store.ensure_queue(B, "queue-1", 10)
    results = await asyncio.gather(*(store.insert_jobs([job(q.queue_id), job(q.queue_id)]) for _ in range(10)))
    seqs = [j.seq for r in results for j in r]
    assert len(set(seqs)) == 20 and all(r[0].seq < r[1].seq for r in results)
    listed = await store.list_jobs(B, JobFilter(tag="Transcode", size=100, ascending=True))
    assert [j.seq for j in listed] == sorted(seqs)


# --- a failing batch: one bad request fails alone -------------------------------------------------

async def test_a_bad_insert_fails_alone_and_its_neighbour_commits(store: Store) -> None:
    q = await store.ensure_queue(B, "queue-1", 10)
    good = [job(q.queue_id), job(q.queue_id)]
    bad = [job(q.queue_id), job("p" + "0" * 32)]  # no such queue (a foreign key): the whole request fails
    results = await asyncio.gather(store.insert_jobs(good), store.insert_jobs(bad), return_exceptions=True)
    assert isinstance(results[1], StoreError)
    assert isinstance(results[0], list) and [j.job_id for j in results[0]] == [j.job_id for j in good]
    assert all(j.seq > 0 for j in results[0])
    stored = await store.get_jobs(B, [j.job_id for j in good + bad])
    assert [j.job_id for j in stored] == [j.job_id for j in good]
    with pytest.raises(StoreError):
        await store.insert_jobs(bad)
    assert len(await store.insert_jobs([job(q.queue_id)])) == 1  # the store still works


async def test_a_bad_insert_among_many(store: Store) -> None:
    q = await store.ensure_queue(B, "queue-1", 10)
    requests = [[job(q.queue_id)] for _ in range(6)]
    requests[3] = [job("p" + "1" * 32)]
    results = await asyncio.gather(*(store.insert_jobs(r) for r in requests), return_exceptions=True)
    assert [isinstance(r, StoreError) for r in results] == [False, False, False, True, False, False]
    listed = await store.list_jobs(B, JobFilter(tag="Transcode", size=100))
    assert len(listed) == 5


# --- rescue: the domain's decisions, executed by every adapter ------------------------------------

async def _lost_run(store: Store, queue_id: str, at: float) -> JobRecord:
    """A job claimed at `at` for 5 s, with 40 % progress, by a node that then dies."""
    j = job(queue_id)
    await store.insert_jobs([j])
    c = await store.claim("gone", at, 5)
    assert c is not None and c.job.job_id == j.job_id
    assert await store.heartbeat(j.job_id, c.token, at + 5, 40) == Beat.OK
    return c.job


async def test_rescue_cancels_a_job_flagged_for_cancellation(store: Store) -> None:
    q = await store.ensure_queue(B, "queue-1", 10)
    run = await _lost_run(store, q.queue_id, 1000.0)
    await store.cancel_job(B, run.job_id, 1001.0)
    touched = await store.rescue(2000.0, 3, lambda r: [Callback({"type": "Url"}, b"x", "t", job_id=r.job_id)])
    assert [(t.job_id, t.state, t.code, t.message, t.ended) for t in touched] == [
        (run.job_id, JobState.CANCEL, Failure.CANCEL, CANCELLED_MESSAGE, 2000.0)]
    assert await store.due_callbacks(10**10, 10) == []  # only a WorkerLost failure sends callbacks here
    assert (await store.queues(B))[0].running == 0


async def test_rescue_fails_a_job_out_of_attempts_with_its_callbacks(store: Store) -> None:
    q = await store.ensure_queue(B, "queue-1", 10)
    run = await _lost_run(store, q.queue_id, 1000.0)
    seen: list[JobRecord] = []

    def on_fail(r: JobRecord) -> list[Callback]:
        seen.append(r)
        return [Callback({"type": "Url", "url": "http://x"}, r.message.encode(), "text/plain", job_id=r.job_id)]
    touched = await store.rescue(2000.0, 1, on_fail)
    expected = worker_lost(1)
    assert [(t.state, t.code, t.message) for t in touched] == [(JobState.FAILED, Failure.WORKER_LOST, expected.message)]
    assert [(r.job_id, r.state, r.code) for r in seen] == [(run.job_id, JobState.FAILED, Failure.WORKER_LOST)]
    due = await store.due_callbacks(10**10, 10)
    assert [(c.job_id, c.body) for c in due] == [(run.job_id, expected.message.encode())]
    assert (await store.get_jobs(B, [run.job_id]))[0].message == expected.message
    assert (await store.queues(B))[0].running == 0


async def test_rescue_requeues_a_job_with_attempts_left(store: Store) -> None:
    q = await store.ensure_queue(B, "queue-1", 10)
    run = await _lost_run(store, q.queue_id, 1000.0)
    touched = await store.rescue(2000.0, 3, lambda r: [])
    assert [(t.state, t.progress, t.code, t.ended) for t in touched] == [(JobState.SUBMITTED, 0, "Success", None)]
    assert (await store.queues(B))[0].running == 0
    again = await store.claim("n2", 2001.0, 5)
    assert again is not None and again.job.job_id == run.job_id and again.job.attempts == 2


async def test_rescue_leaves_live_leases_alone_unless_everything(store: Store) -> None:
    q = await store.ensure_queue(B, "queue-1", 10)
    run = await _lost_run(store, q.queue_id, 1000.0)  # lease until 1005
    assert await store.rescue(1004.0, 3, lambda r: []) == []
    touched = await store.rescue(1004.0, 3, lambda r: [], everything=True)
    assert [(t.job_id, t.state) for t in touched] == [(run.job_id, JobState.SUBMITTED)]


async def test_rescue_in_a_paused_queue_requeues_as_pause(store: Store) -> None:
    q = await store.ensure_queue(B, "queue-1", 10)
    run = await _lost_run(store, q.queue_id, 1000.0)
    await store.update_queue(B, q.queue_id, "queue-1", "Paused", {}, 1001.0)
    assert (await store.get_jobs(B, [run.job_id]))[0].state == JobState.RUNNING  # pausing stops nothing running
    touched = await store.rescue(2000.0, 3, lambda r: [])
    assert [t.state for t in touched] == [JobState.PAUSE]
    assert await store.claim("n2", 2001.0, 5) is None
    await store.update_queue(B, q.queue_id, "queue-1", "Active", {}, 2002.0)
    again = await store.claim("n2", 2003.0, 5)
    assert again is not None and again.job.job_id == run.job_id and again.job.attempts == 2


# --- tasks: committed with their jobs, read by bucket -------------------------------------------

def grouped(jobs: list[JobRecord], bucket: str = B, created: float = 1000.0) -> tuple[list[JobRecord], TaskRecord]:
    """The jobs as members of a new task, and that task."""
    task_id = ids.new_id(TASK_ID_PREFIX)
    members = [JobRecord(**{**j.__dict__, "task_id": task_id}) for j in jobs]
    return members, TaskRecord(task_id, bucket, TaskKind.REQUEST, "ci", created, tuple(j.job_id for j in members),
                               {"Note": {"Key": "value"}})


async def test_a_task_commits_with_its_jobs(store: Store) -> None:
    q = await store.ensure_queue(B, "queue-1", 10)
    jobs, task = grouped([job(q.queue_id), job(q.queue_id, tag="Snapshot")])
    stored = await store.insert_jobs(jobs, task)
    assert [j.task_id for j in stored] == [task.task_id] * 2
    got = await store.get_task(B, task.task_id)
    assert got is not None and got.seq > 0
    assert got == TaskRecord(**{**task.__dict__, "seq": got.seq})
    assert [j.task_id for j in await store.get_jobs(B, list(task.job_ids))] == [task.task_id] * 2
    alone = (await store.insert_jobs([job(q.queue_id)]))[0]
    assert alone.task_id == "" and (await store.get_jobs(B, [alone.job_id]))[0].task_id == ""


async def test_a_task_whose_jobs_fail_is_not_stored(store: Store) -> None:
    q = await store.ensure_queue(B, "queue-1", 10)
    jobs, task = grouped([job(q.queue_id), job("p" + "0" * 32)])  # no such queue: the whole request fails
    with pytest.raises(StoreError):
        await store.insert_jobs(jobs, task)
    assert await store.get_task(B, task.task_id) is None
    assert await store.get_jobs(B, list(task.job_ids)) == []


async def test_jobs_whose_task_exists_are_not_stored(store: Store) -> None:
    q = await store.ensure_queue(B, "queue-1", 10)
    jobs, task = grouped([job(q.queue_id)])
    await store.insert_jobs(jobs, task)
    again = [JobRecord(**{**job(q.queue_id).__dict__, "task_id": task.task_id})]
    with pytest.raises(StoreError):
        await store.insert_jobs(again, TaskRecord(**{**task.__dict__, "job_ids": (again[0].job_id,)}))
    assert await store.get_jobs(B, [again[0].job_id]) == []
    assert (await store.get_task(B, task.task_id)) is not None


async def test_a_task_must_be_exactly_its_jobs(store: Store) -> None:
    q = await store.ensure_queue(B, "queue-1", 10)
    jobs, task = grouped([job(q.queue_id), job(q.queue_id)])
    for bad_jobs, bad_task in ((jobs[:1], task), (jobs[::-1], task), ([job(q.queue_id)], task),
                               (jobs, TaskRecord(**{**task.__dict__, "bucket": "other-1250000000"})), ([], task)):
        with pytest.raises(StoreError):
            await store.insert_jobs(bad_jobs, bad_task)
    assert await store.get_task(B, task.task_id) is None
    assert await store.list_jobs(B, JobFilter(tag="Transcode", size=100)) == []


async def test_a_failing_batch_member_fails_alone_with_its_task(store: Store) -> None:
    q = await store.ensure_queue(B, "queue-1", 10)
    requests = [grouped([job(q.queue_id), job(q.queue_id)]) for _ in range(6)]
    requests[2] = grouped([job(q.queue_id), job("p" + "1" * 32)])
    requests.insert(4, ([job(q.queue_id)], None))  # a request without a task in the same batch
    results = await asyncio.gather(*(store.insert_jobs(jobs, task) for jobs, task in requests),
                                   return_exceptions=True)
    assert [isinstance(r, StoreError) for r in results] == [False, False, True, False, False, False, False]
    for (_, task), result in zip(requests, results, strict=True):
        if task is None:
            continue
        stored = await store.get_task(B, task.task_id)
        assert (stored is None) == isinstance(result, StoreError)
        assert len(await store.get_jobs(B, list(task.job_ids))) == (0 if stored is None else 2)
    assert len(await store.list_tasks(B, 100)) == 5
    assert len(await store.list_jobs(B, JobFilter(tag="Transcode", size=100))) == 11


async def test_list_tasks_newest_first_in_pages(store: Store) -> None:
    q = await store.ensure_queue(B, "queue-1", 10)
    made = []
    for i in range(5):
        jobs, task = grouped([job(q.queue_id)], created=1000.0 + i)
        await store.insert_jobs(jobs, task)
        made.append(task.task_id)
    other_jobs, other = grouped([JobRecord(**{**job(q.queue_id).__dict__, "bucket": "other-1250000000"})],
                                bucket="other-1250000000")
    await store.insert_jobs(other_jobs, other)
    first = await store.list_tasks(B, 2)
    assert [t.task_id for t in first] == [made[4], made[3]]
    second = await store.list_tasks(B, 2, first[-1].seq)
    last = await store.list_tasks(B, 2, second[-1].seq)
    assert [t.task_id for t in second + last] == [made[2], made[1], made[0]]
    assert await store.list_tasks(B, 2, last[-1].seq) == []
    assert [t.task_id for t in await store.list_tasks(B)] == made[::-1]
    assert await store.get_task(B, other.task_id) is None
    assert [t.task_id for t in await store.list_tasks("other-1250000000")] == [other.task_id]


async def test_reset_deletes_tasks(store: Store) -> None:
    q = await store.ensure_queue(B, "queue-1", 10)
    jobs, task = grouped([job(q.queue_id)])
    await store.insert_jobs(jobs, task)
    await store.reset()
    assert await store.get_task(B, task.task_id) is None and await store.list_tasks(B) == []


async def test_release_gives_the_run_back_without_spending_its_attempt(store: Store) -> None:
    """A graceful stop: the lease ends now, the next rescue requeues the job, its attempts are as before."""
    q = await store.ensure_queue(B, "queue-1", 10)
    j = job(q.queue_id)
    await store.insert_jobs([j])
    now = time.time()
    for _ in range(5):  # five stops in a row never exhaust max_attempts = 3
        run = await store.claim("n1", now, 30)
        assert run is not None and run.job.job_id == j.job_id and run.job.attempts == 1
        assert not await store.release(j.job_id, "not-the-token")
        assert await store.release(j.job_id, run.token)
        assert await store.heartbeat(j.job_id, run.token, now + 30, 10) == Beat.LOST  # no longer its run
        touched = await store.rescue(now, 3, lambda r: [])
        assert [(t.job_id, t.state, t.attempts) for t in touched] == [(j.job_id, JobState.SUBMITTED, 0)]
        assert not await store.finish(j.job_id, run.token, now, Outcome(JobState.SUCCESS))  # fenced off
        assert (await store.queues(B))[0].running == 0
    assert not await store.release(j.job_id, run.token)  # no longer running


async def test_release_of_a_job_flagged_for_cancel_ends_it_cancelled(store: Store) -> None:
    q = await store.ensure_queue(B, "queue-1", 10)
    j = job(q.queue_id)
    await store.insert_jobs([j])
    run = await store.claim("n1", time.time(), 30)
    assert run is not None
    await store.cancel_job(B, j.job_id, time.time())
    assert await store.release(j.job_id, run.token)
    (touched,) = await store.rescue(time.time(), 3, lambda r: [])
    assert (touched.state, touched.code) == (JobState.CANCEL, Failure.CANCEL)


async def test_a_dead_letter_is_never_due_until_resent_and_counted(store: Store) -> None:
    q = await store.ensure_queue(B, "queue-1", 10)
    await store.insert_jobs([job(q.queue_id), job(q.queue_id, level=1)])
    await store.add_callbacks([Callback({"type": "Url", "url": "http://x/"}, b"one", "text/xml", job_id="j1"),
                               Callback({"type": "Url", "url": "http://y/"}, b"two", "text/xml", job_id="j2")], 100.0)
    first, second = await store.due_callbacks(100.0, 10)
    await store.callback_dead(first.callback_id, 185, "connection refused", 200.0)
    assert [c.callback_id for c in await store.due_callbacks(10**12, 10)] == [second.callback_id]
    (dead,) = await store.dead_callbacks(10)
    assert (dead.callback.callback_id, dead.callback.body, dead.callback.attempts) == (first.callback_id, b"one", 185)
    assert (dead.dead_at, dead.last_error) == (200.0, "connection refused")
    assert await store.dead_callbacks(10, after_id=first.callback_id) == []
    counts = await store.counts()
    assert (counts.outbox_pending, counts.outbox_dead) == (1, 1)
    assert sorted(counts.jobs) == [(B, q.queue_id, "Submitted", 2)]
    assert await store.resend_callback(first.callback_id, 300.0)
    assert not await store.resend_callback(first.callback_id, 300.0)  # not dead any more
    assert not await store.resend_callback(second.callback_id, 300.0)  # never was
    assert await store.dead_callbacks(10) == []
    (again,) = [c for c in await store.due_callbacks(300.0, 10) if c.callback_id == first.callback_id]
    assert again.attempts == 0 and again.body == b"one"


async def test_a_jobs_callbacks_keep_their_attempts_delivered_or_dead(store: Store) -> None:
    await store.add_callbacks([Callback({"type": "Url", "url": "http://a/"}, b"1", "text/xml", job_id="ja"),
                               Callback({"type": "Url", "url": "http://b/"}, b"2", "text/xml", job_id="ja"),
                               Callback({"type": "Url", "url": "http://c/"}, b"3", "text/xml", job_id="jb"),
                               Callback({"type": "Url", "url": "http://d/"}, b"4", "text/xml", job_id="jc")], 100.0)
    a, b, c, d = await store.due_callbacks(100.0, 10)
    await store.callback_retry(a.callback_id, 1, 101.0, "callback answered HTTP 500")
    (a,) = await store.due_callbacks(101.0, 10)
    await store.callback_done(a.callback_id, 102.0)
    await store.callback_dead(b.callback_id, 3, "connection refused", 103.0)
    await store.callback_retry(c.callback_id, 1, 500.0, "timeout")
    got = await store.job_callbacks(["ja", "jb"])
    assert [(s.callback.callback_id, s.state, s.callback.attempts, s.last_error) for s in got] == [
        (a.callback_id, "delivered", 2, "callback answered HTTP 500"), (b.callback_id, "dead", 3, "connection refused"),
        (c.callback_id, "pending", 1, "timeout")]
    assert (got[0].delivered_at, got[1].dead_at, got[2].next_at) == (102.0, 103.0, 500.0)
    assert got[0].callback.target["url"] == "http://a/" and got[0].next_at is None
    assert (got[0].callback.body, got[1].callback.body) == (b"", b"2")  # a delivered body is not kept
    assert await store.job_callbacks([]) == [] and await store.job_callbacks(["nope"]) == []
    counts = await store.counts()
    assert (counts.outbox_pending, counts.outbox_dead) == (2, 1)  # c and d wait; a is delivered, b dead
    due = await store.due_callbacks(10**12, 10)  # a delivered callback is never due again
    assert sorted(x.callback_id for x in due) == sorted([c.callback_id, d.callback_id])


# --- the Offline lane (MPS TaskType Offline): claimed only while no open queue has Online work ----------

def offline(queue_id: str, tasks_priority: int = 0, tag: str = "Transcode") -> JobRecord:
    return job(queue_id, priority.from_tasks_priority(tasks_priority, offline=True), tag)


async def test_offline_waits_for_online_work_of_every_open_queue(store: Store) -> None:
    quiet = await store.ensure_queue(B, "queue-offline", 10)
    busy = await store.ensure_queue(B, "queue-busy", 10)
    idle_first = offline(quiet.queue_id)
    await store.insert_jobs([idle_first])
    first = await store.claim("n1", time.time(), 30)  # nothing else waits: the Offline job runs
    assert first is not None and first.job.job_id == idle_first.job_id
    # The Offline queue is now the least-served one (busy has run nothing), and yet busy's Online jobs,
    # even at the lowest Online priority, go first; the Offline jobs only after all of them.
    late = [offline(quiet.queue_id, 10), offline(quiet.queue_id, -10)]
    online = [job(busy.queue_id, priority.from_tasks_priority(-10)), job(busy.queue_id, 2)]
    await store.insert_jobs([*late, *online])
    assert await claim_all(store) == [online[1].job_id, online[0].job_id, late[0].job_id, late[1].job_id]


async def test_offline_after_online_inside_one_queue(store: Store) -> None:
    q = await store.ensure_queue(B, "queue-1", 10)
    idle, low = offline(q.queue_id, 10), job(q.queue_id, priority.from_tasks_priority(-10))
    await store.insert_jobs([idle, low])
    assert await claim_all(store) == [low.job_id, idle.job_id]


async def test_online_work_a_claimer_cannot_take_does_not_hold_offline_back(store: Store) -> None:
    """Online jobs of a paused or full queue, or of a Tag this worker does not run, are not runnable now."""
    quiet = await store.ensure_queue(B, "queue-offline", 10)
    full = await store.ensure_queue(B, "queue-full", 1)
    paused = await store.ensure_queue(B, "queue-paused", 10)
    await store.insert_jobs([job(full.queue_id), job(full.queue_id)])
    running = await store.claim("n1", time.time(), 30)
    assert running is not None and running.job.queue_id == full.queue_id
    await store.update_queue(B, paused.queue_id, "queue-paused", "Paused", {}, time.time())
    await store.insert_jobs([job(paused.queue_id, 10), job(quiet.queue_id, tag="Snapshot")])
    idle = offline(quiet.queue_id)
    await store.insert_jobs([idle])
    # full's second job waits for its slot, paused's for the queue, Snapshot for a worker that runs it
    assert await claim_all(store, tags=frozenset({"Transcode"})) == [idle.job_id]


async def test_ended_per_minute_counts_successes_and_failures_of_one_bucket(store: Store) -> None:
    q = await store.ensure_queue(B, "queue-1", 100)
    other = await store.ensure_queue("otherbucket-1250000000", "queue-1", 100)
    ends = [(JobState.SUCCESS, 1000.0), (JobState.SUCCESS, 1030.0), (JobState.FAILED, 1059.0),
            (JobState.SUCCESS, 1075.0), (JobState.SUCCESS, 999.0), (JobState.SUCCESS, 4600.0)]
    mine = [job(q.queue_id) for _ in ends]
    theirs = dataclasses.replace(job(other.queue_id), bucket="otherbucket-1250000000")
    cancelled = job(q.queue_id)
    await store.insert_jobs([*mine, theirs, cancelled])
    assert await store.cancel_job(B, cancelled.job_id, 1010.0) is not None
    by_id = {j.job_id: end for j, end in zip(mine, ends, strict=True)}
    by_id[theirs.job_id] = (JobState.SUCCESS, 1020.0)
    for _ in by_id:
        c = await store.claim("n1", time.time(), 30)
        assert c is not None
        state, at = by_id[c.job.job_id]
        assert await store.finish(c.job.job_id, c.token, at, Outcome(state, "Success" if state == JobState.SUCCESS
                                                                     else "X"))
    got = await store.ended_per_minute(B, 1000.0, 4600.0)
    assert got == [(0, "Failed", 1), (0, "Success", 2), (1, "Success", 1)]


async def test_a_nonce_is_used_once_while_live_and_anew_after(store: Store) -> None:
    now = 1_000_000.0
    assert await store.first_use("tc3:abc", now + 300, now)
    assert not await store.first_use("tc3:abc", now + 400, now + 10)       # a replay inside its window
    assert await store.first_use("tc3:other", now + 300, now + 10)
    assert await store.first_use("tc3:abc", now + 1000, now + 301)          # its window closed: a new use
    assert not await store.first_use("tc3:abc", now + 1000, now + 900)
    assert await store.first_use("tc3:abc", now + 2000, now + 1500)         # purged (a minute on) or expired
