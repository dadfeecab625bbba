"""Workflows, executions and batch jobs of the SQLite store (a mixin over its transaction and read
helpers). An advance is one write transaction: the compare-and-set of the record, then its step."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import aiosqlite

from ..domain import jobs as domain
from . import flow_rows, rows
from . import sqlite_flows_sql as sql
from . import sqlite_sql as jobs_sql
from .flows import BatchFilter, BatchRecord, ExecutionFilter, ExecutionRecord, Step, WorkflowRecord


class FlowRows:
    """The FlowStore repos; needs the host class's `_tx`, `_read` and `notify_work`."""

    _tx: Callable[..., Awaitable[Any]]
    _read: Callable[[str, Iterable[Any]], Awaitable[list[aiosqlite.Row]]]
    notify_work: Callable[[], None]

    async def reset_flows(self) -> None:
        """Delete every workflow, execution and batch job."""
        async def run(db: aiosqlite.Connection) -> None:
            for statement in sql.RESET:
                await db.execute(statement)
        await self._tx(run)

    # --- workflows --------------------------------------------------------------------------

    async def put_workflow(self, workflow: WorkflowRecord) -> None:
        """Insert or replace a workflow."""
        async def run(db: aiosqlite.Connection) -> None:
            await db.execute(sql.PUT_WORKFLOW, flow_rows.workflow_values(workflow))
        await self._tx(run)

    async def get_workflow(self, bucket: str, workflow_id: str) -> WorkflowRecord | None:
        """One workflow of a bucket."""
        found = await self._read(sql.WORKFLOW, (bucket, workflow_id))
        return flow_rows.workflow(found[0]) if found else None

    async def list_workflows(self, bucket: str, ids: list[str], name_prefix: str, offset: int,
                             limit: int) -> tuple[list[WorkflowRecord], int]:
        """A page of a bucket's workflows and the total that match."""
        where, args = sql.list_workflows(bucket, ids, name_prefix)
        total = (await self._read(sql.COUNT_WORKFLOWS.format(where=where), args))[0][0]
        page = await self._read(sql.LIST_WORKFLOWS.format(where=where), (*args, limit, offset))
        return [flow_rows.workflow(r) for r in page], int(total)

    async def delete_workflow(self, bucket: str, workflow_id: str) -> bool:
        """Delete a workflow."""
        async def run(db: aiosqlite.Connection) -> bool:
            cur = await db.execute(sql.DELETE_WORKFLOW, (bucket, workflow_id))
            return cur.rowcount > 0
        return bool(await self._tx(run))

    async def active_workflows(self, bucket: str) -> list[WorkflowRecord]:
        """The bucket's Active workflows."""
        return [flow_rows.workflow(r) for r in await self._read(sql.ACTIVE_WORKFLOWS, (bucket,))]

    # --- executions -------------------------------------------------------------------------

    async def insert_executions(self, executions: list[ExecutionRecord]) -> None:
        """Commit new executions."""
        if not executions:
            return

        async def run(db: aiosqlite.Connection) -> None:
            await db.executemany(sql.INSERT_EXECUTION, [flow_rows.execution_values(e) for e in executions])
        await self._tx(run)

    async def get_execution(self, bucket: str, run_id: str) -> ExecutionRecord | None:
        """One execution of a bucket."""
        found = await self._read(sql.EXECUTION, (bucket, run_id))
        return flow_rows.execution(found[0]) if found else None

    async def list_executions(self, bucket: str, flt: ExecutionFilter) -> list[ExecutionRecord]:
        """Executions matching `flt`."""
        where, args = flow_rows.execution_where(bucket, flt, sql.mark)
        return [flow_rows.execution(r) for r in await self._read(sql.LIST_EXECUTIONS.format(where=where), args)]

    async def running_executions(self, after_seq: int, limit: int) -> list[ExecutionRecord]:
        """Running executions after `after_seq`, oldest first."""
        return [flow_rows.execution(r) for r in await self._read(sql.RUNNING_EXECUTIONS, (after_seq, limit))]

    async def advance_execution(self, run_id: str, version: int, state: str, ended: float | None,
                                detail: dict[str, Any], step: Step, now: float) -> bool:
        """Compare-and-set the execution, then write its step, in one transaction."""
        async def run(db: aiosqlite.Connection) -> bool:
            row = await _first(db, sql.ADVANCE_EXECUTION, (state, ended, json.dumps(detail, ensure_ascii=False),
                                                           run_id, version))
            if row is None:
                return False
            await _write_step(db, "", step, now)
            return True
        return await self._stepped(run, step)

    # --- batches ----------------------------------------------------------------------------

    async def insert_batch(self, batch: BatchRecord) -> None:
        """Commit a new batch job."""
        async def run(db: aiosqlite.Connection) -> None:
            await db.execute(sql.INSERT_BATCH, flow_rows.batch_values(batch))
        await self._tx(run)

    async def get_batch(self, bucket: str, batch_id: str) -> BatchRecord | None:
        """One batch job of a bucket."""
        found = await self._read(sql.BATCH, (bucket, batch_id))
        return flow_rows.batch(found[0]) if found else None

    async def list_batches(self, bucket: str, flt: BatchFilter) -> list[BatchRecord]:
        """Batch jobs matching `flt`."""
        where, args = flow_rows.batch_where(bucket, flt, sql.mark)
        return [flow_rows.batch(r) for r in await self._read(sql.LIST_BATCHES.format(where=where), args)]

    async def active_batches(self, limit: int) -> list[BatchRecord]:
        """Submitted and Running batch jobs, oldest first."""
        return [flow_rows.batch(r) for r in await self._read(sql.ACTIVE_BATCHES, (limit,))]

    async def advance_batch(self, batch_id: str, version: int, state: str, started: float | None,
                            ended: float | None, detail: dict[str, Any], step: Step, now: float) -> bool:
        """Compare-and-set the batch job, then write its step, in one transaction."""
        async def run(db: aiosqlite.Connection) -> bool:
            row = await _first(db, sql.ADVANCE_BATCH, (state, started, ended, json.dumps(detail, ensure_ascii=False),
                                                       batch_id, version))
            if row is None:
                return False
            await _write_step(db, batch_id, step, now)
            return True
        return await self._stepped(run, step)

    async def batch_counts(self, batch_id: str) -> dict[str, int]:
        """Jobs and executions of a batch by state."""
        counts: dict[str, int] = {}
        for state, n in await self._read(sql.BATCH_COUNTS, (batch_id, batch_id)):
            counts[state] = counts.get(state, 0) + int(n)
        return counts

    async def _stepped(self, run: Callable[[aiosqlite.Connection], Awaitable[bool]], step: Step) -> bool:
        done = bool(await self._tx(run))
        if done and step.jobs:
            self.notify_work()
        return done


async def _first(db: aiosqlite.Connection, statement: str, args: tuple[Any, ...]) -> Any:
    found = list(await db.execute_fetchall(statement, args))
    return found[0] if found else None


async def _write_step(db: aiosqlite.Connection, batch_id: str, step: Step, now: float) -> None:
    """The jobs (Pause in a paused queue) and their task, executions, batch items and callbacks of a step."""
    if step.jobs:
        rows.check_task(step.jobs, step.task)
        queue_ids = sorted({j.queue_id for j in step.jobs})
        found = await db.execute_fetchall(jobs_sql.QUEUE_STATES.format(marks=jobs_sql.marks(len(queue_ids))),
                                          queue_ids)
        queue_states = {r[0]: r[1] for r in found}
        await db.executemany(jobs_sql.INSERT_JOB, [
            rows.job_values(j, domain.submitted_state(j.state, queue_states.get(j.queue_id))) for j in step.jobs])
        if step.task is not None:
            await db.execute(jobs_sql.INSERT_TASK, rows.task_values(step.task))
    if step.executions:
        await db.executemany(sql.INSERT_EXECUTION, [flow_rows.execution_values(e) for e in step.executions])
    if batch_id and step.items:
        await db.executemany(sql.INSERT_ITEM, [(batch_id, ref) for ref in step.items])
    if step.callbacks:
        await db.executemany(jobs_sql.INSERT_CALLBACK, [
            (c.job_id, json.dumps(c.target), c.body, c.content_type, now) for c in step.callbacks])
