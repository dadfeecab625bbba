"""The FlowStore contract (workflows, executions, batch jobs), run against every adapter like
test_store_contract.py: compare-and-set advances, steps written with them, filters and paging, counts."""

from __future__ import annotations

import time

from ci_jobs import ids
from ci_jobs.domain.tasks import TASK_ID_PREFIX, TaskKind
from ci_jobs.store import Callback, JobRecord, JobState, Outcome, Store, TaskRecord
from ci_jobs.store.flows import BatchFilter, BatchRecord, ExecutionFilter, ExecutionRecord, Step, WorkflowRecord

B = "examplebucket-1250000000"


def workflow(name: str = "wf", state: str = "Active", created: float | None = None) -> WorkflowRecord:
    now = created or time.time()
    return WorkflowRecord(ids.new_id("w"), B, name, state, {"Dependencies": {"Start": "End"}, "Nodes": {}}, now, now)


def execution(workflow_id: str, key: str = "in/a.mp4", batch_id: str = "", created: float | None = None,
              state: str = "Running") -> ExecutionRecord:
    return ExecutionRecord(ids.new_id("i"), B, workflow_id, key, state, created or time.time(),
                           {"WorkflowName": "wf", "Nodes": {}}, batch_id=batch_id)


def node_jobs(queue_id: str, n: int = 2) -> tuple[list[JobRecord], TaskRecord]:
    task_id = ids.new_id(TASK_ID_PREFIX)
    jobs = [JobRecord(job_id=ids.new_id("j"), bucket=B, queue_id=queue_id, tag="MediaInfo", state=JobState.SUBMITTED,
                      level=0, created=time.time(), spec={"Input": {"Object": "in/a.mp4"}}, task_id=task_id)
            for _ in range(n)]
    task = TaskRecord(task_id, B, TaskKind.WORKFLOW_EXECUTION, "ci", time.time(), tuple(j.job_id for j in jobs))
    return jobs, task


async def test_workflows_put_list_delete(store: Store) -> None:
    a, b = workflow("alpha", created=1.0), workflow("beta", "Paused", created=2.0)
    await store.put_workflow(a)
    await store.put_workflow(b)
    await store.put_workflow(WorkflowRecord(a.workflow_id, B, "alpha2", "Active", {"x": "1"}, 5.0, 6.0))
    got = await store.get_workflow(B, a.workflow_id)
    assert got is not None and got.name == "alpha2" and got.topology == {"x": "1"} and got.updated == 6.0
    assert await store.get_workflow("other-1250000000", a.workflow_id) is None
    page, total = await store.list_workflows(B, [], "", 0, 10)
    assert total == 2 and [w.workflow_id for w in page] == [a.workflow_id, b.workflow_id]
    assert (await store.list_workflows(B, [], "be", 0, 10))[1] == 1
    assert [w.name for w in (await store.list_workflows(B, [b.workflow_id], "", 0, 10))[0]] == ["beta"]
    assert [w.workflow_id for w in await store.active_workflows(B)] == [a.workflow_id]
    assert await store.delete_workflow(B, a.workflow_id)
    assert not await store.delete_workflow(B, a.workflow_id)
    assert await store.get_workflow(B, a.workflow_id) is None


async def test_execution_advance_is_compare_and_set_with_its_step(store: Store) -> None:
    q = await store.ensure_queue(B, "queue-1", 10)
    e = execution("w1")
    await store.insert_executions([e])
    jobs, task = node_jobs(q.queue_id)
    cb = Callback({"type": "Url", "url": "http://127.0.0.1:1/"}, b"<x/>", "application/xml", job_id=e.run_id)
    now = time.time()
    assert await store.advance_execution(e.run_id, 0, "Running", None, {"Nodes": {"a": jobs[0].job_id}},
                                         Step(jobs=jobs, task=task, callbacks=[cb]), now)
    # A second advancer that read version 0 too is refused, and writes nothing of its step.
    late_jobs, late_task = node_jobs(q.queue_id)
    assert not await store.advance_execution(e.run_id, 0, "Success", now, {}, Step(jobs=late_jobs, task=late_task),
                                             now)
    assert await store.get_jobs(B, [j.job_id for j in late_jobs]) == []
    stored = await store.get_execution(B, e.run_id)
    assert stored is not None and stored.version == 1 and stored.detail == {"Nodes": {"a": jobs[0].job_id}}
    assert [j.job_id for j in await store.get_jobs(B, [j.job_id for j in jobs])] == [j.job_id for j in jobs]
    assert (await store.get_task(B, task.task_id)) is not None
    assert [c.job_id for c in await store.due_callbacks(now + 1, 10)] == [e.run_id]
    assert await store.advance_execution(e.run_id, 1, "Success", now, {}, Step(), now)
    done = await store.get_execution(B, e.run_id)
    assert done is not None and done.state == "Success" and done.ended == now and done.version == 2
    assert await store.running_executions(0, 10) == []


async def test_execution_filters_and_paging(store: Store) -> None:
    old = [execution("w1", f"in/{i}.mp4", created=1000.0 + i) for i in range(5)]
    other = execution("w2", "x/a.mp4", batch_id="b1", created=2000.0)
    for e in [*old, other]:
        await store.insert_executions([e])
    assert await store.advance_execution(old[1].run_id, 0, "Failed", 1.0, {}, Step(), 1.0)
    first = await store.list_executions(B, ExecutionFilter(workflow_id="w1", size=2))
    assert [e.run_id for e in first] == [old[4].run_id, old[3].run_id]
    rest = await store.list_executions(B, ExecutionFilter(workflow_id="w1", size=10, after_seq=first[-1].seq))
    assert [e.run_id for e in rest] == [old[2].run_id, old[1].run_id, old[0].run_id]
    asc = await store.list_executions(B, ExecutionFilter(workflow_id="w1", ascending=True, size=2))
    assert [e.run_id for e in asc] == [old[0].run_id, old[1].run_id]
    assert [e.run_id for e in await store.list_executions(B, ExecutionFilter(states=frozenset({"Failed"})))] == \
        [old[1].run_id]
    window = await store.list_executions(B, ExecutionFilter(start=1001.0, end=1002.0, ascending=True))
    assert [e.run_id for e in window] == [old[1].run_id, old[2].run_id]
    assert [e.run_id for e in await store.list_executions(B, ExecutionFilter(batch_id="b1"))] == [other.run_id]
    assert [e.run_id for e in await store.list_executions(B, ExecutionFilter(object_prefix="x/"))] == [other.run_id]
    running = await store.running_executions(0, 3)
    assert [e.run_id for e in running] == [old[0].run_id, old[2].run_id, old[3].run_id]
    assert [e.run_id for e in await store.running_executions(running[-1].seq, 10)] == [old[4].run_id, other.run_id]


async def test_batch_advance_items_and_counts(store: Store) -> None:
    q = await store.ensure_queue(B, "queue-1", 10)
    b = BatchRecord(ids.new_id("b"), B, "batch-1", "Job", "Submitted", time.time(), {"Cursor": ""})
    await store.insert_batch(b)
    assert [x.batch_id for x in await store.active_batches(10)] == [b.batch_id]
    jobs, task = node_jobs(q.queue_id, 3)
    e = execution("w1", batch_id=b.batch_id)
    step = Step(jobs=jobs, task=task, executions=[e], items=[*(j.job_id for j in jobs), e.run_id])
    now = time.time()
    assert await store.advance_batch(b.batch_id, 0, "Running", now, None, {"Cursor": "k"}, step, now)
    assert not await store.advance_batch(b.batch_id, 0, "Running", now, None, {"Cursor": "z"}, Step(), now)
    got = await store.get_batch(B, b.batch_id)
    assert got is not None and got.state == "Running" and got.detail == {"Cursor": "k"} and got.started == now
    assert await store.get_execution(B, e.run_id) is not None
    assert await store.batch_counts(b.batch_id) == {"Submitted": 3, "Running": 1}
    claim = await store.claim("n1", now, 30)
    assert claim is not None
    assert await store.finish(claim.job.job_id, claim.token, now, Outcome(JobState.FAILED, "X", "y"))
    assert await store.batch_counts(b.batch_id) == {"Submitted": 2, "Failed": 1, "Running": 1}
    assert await store.advance_batch(b.batch_id, 1, "Cancel", now, now, {}, Step(), now)
    assert await store.active_batches(10) == []


async def test_batch_filters(store: Store) -> None:
    a = BatchRecord(ids.new_id("b"), B, "one", "Job", "Submitted", 1000.0)
    w = BatchRecord(ids.new_id("b"), B, "two", "Workflow", "Submitted", 2000.0, workflow_ids=("w1", "w22"))
    for x in (a, w):
        await store.insert_batch(x)
    assert [x.batch_id for x in await store.list_batches(B, BatchFilter())] == [w.batch_id, a.batch_id]
    assert [x.batch_id for x in await store.list_batches(B, BatchFilter(kind="Job"))] == [a.batch_id]
    assert [x.batch_id for x in await store.list_batches(B, BatchFilter(workflow_id="w2"))] == []
    assert [x.batch_id for x in await store.list_batches(B, BatchFilter(workflow_id="w22"))] == [w.batch_id]
    assert [x.batch_id for x in await store.list_batches(B, BatchFilter(batch_id=a.batch_id))] == [a.batch_id]
    assert [x.batch_id for x in await store.list_batches(B, BatchFilter(name="two"))] == [w.batch_id]
    first = await store.list_batches(B, BatchFilter(size=1, ascending=True))
    assert [x.batch_id for x in first] == [a.batch_id]
    assert [x.batch_id for x in await store.list_batches(B, BatchFilter(ascending=True, after_seq=first[0].seq))] \
        == [w.batch_id]
    assert [x.batch_id for x in await store.list_batches(B, BatchFilter(start=1500.0))] == [w.batch_id]
    assert (await store.get_batch(B, w.batch_id)).workflow_ids == ("w1", "w22")  # type: ignore[union-attr]
    await store.reset_flows()
    assert await store.list_batches(B, BatchFilter()) == []
