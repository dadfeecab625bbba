"""Workflows, executions and batch jobs of the PostgreSQL store (a mixin over its transaction and fetch
helpers). An advance is one transaction: the compare-and-set of the record (its row lock makes a
concurrent advance wait, then find the version moved on), then its step."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from ..domain import jobs as domain
from ..domain.jobs import JobState
from . import flow_rows, rows
from . import postgres_flows_sql as sql
from . import postgres_sql as jobs_sql
from .flows import BatchFilter, BatchRecord, ExecutionFilter, ExecutionRecord, Step, WorkflowRecord

Conn = Any
SUBMIT_RULE = ([str(k) for k in domain.SUBMIT_INTO], [str(v) for v in domain.SUBMIT_INTO.values()])


class FlowRows:
    """The FlowStore repos; needs the host class's `_tx`, `_fetch` and `notify_work`."""

    _tx: Callable[..., Awaitable[Any]]
    _fetch: Callable[..., Awaitable[list[Any]]]
    notify_work: Callable[[], None]

    async def reset_flows(self) -> None:
        """Delete every workflow, execution and batch job."""
        async def run(conn: Conn) -> None:
            for statement in sql.RESET:
                await conn.execute(statement)
        await self._tx(run)

    async def put_workflow(self, workflow: WorkflowRecord) -> None:
        """Insert or replace a workflow."""
        await self._fetch(sql.PUT_WORKFLOW, *flow_rows.workflow_values(workflow))

    async def get_workflow(self, bucket: str, workflow_id: str) -> WorkflowRecord | None:
        """One workflow of a bucket."""
        found = await self._fetch(sql.WORKFLOW, bucket, workflow_id)
        return flow_rows.workflow(found[0]) if found else None

    async def list_workflows(self, bucket: str, ids: list[str], name_prefix: str, offset: int,
                             limit: int) -> tuple[list[WorkflowRecord], int]:
        """A page of a bucket's workflows and the total that match."""
        total = await self._fetch(sql.COUNT_WORKFLOWS, bucket, name_prefix, ids)
        page = await self._fetch(sql.LIST_WORKFLOWS, bucket, name_prefix, ids, limit, offset)
        return [flow_rows.workflow(r) for r in page], int(total[0]["n"])

    async def delete_workflow(self, bucket: str, workflow_id: str) -> bool:
        """Delete a workflow."""
        return bool(await self._fetch(sql.DELETE_WORKFLOW, bucket, workflow_id))

    async def active_workflows(self, bucket: str) -> list[WorkflowRecord]:
        """The bucket's Active workflows."""
        return [flow_rows.workflow(r) for r in await self._fetch(sql.ACTIVE_WORKFLOWS, bucket)]

    async def insert_executions(self, executions: list[ExecutionRecord]) -> None:
        """Commit new executions."""
        if not executions:
            return

        async def run(conn: Conn) -> None:
            await conn.executemany(sql.INSERT_EXECUTION, [flow_rows.execution_values(e) for e in executions])
        await self._tx(run)

    async def get_execution(self, bucket: str, run_id: str) -> ExecutionRecord | None:
        """One execution of a bucket."""
        found = await self._fetch(sql.EXECUTION, bucket, run_id)
        return flow_rows.execution(found[0]) if found else None

    async def list_executions(self, bucket: str, flt: ExecutionFilter) -> list[ExecutionRecord]:
        """Executions matching `flt`."""
        where, args = flow_rows.execution_where(bucket, flt, sql.mark)
        return [flow_rows.execution(r) for r in await self._fetch(sql.LIST_EXECUTIONS.format(where=where), *args)]

    async def running_executions(self, after_seq: int, limit: int) -> list[ExecutionRecord]:
        """Running executions after `after_seq`, oldest first."""
        return [flow_rows.execution(r) for r in await self._fetch(sql.RUNNING_EXECUTIONS, after_seq, limit)]

    async def advance_execution(self, run_id: str, version: int, state: str, ended: float | None,
                                detail: dict[str, Any], step: Step, now: float) -> bool:
        """Compare-and-set the execution, then write its step, in one transaction."""
        async def run(conn: Conn) -> bool:
            if await conn.fetchval(sql.ADVANCE_EXECUTION, state, ended, json.dumps(detail, ensure_ascii=False),
                                   run_id, version) is None:
                return False
            await self._write_step(conn, "", step, now)
            return True
        return await self._stepped(run, step)

    async def insert_batch(self, batch: BatchRecord) -> None:
        """Commit a new batch job."""
        await self._fetch(sql.INSERT_BATCH, *flow_rows.batch_values(batch))

    async def get_batch(self, bucket: str, batch_id: str) -> BatchRecord | None:
        """One batch job of a bucket."""
        found = await self._fetch(sql.BATCH, bucket, batch_id)
        return flow_rows.batch(found[0]) if found else None

    async def list_batches(self, bucket: str, flt: BatchFilter) -> list[BatchRecord]:
        """Batch jobs matching `flt`."""
        where, args = flow_rows.batch_where(bucket, flt, sql.mark)
        return [flow_rows.batch(r) for r in await self._fetch(sql.LIST_BATCHES.format(where=where), *args)]

    async def active_batches(self, limit: int) -> list[BatchRecord]:
        """Submitted and Running batch jobs, oldest first."""
        return [flow_rows.batch(r) for r in await self._fetch(sql.ACTIVE_BATCHES, limit)]

    async def advance_batch(self, batch_id: str, version: int, state: str, started: float | None,
                            ended: float | None, detail: dict[str, Any], step: Step, now: float) -> bool:
        """Compare-and-set the batch job, then write its step, in one transaction."""
        async def run(conn: Conn) -> bool:
            if await conn.fetchval(sql.ADVANCE_BATCH, state, started, ended, json.dumps(detail, ensure_ascii=False),
                                   batch_id, version) is None:
                return False
            await self._write_step(conn, batch_id, step, now)
            return True
        return await self._stepped(run, step)

    async def batch_counts(self, batch_id: str) -> dict[str, int]:
        """Jobs and executions of a batch by state."""
        counts: dict[str, int] = {}
        for r in await self._fetch(sql.BATCH_COUNTS, batch_id):
            counts[r["state"]] = counts.get(r["state"], 0) + int(r["n"])
        return counts

    async def _stepped(self, run: Callable[[Conn], Awaitable[bool]], step: Step) -> bool:
        done = bool(await self._tx(run))
        if done and step.jobs:
            self.notify_work()
        return done

    async def _write_step(self, conn: Conn, batch_id: str, step: Step, now: float) -> None:
        """The jobs and their task, executions, batch items and callbacks of a step."""
        if step.jobs:
            rows.check_task(step.jobs, step.task)
            columns = [list(c) for c in zip(*(rows.job_values(j, j.state) for j in step.jobs), strict=True)]
            if step.task is not None:
                task_columns = [[v] for v in rows.task_values(step.task)]
                inserted = await conn.fetch(jobs_sql.INSERT_JOBS_AND_TASKS, *columns, *SUBMIT_RULE,
                                            *task_columns)
            else:
                inserted = await conn.fetch(jobs_sql.INSERT_JOBS, *columns, *SUBMIT_RULE)
            if any(r["state"] == JobState.SUBMITTED for r in inserted):
                await conn.execute(jobs_sql.NOTIFY)
        if step.executions:
            await conn.executemany(sql.INSERT_EXECUTION, [flow_rows.execution_values(e) for e in step.executions])
        if batch_id and step.items:
            await conn.execute(sql.INSERT_ITEMS, batch_id, step.items)
        if step.callbacks:
            cbs = step.callbacks
            await conn.execute(jobs_sql.INSERT_CALLBACKS, [c.job_id for c in cbs], [json.dumps(c.target) for c in cbs],
                               [c.body for c in cbs], [c.content_type for c in cbs], now)
