"""Row <-> record mapping of workflows, executions and batch jobs, shared by the SQL adapters (JSON as
text, times as unix seconds), and the filters' WHERE clauses in either placeholder style."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .flows import BatchFilter, BatchRecord, ExecutionFilter, ExecutionRecord, WorkflowRecord
from .rows import Row

WORKFLOW_COLUMNS = "workflow_id, bucket, name, state, topology, created, updated"
EXECUTION_COLUMNS = "seq, run_id, bucket, workflow_id, batch_id, object, state, created, ended, version, detail"
EXECUTION_VALUES = ("run_id", "bucket", "workflow_id", "batch_id", "object", "state", "created", "ended", "detail")
BATCH_COLUMNS = ("seq, batch_id, bucket, name, kind, state, workflow_ids, created, started, ended, version, "
                 "detail")
BATCH_VALUES = ("batch_id", "bucket", "name", "kind", "state", "workflow_ids", "created", "detail")

Mark = Callable[[int], str]  # the n-th (1-based) placeholder of a dialect: "?" or "$n"


def workflow_values(w: WorkflowRecord) -> tuple[Any, ...]:
    """A workflow's values in WORKFLOW_COLUMNS order."""
    return (w.workflow_id, w.bucket, w.name, w.state, json.dumps(w.topology, ensure_ascii=False), w.created,
            w.updated)


def workflow(r: Row) -> WorkflowRecord:
    """The WorkflowRecord of a WORKFLOW_COLUMNS row."""
    return WorkflowRecord(workflow_id=r["workflow_id"], bucket=r["bucket"], name=r["name"], state=r["state"],
                          topology=json.loads(r["topology"]), created=r["created"], updated=r["updated"])


def execution_values(e: ExecutionRecord) -> tuple[Any, ...]:
    """A new execution's values in EXECUTION_VALUES order."""
    return (e.run_id, e.bucket, e.workflow_id, e.batch_id, e.object, e.state, e.created, e.ended,
            json.dumps(e.detail, ensure_ascii=False))


def execution(r: Row) -> ExecutionRecord:
    """The ExecutionRecord of an EXECUTION_COLUMNS row."""
    return ExecutionRecord(run_id=r["run_id"], bucket=r["bucket"], workflow_id=r["workflow_id"], object=r["object"],
                           state=r["state"], created=r["created"], detail=json.loads(r["detail"]),
                           batch_id=r["batch_id"], ended=r["ended"], version=r["version"], seq=r["seq"])


def batch_values(b: BatchRecord) -> tuple[Any, ...]:
    """A new batch job's values in BATCH_VALUES order."""
    return (b.batch_id, b.bucket, b.name, b.kind, b.state, ids_text(b.workflow_ids), b.created,
            json.dumps(b.detail, ensure_ascii=False))


def batch(r: Row) -> BatchRecord:
    """The BatchRecord of a BATCH_COLUMNS row."""
    return BatchRecord(batch_id=r["batch_id"], bucket=r["bucket"], name=r["name"], kind=r["kind"], state=r["state"],
                       created=r["created"], detail=json.loads(r["detail"]),
                       workflow_ids=tuple(i for i in r["workflow_ids"].split(",") if i), started=r["started"],
                       ended=r["ended"], version=r["version"], seq=r["seq"])


def ids_text(workflow_ids: tuple[str, ...]) -> str:
    """Workflow ids as `,w1,w2,` so that `LIKE '%,w1,%'` finds one exactly."""
    return f",{','.join(workflow_ids)}," if workflow_ids else ""


def execution_where(bucket: str, flt: ExecutionFilter, mark: Mark) -> tuple[str, list[Any]]:
    """The WHERE and ORDER of a list of executions, and its arguments (the LIMIT's last)."""
    conds: list[tuple[str, Any]] = [("bucket={}", bucket)]
    if flt.workflow_id:
        conds.append(("workflow_id={}", flt.workflow_id))
    if flt.batch_id:
        conds.append(("batch_id={}", flt.batch_id))
    if flt.object_prefix:
        conds.append(("substr(object, 1, {})={}", (len(flt.object_prefix), flt.object_prefix)))
    conds += _common(flt.start, flt.end, flt.after_seq, flt.ascending)
    return _where(conds, sorted(flt.states), flt.ascending, flt.size, mark)


def batch_where(bucket: str, flt: BatchFilter, mark: Mark) -> tuple[str, list[Any]]:
    """The WHERE and ORDER of a list of batch jobs, and its arguments (the LIMIT's last)."""
    conds: list[tuple[str, Any]] = [("bucket={}", bucket)]
    for clause, value in (("kind={}", flt.kind), ("batch_id={}", flt.batch_id), ("name={}", flt.name)):
        if value:
            conds.append((clause, value))
    if flt.workflow_id:
        conds.append(("workflow_ids LIKE {}", f"%,{flt.workflow_id},%"))
    conds += _common(flt.start, flt.end, flt.after_seq, flt.ascending)
    return _where(conds, sorted(flt.states), flt.ascending, flt.size, mark)


def _common(start: float | None, end: float | None, after: int | None, ascending: bool) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    if start is not None:
        out.append(("created>={}", start))
    if end is not None:
        out.append(("created<={}", end))
    if after is not None:
        out.append(("seq>{}" if ascending else "seq<{}", after))
    return out


def _where(conds: list[tuple[str, Any]], states: list[str], ascending: bool, size: int,
           mark: Mark) -> tuple[str, list[Any]]:
    parts: list[str] = []
    args: list[Any] = []
    for clause, value in conds:
        values = value if isinstance(value, tuple) else (value,)
        first = len(args) + 1
        args += values
        parts.append(clause.format(*(mark(first + i) for i in range(len(values)))))
    if states:
        first = len(args) + 1
        args += states
        parts.append(f"state IN ({', '.join(mark(first + i) for i in range(len(states)))})")
    args.append(size)
    return (f"{' AND '.join(parts)} ORDER BY seq {'ASC' if ascending else 'DESC'} LIMIT {mark(len(args))}", args)
