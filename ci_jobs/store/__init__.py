"""The Store: the source of truth for queues, jobs, tasks, templates and the callback outbox.

Ports (ports.py): small repos (`QueueRepo`, `JobRepo`, `TaskRepo`, `RunRepo`, `TemplateRepo`, `OutboxRepo`,
`Lifecycle`, `WorkSignal`) and `Store`, their union. Records: records.py. Adapters: `memory.MemoryStore`
(tests), `sqlite.SqliteStore` (embedded) and `postgres.PostgresStore` (several machines). Adapters
execute; the job-state decisions are domain/jobs.py's. Every adapter passes the same contract suite
(tests/store). Claims are atomic and fenced by lease tokens.
"""

from __future__ import annotations

from importlib import resources

from ..domain.jobs import FINAL_STATES, Beat, JobState, QueueState
from ..errors import StoreError
from .ports import (
    JobRepo,
    Lifecycle,
    OutboxRepo,
    QueueRepo,
    RunRepo,
    StatsRepo,
    Store,
    TaskRepo,
    TemplateRepo,
    WorkSignal,
)
from .records import (
    Callback,
    CallbackFactory,
    CallbackStatus,
    Claim,
    DeadLetter,
    JobFilter,
    JobRecord,
    Outcome,
    QueueRecord,
    StoreCounts,
    TaskRecord,
    TemplateRecord,
)
from .wakeups import Wakeups

__all__ = [
    "FINAL_STATES", "Beat", "Callback", "CallbackFactory", "CallbackStatus", "Claim", "DeadLetter", "JobFilter",
    "JobRecord", "JobRepo", "JobState",
    "Lifecycle", "Outcome", "OutboxRepo", "QueueRecord", "QueueRepo", "QueueState", "RunRepo", "StatsRepo", "Store",
    "StoreCounts", "TaskRecord", "TaskRepo", "TemplateRecord", "TemplateRepo", "Wakeups", "WorkSignal", "migrations",
]


def newer_schema(found: int, dialect: str, where: str) -> StoreError | None:
    """The refusal to serve a database whose schema a newer ci-jobs wrote (None when this code knows it)."""
    known = max((number for number, _, _ in migrations(dialect)), default=0)
    if found <= known:
        return None
    return StoreError(f"{where} has schema version {found}, newer than this ci-jobs knows ({known}): "
                      "upgrade ci-jobs, or point it at another database")


def migrations(dialect: str) -> list[tuple[int, str, str]]:
    """The numbered migration scripts of a dialect (`sqlite`, `postgres`) as (number, name, sql), in order."""
    folder = resources.files("ci_jobs.store") / "migrations" / dialect
    out = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            number, _, name = entry.name.removesuffix(".sql").partition("_")
            out.append((int(number), name, entry.read_text()))
    return sorted(out)
