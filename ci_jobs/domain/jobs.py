"""Job and queue states and the transitions between them, each decided once (store adapters only execute).

    Submitted -> Running -> Success | Failed
    Submitted -> Pause (queue paused) -> Submitted (resumed);  Submitted | Pause -> Cancel
    Running -> Cancel (flagged; its runner stops it)
    Running (lease expired) -> Submitted (or Pause) again, or Failed WorkerLost, or Cancel if flagged

Pure: no I/O, no store records. The functions read only the few fields they need (`RunningJob`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from .failures import CANCELLED_MESSAGE, Failure


class JobState(StrEnum):
    """CI's job states."""

    SUBMITTED = "Submitted"
    RUNNING = "Running"
    SUCCESS = "Success"
    FAILED = "Failed"
    PAUSE = "Pause"
    CANCEL = "Cancel"


FINAL_STATES = frozenset({JobState.SUCCESS, JobState.FAILED, JobState.CANCEL})
WAITING_STATES = frozenset({JobState.SUBMITTED, JobState.PAUSE})
FINISHED_PROGRESS = 100


class QueueState(StrEnum):
    """CI's queue states."""

    ACTIVE = "Active"
    PAUSED = "Paused"


class Beat(StrEnum):
    """What a heartbeat learned about the run it renews."""

    OK = "ok"
    CANCEL = "cancel"
    LOST = "lost"


@dataclass(frozen=True)
class Ending:
    """A move into a final state, with the Code and Message the job then shows."""

    state: JobState
    code: Failure
    message: str


CANCELLED = Ending(JobState.CANCEL, Failure.CANCEL, CANCELLED_MESSAGE)


def worker_lost(attempts: int) -> Ending:
    """The ending of a job whose node died under it `attempts` times."""
    return Ending(JobState.FAILED, Failure.WORKER_LOST, f"The job's worker was lost {attempts} times; giving up.")


# --- submitting, pausing, resuming ------------------------------------------------------------

def waiting_state(queue_state: str | None) -> JobState:
    """The state a job waits in: Pause in a paused queue, else Submitted."""
    return JobState.PAUSE if queue_state == QueueState.PAUSED else JobState.SUBMITTED


# A job submitted to a queue in one of these states is stored in the state given (else as submitted).
# (A table, so that a store can apply it inside the statement that inserts the jobs.)
SUBMIT_INTO: dict[str, JobState] = {QueueState.PAUSED: JobState.PAUSE}


def submitted_state(state: str, queue_state: str | None) -> str:
    """The state a new job is stored in: a job submitted to a paused queue waits as Pause."""
    return SUBMIT_INTO.get(queue_state or "", state)


@dataclass(frozen=True)
class Move:
    """What a queue-state change does to the queue's waiting jobs: those in `old` go to `new`."""

    old: JobState
    new: JobState


def queue_move(queue_state: str) -> Move:
    """Pausing turns waiting jobs to Pause; resuming (any other state) turns them back to Submitted."""
    if queue_state == QueueState.PAUSED:
        return Move(JobState.SUBMITTED, JobState.PAUSE)
    return Move(JobState.PAUSE, JobState.SUBMITTED)


def resumes(queue_state: str) -> bool:
    """Whether a queue in this state may start jobs (so waiters should be woken)."""
    return queue_state == QueueState.ACTIVE


# --- cancelling -------------------------------------------------------------------------------

class CancelKind(StrEnum):
    """What a cancel request does to a job in a given state."""

    NOW = "now"    # waiting: Cancel at once (CANCELLED)
    FLAG = "flag"  # running: flagged; its runner stops it and the next heartbeat says Beat.CANCEL
    NONE = "none"  # already final: nothing


def cancel_decision(state: str) -> CancelKind:
    """How cancelling a job in `state` goes."""
    if state in WAITING_STATES:
        return CancelKind.NOW
    if state == JobState.RUNNING:
        return CancelKind.FLAG
    return CancelKind.NONE


# --- running ----------------------------------------------------------------------------------

def beat(cancel_requested: bool | None) -> Beat:
    """The heartbeat's answer: LOST when the lease no longer holds (None), else CANCEL if flagged, else OK."""
    if cancel_requested is None:
        return Beat.LOST
    return Beat.CANCEL if cancel_requested else Beat.OK


def finished_progress(state: str) -> int | None:
    """The progress a run's outcome sets: 100 on Success, None (unchanged) otherwise."""
    return FINISHED_PROGRESS if state == JobState.SUCCESS else None


class RunningJob(Protocol):
    """What a rescue decision reads of a job whose lease expired."""

    @property
    def attempts(self) -> int: ...

    @property
    def cancel_requested(self) -> bool: ...


class RescueKind(StrEnum):
    """What happens to a Running job whose node is gone."""

    CANCEL = "cancel"    # it was flagged for cancellation: it ends as Cancel
    FAIL = "fail"        # out of attempts: it ends as Failed WorkerLost (and its callbacks are sent)
    REQUEUE = "requeue"  # it waits again (Pause in a paused queue); its next claim is another attempt


@dataclass(frozen=True)
class Rescue:
    """A rescue decision: its kind, the state the job goes to and, for an ending, its Code and Message."""

    kind: RescueKind
    state: JobState
    ending: Ending | None = None

    @property
    def ends(self) -> bool:
        """Whether the job reaches a final state (ended is set, Code and Message written)."""
        return self.ending is not None


def rescue_decision(job: RunningJob, max_attempts: int, queue_state: str | None = QueueState.ACTIVE) -> Rescue:
    """Decide the fate of a Running job whose lease expired (or whose lone node restarted)."""
    if job.cancel_requested:
        return Rescue(RescueKind.CANCEL, CANCELLED.state, CANCELLED)
    if job.attempts >= max_attempts:
        ending = worker_lost(job.attempts)
        return Rescue(RescueKind.FAIL, ending.state, ending)
    return Rescue(RescueKind.REQUEUE, waiting_state(queue_state))
