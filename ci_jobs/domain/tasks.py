"""Tasks: a group of jobs (a multi-Operation request; MPS tasks, workflow executions, batch jobs next).

A task's state is never stored: it is derived from its jobs' states (`task_state`), so it cannot
drift from them. The names are MPS's (WAITING / PROCESSING / FINISH), spelled as CI spells states.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from .jobs import FINAL_STATES, WAITING_STATES

# `k` + 32 hex: CI's own prefixes are taken (j jobs, p queues, t templates, w workflows), so a task id
# can never be mistaken for (or collide with) any other CI id.
TASK_ID_PREFIX = "k"


class TaskState(StrEnum):
    """Where a task stands, derived from its jobs (MPS: WAITING, PROCESSING, FINISH)."""

    WAITING = "Waiting"
    PROCESSING = "Processing"
    FINISHED = "Finished"


class TaskKind(StrEnum):
    """What made a task: a CI request of one or more Operations, an MPS ProcessMedia call, a step of a
    workflow execution (the nodes it made ready), a page of a batch job."""

    REQUEST = "Request"
    MPS_TASK = "MpsTask"
    WORKFLOW_EXECUTION = "WorkflowExecution"  # the jobs one step of a workflow execution submitted
    BATCH = "Batch"                           # the jobs one page of a batch job (Type Job) submitted


def task_state(job_states: Iterable[str]) -> TaskState:
    """A task's state from its jobs': all waiting -> Waiting; all final -> Finished; else Processing.

    A task without jobs has nothing left to do: Finished.
    """
    waiting = final = other = False
    for state in job_states:
        if state in WAITING_STATES:
            waiting = True
        elif state in FINAL_STATES:
            final = True
        else:  # Running (or any state that is neither waiting nor final)
            other = True
    if other or (waiting and final):
        return TaskState.PROCESSING
    return TaskState.WAITING if waiting else TaskState.FINISHED
