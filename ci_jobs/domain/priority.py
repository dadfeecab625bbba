"""Job priority: the one integer scale the store's claim orders a queue's waiting jobs by (higher first, then FIFO).

MPS's TasksPriority (-10..10, default 0) is the scale itself; CI's JobLevel 0/1/2 sits on it at
0/5/10. So in one queue a CI JobLevel 2 job and an MPS TasksPriority 10 task are equals (FIFO
between them), JobLevel 1 ties with TasksPriority 5, TasksPriority 1..4 runs between JobLevel 0 and
1, and a negative TasksPriority runs after every CI job of its queue.

MPS's TaskType Offline ("idle-time") is a lane below all of that: its jobs sit OFFLINE_SHIFT lower
(TasksPriority still orders them among themselves), and the store's claim takes a job at or below
ONLINE_FLOOR only when no open queue (Active, with a free slot) has an Online job waiting that this
worker may run: Offline work never takes a worker another queue's Online job could have.
"""

from __future__ import annotations

MIN_PRIORITY = -10
MAX_PRIORITY = 10
JOB_LEVEL_STEP = 5  # CI's JobLevel 0, 1, 2 -> 0, 5, 10
OFFLINE_SHIFT = 1000  # an Offline task's jobs: TasksPriority - 1000 (-1010..-990)
ONLINE_FLOOR = -500  # levels above are Online, at or below Offline (the stores' claim reads this)


def from_job_level(job_level: int) -> int:
    """The priority of a CI job of JobLevel 0..2."""
    return job_level * JOB_LEVEL_STEP


def from_tasks_priority(tasks_priority: int, offline: bool = False) -> int:
    """The priority of an MPS task's jobs (TasksPriority -10..10; TaskType Offline in the idle-time lane)."""
    if not MIN_PRIORITY <= tasks_priority <= MAX_PRIORITY:
        raise ValueError(f"TasksPriority {tasks_priority} is outside [{MIN_PRIORITY}, {MAX_PRIORITY}]")
    return tasks_priority - OFFLINE_SHIFT if offline else tasks_priority


def is_offline(level: int) -> bool:
    """Whether a job of this level waits in the Offline (idle-time) lane."""
    return level <= ONLINE_FLOOR
