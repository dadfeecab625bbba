"""Workflows, their executions and batch jobs in the store: records and the repos (ports) that hold them.

An execution and a batch move forward by compare-and-set on their `version`: `advance_execution` and
`advance_batch` write the new state together with the jobs (and task), executions, batch items and
callbacks of that step in one transaction, and only if nobody advanced the record since it was read.
Two nodes (or a restarted one) that compute the same step therefore submit it once: the loser's
write is refused and it reads again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from .records import Callback, JobRecord, TaskRecord


@dataclass(frozen=True)
class WorkflowRecord:
    """A workflow of a bucket: its name, Active/Paused state and its Topology as given (element order kept)."""

    workflow_id: str
    bucket: str
    name: str
    state: str
    topology: dict[str, Any]
    created: float
    updated: float


@dataclass(frozen=True)
class ExecutionRecord:
    """One run of a workflow on one object (`i` + 32 hex). `detail` holds the workflow's name and
    topology at trigger time, the object's headers, and the job of each node (`Nodes`: name -> job id)."""

    run_id: str
    bucket: str
    workflow_id: str
    object: str
    state: str
    created: float
    detail: dict[str, Any] = field(default_factory=dict)
    batch_id: str = ""
    ended: float | None = None
    version: int = 0
    seq: int = 0


@dataclass(frozen=True)
class ExecutionFilter:
    """The `GET /workflowexecution` filters."""

    workflow_id: str = ""
    states: frozenset[str] = frozenset()
    start: float | None = None
    end: float | None = None
    ascending: bool = False
    size: int = 10
    after_seq: int | None = None
    batch_id: str = ""
    object_prefix: str = ""


@dataclass(frozen=True)
class BatchRecord:
    """A batch job over existing objects (`b` + 32 hex): `kind` Job or Workflow; `detail` holds the request
    echo (Input, Operation), the listing cursor and the found/submitted counts."""

    batch_id: str
    bucket: str
    name: str
    kind: str
    state: str
    created: float
    detail: dict[str, Any] = field(default_factory=dict)
    workflow_ids: tuple[str, ...] = ()
    started: float | None = None
    ended: float | None = None
    version: int = 0
    seq: int = 0


@dataclass(frozen=True)
class BatchFilter:
    """The `GET /inventorytriggerjob` filters."""

    kind: str = ""
    states: frozenset[str] = frozenset()
    start: float | None = None
    end: float | None = None
    ascending: bool = False
    size: int = 10
    after_seq: int | None = None
    workflow_id: str = ""
    batch_id: str = ""
    name: str = ""


@dataclass(frozen=True)
class Step:
    """What one advance writes besides the record itself: new jobs (with their task), new executions,
    batch items (ids of the jobs/executions a batch made) and callbacks."""

    jobs: list[JobRecord] = field(default_factory=list)
    task: TaskRecord | None = None
    executions: list[ExecutionRecord] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    callbacks: list[Callback] = field(default_factory=list)


class WorkflowRepo(Protocol):
    """Workflows of a bucket."""

    async def put_workflow(self, workflow: WorkflowRecord) -> None:
        """Create a workflow, or replace the one with the same id."""

    async def get_workflow(self, bucket: str, workflow_id: str) -> WorkflowRecord | None:
        """One workflow of a bucket."""

    async def list_workflows(self, bucket: str, ids: list[str], name_prefix: str, offset: int,
                             limit: int) -> tuple[list[WorkflowRecord], int]:
        """Workflows matching the filters (oldest first), one page of them, and the total count."""

    async def delete_workflow(self, bucket: str, workflow_id: str) -> bool:
        """Delete a workflow; False when it did not exist."""

    async def active_workflows(self, bucket: str) -> list[WorkflowRecord]:
        """The bucket's Active workflows (the ones an upload may start)."""


class ExecutionRepo(Protocol):
    """Workflow executions."""

    async def insert_executions(self, executions: list[ExecutionRecord]) -> None:
        """Commit new executions (all or none) before returning."""

    async def get_execution(self, bucket: str, run_id: str) -> ExecutionRecord | None:
        """One execution of a bucket."""

    async def list_executions(self, bucket: str, flt: ExecutionFilter) -> list[ExecutionRecord]:
        """Executions matching a filter, by creation (seq), at most `size`."""

    async def running_executions(self, after_seq: int, limit: int) -> list[ExecutionRecord]:
        """Running executions of every bucket with seq > after_seq, oldest first (the resume sweep)."""

    async def advance_execution(self, run_id: str, version: int, state: str, ended: float | None,
                                detail: dict[str, Any], step: Step, now: float) -> bool:
        """Write the execution's next state and its step atomically if its version is still `version`
        (the stored version becomes version + 1); False (nothing written) otherwise."""


class BatchRepo(Protocol):
    """Batch jobs over existing objects."""

    async def insert_batch(self, batch: BatchRecord) -> None:
        """Commit a new batch job."""

    async def get_batch(self, bucket: str, batch_id: str) -> BatchRecord | None:
        """One batch job of a bucket."""

    async def list_batches(self, bucket: str, flt: BatchFilter) -> list[BatchRecord]:
        """Batch jobs matching a filter, by creation (seq), at most `size`."""

    async def active_batches(self, limit: int) -> list[BatchRecord]:
        """Submitted and Running batch jobs of every bucket, oldest first."""

    async def advance_batch(self, batch_id: str, version: int, state: str, started: float | None,
                            ended: float | None, detail: dict[str, Any], step: Step, now: float) -> bool:
        """As `advance_execution`, for a batch job (its step's items are recorded against it)."""

    async def batch_counts(self, batch_id: str) -> dict[str, int]:
        """How many of the jobs and executions a batch made are in each state."""


class FlowStore(WorkflowRepo, ExecutionRepo, BatchRepo, Protocol):
    """Workflows, executions and batch jobs."""

    async def reset_flows(self) -> None:
        """Delete every workflow, execution and batch job."""
