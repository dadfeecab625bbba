"""Job priority: the one integer scale the store's claim orders a queue's waiting jobs by (higher first, then FIFO).

MPS's TasksPriority (-10..10, default 0) is the scale itself; CI's JobLevel 0/1/2 sits on it at
0/5/10. So in one queue a CI JobLevel 2 job and an MPS TasksPriority 10 task are equals (FIFO
between them), JobLevel 1 ties with TasksPriority 5, TasksPriority 1..4 runs between JobLevel 0 and
1, and a negative TasksPriority runs after every CI job of its queue.
"""

from __future__ import annotations

MIN_PRIORITY = -10
MAX_PRIORITY = 10
JOB_LEVEL_STEP = 5  # CI's JobLevel 0, 1, 2 -> 0, 5, 10


def from_job_level(job_level: int) -> int:
    """The priority of a CI job of JobLevel 0..2."""
    return job_level * JOB_LEVEL_STEP


def from_tasks_priority(tasks_priority: int) -> int:
    """The priority of an MPS task's jobs (TasksPriority -10..10)."""
    if not MIN_PRIORITY <= tasks_priority <= MAX_PRIORITY:
        raise ValueError(f"TasksPriority {tasks_priority} is outside [{MIN_PRIORITY}, {MAX_PRIORITY}]")
    return tasks_priority
