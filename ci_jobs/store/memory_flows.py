"""Workflows, executions and batch jobs of the in-memory store (a mixin over its jobs and outbox)."""

from __future__ import annotations

import copy
import dataclasses
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

from .flows import BatchFilter, BatchRecord, ExecutionFilter, ExecutionRecord, Step, WorkflowRecord
from .records import Callback, JobRecord, TaskRecord


class FlowRows:
    """The FlowStore repos in dicts; needs the host class's `insert_jobs`, `add_callbacks`, `_jobs`."""

    insert_jobs: Callable[[list[JobRecord], TaskRecord | None], Awaitable[list[JobRecord]]]
    add_callbacks: Callable[[list[Callback], float], Awaitable[None]]
    _jobs: dict[str, JobRecord]

    def _flows(self) -> _Flows:
        found = self.__dict__.get("_flow_data")
        if found is None:
            found = self.__dict__["_flow_data"] = _Flows()
        return found

    async def reset_flows(self) -> None:
        """Delete every workflow, execution and batch job."""
        self.__dict__["_flow_data"] = _Flows()

    async def put_workflow(self, workflow: WorkflowRecord) -> None:
        """Insert or replace a workflow (its created time stays)."""
        flows = self._flows()
        old = flows.workflows.get(workflow.workflow_id)
        flows.workflows[workflow.workflow_id] = _copy(workflow if old is None else
                                                      dataclasses.replace(workflow, created=old.created))

    async def get_workflow(self, bucket: str, workflow_id: str) -> WorkflowRecord | None:
        """One workflow of a bucket."""
        w = self._flows().workflows.get(workflow_id)
        return _copy(w) if w is not None and w.bucket == bucket else None

    async def list_workflows(self, bucket: str, ids: list[str], name_prefix: str, offset: int,
                             limit: int) -> tuple[list[WorkflowRecord], int]:
        """A page of a bucket's workflows and the total that match."""
        found = sorted((w for w in self._flows().workflows.values() if w.bucket == bucket
                        and w.name.startswith(name_prefix) and (not ids or w.workflow_id in ids)),
                       key=lambda w: (w.created, w.workflow_id))
        return [_copy(w) for w in found[offset:offset + limit]], len(found)

    async def delete_workflow(self, bucket: str, workflow_id: str) -> bool:
        """Delete a workflow."""
        if await self.get_workflow(bucket, workflow_id) is None:
            return False
        del self._flows().workflows[workflow_id]
        return True

    async def active_workflows(self, bucket: str) -> list[WorkflowRecord]:
        """The bucket's Active workflows."""
        found, _ = await self.list_workflows(bucket, [], "", 0, 10**9)
        return [w for w in found if w.state == "Active"]

    async def insert_executions(self, executions: list[ExecutionRecord]) -> None:
        """Commit new executions."""
        flows = self._flows()
        for e in executions:
            flows.executions[e.run_id] = dataclasses.replace(_copy(e), seq=next(flows.seq), version=0)

    async def get_execution(self, bucket: str, run_id: str) -> ExecutionRecord | None:
        """One execution of a bucket."""
        e = self._flows().executions.get(run_id)
        return _copy(e) if e is not None and e.bucket == bucket else None

    async def list_executions(self, bucket: str, flt: ExecutionFilter) -> list[ExecutionRecord]:
        """Executions matching `flt`."""
        found = [e for e in self._flows().executions.values() if e.bucket == bucket
                 and (not flt.workflow_id or e.workflow_id == flt.workflow_id)
                 and (not flt.batch_id or e.batch_id == flt.batch_id) and e.object.startswith(flt.object_prefix)
                 and (not flt.states or e.state in flt.states)
                 and _in_window(e.created, e.seq, flt.start, flt.end, flt.after_seq, flt.ascending)]
        return [_copy(e) for e in sorted(found, key=lambda e: e.seq, reverse=not flt.ascending)[:flt.size]]

    async def running_executions(self, after_seq: int, limit: int) -> list[ExecutionRecord]:
        """Running executions after `after_seq`, oldest first."""
        found = sorted((e for e in self._flows().executions.values() if e.state == "Running" and e.seq > after_seq),
                       key=lambda e: e.seq)
        return [_copy(e) for e in found[:limit]]

    async def advance_execution(self, run_id: str, version: int, state: str, ended: float | None,
                                detail: dict[str, Any], step: Step, now: float) -> bool:
        """Compare-and-set the execution, then write its step (no await in between yields)."""
        flows = self._flows()
        e = flows.executions.get(run_id)
        if e is None or e.version != version:
            return False
        await self._write_step("", step, now)
        flows.executions[run_id] = dataclasses.replace(e, state=state, ended=ended, detail=copy.deepcopy(detail),
                                                       version=version + 1)
        return True

    async def insert_batch(self, batch: BatchRecord) -> None:
        """Commit a new batch job."""
        flows = self._flows()
        flows.batches[batch.batch_id] = dataclasses.replace(_copy(batch), seq=next(flows.seq), version=0)

    async def get_batch(self, bucket: str, batch_id: str) -> BatchRecord | None:
        """One batch job of a bucket."""
        b = self._flows().batches.get(batch_id)
        return _copy(b) if b is not None and b.bucket == bucket else None

    async def list_batches(self, bucket: str, flt: BatchFilter) -> list[BatchRecord]:
        """Batch jobs matching `flt`."""
        found = [b for b in self._flows().batches.values() if b.bucket == bucket
                 and (not flt.kind or b.kind == flt.kind) and (not flt.batch_id or b.batch_id == flt.batch_id)
                 and (not flt.name or b.name == flt.name)
                 and (not flt.workflow_id or flt.workflow_id in b.workflow_ids)
                 and (not flt.states or b.state in flt.states)
                 and _in_window(b.created, b.seq, flt.start, flt.end, flt.after_seq, flt.ascending)]
        return [_copy(b) for b in sorted(found, key=lambda b: b.seq, reverse=not flt.ascending)[:flt.size]]

    async def active_batches(self, limit: int) -> list[BatchRecord]:
        """Submitted and Running batch jobs, oldest first."""
        found = sorted((b for b in self._flows().batches.values() if b.state in ("Submitted", "Running")),
                       key=lambda b: b.seq)
        return [_copy(b) for b in found[:limit]]

    async def advance_batch(self, batch_id: str, version: int, state: str, started: float | None,
                            ended: float | None, detail: dict[str, Any], step: Step, now: float) -> bool:
        """Compare-and-set the batch job, then write its step."""
        flows = self._flows()
        b = flows.batches.get(batch_id)
        if b is None or b.version != version:
            return False
        await self._write_step(batch_id, step, now)
        flows.batches[batch_id] = dataclasses.replace(b, state=state, started=started, ended=ended,
                                                      detail=copy.deepcopy(detail), version=version + 1)
        return True

    async def batch_counts(self, batch_id: str) -> dict[str, int]:
        """Jobs and executions of a batch by state."""
        flows = self._flows()
        counts: dict[str, int] = {}
        for ref in flows.items.get(batch_id, ()):
            item = self._jobs.get(ref) or flows.executions.get(ref)
            if item is not None:
                counts[item.state] = counts.get(item.state, 0) + 1
        return counts

    async def _write_step(self, batch_id: str, step: Step, now: float) -> None:
        if step.jobs:
            await self.insert_jobs(step.jobs, step.task)
        await self.insert_executions(step.executions)
        if batch_id:
            self._flows().items.setdefault(batch_id, set()).update(step.items)
        if step.callbacks:
            await self.add_callbacks(step.callbacks, now)


@dataclasses.dataclass
class _Flows:
    workflows: dict[str, WorkflowRecord] = dataclasses.field(default_factory=dict)
    executions: dict[str, ExecutionRecord] = dataclasses.field(default_factory=dict)
    batches: dict[str, BatchRecord] = dataclasses.field(default_factory=dict)
    items: dict[str, set[str]] = dataclasses.field(default_factory=dict)
    seq: itertools.count[int] = dataclasses.field(default_factory=lambda: itertools.count(1))


def _copy(value: Any) -> Any:
    return copy.deepcopy(value)


def _in_window(created: float, seq: int, start: float | None, end: float | None, after: int | None,
               ascending: bool) -> bool:
    if (start is not None and created < start) or (end is not None and created > end):
        return False
    return after is None or (seq > after if ascending else seq < after)
