"""domain/jobs.py: the job transitions and their messages, decided once for every store adapter."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from ci_jobs.domain import jobs
from ci_jobs.domain.failures import CANCELLED_MESSAGE, Failure
from ci_jobs.domain.jobs import (
    CANCELLED,
    FINAL_STATES,
    WAITING_STATES,
    Beat,
    CancelKind,
    JobState,
    QueueState,
    RescueKind,
)


@dataclass(frozen=True)
class Run:
    attempts: int
    cancel_requested: bool = False


def test_states_partition() -> None:
    assert FINAL_STATES == {JobState.SUCCESS, JobState.FAILED, JobState.CANCEL}
    assert WAITING_STATES == {JobState.SUBMITTED, JobState.PAUSE}
    assert not FINAL_STATES & WAITING_STATES and JobState.RUNNING not in FINAL_STATES | WAITING_STATES
    assert [s.value for s in JobState] == ["Submitted", "Running", "Success", "Failed", "Pause", "Cancel"]


def test_the_store_reexports_the_domain_states() -> None:
    from ci_jobs import store
    assert (store.JobState, store.QueueState, store.Beat, store.FINAL_STATES) == (
        JobState, QueueState, Beat, FINAL_STATES)


def test_cancelled_ending() -> None:
    assert (CANCELLED.state, CANCELLED.code, CANCELLED.message) == (JobState.CANCEL, Failure.CANCEL, CANCELLED_MESSAGE)
    assert CANCELLED.message == "The job was cancelled."


def test_worker_lost_ending() -> None:
    lost = jobs.worker_lost(3)
    assert (lost.state, lost.code) == (JobState.FAILED, Failure.WORKER_LOST)
    assert lost.message == "The job's worker was lost 3 times; giving up."


@pytest.mark.parametrize(("state", "kind"), [
    (JobState.SUBMITTED, CancelKind.NOW), (JobState.PAUSE, CancelKind.NOW), (JobState.RUNNING, CancelKind.FLAG),
    (JobState.SUCCESS, CancelKind.NONE), (JobState.FAILED, CancelKind.NONE), (JobState.CANCEL, CancelKind.NONE),
])
def test_cancel_decision(state: JobState, kind: CancelKind) -> None:
    assert jobs.cancel_decision(state) == kind
    assert jobs.cancel_decision(str(state)) == kind  # records carry plain strings


def test_pause_and_resume_move_waiting_jobs() -> None:
    assert jobs.queue_move(QueueState.PAUSED) == jobs.Move(JobState.SUBMITTED, JobState.PAUSE)
    assert jobs.queue_move(QueueState.ACTIVE) == jobs.Move(JobState.PAUSE, JobState.SUBMITTED)
    assert jobs.resumes(QueueState.ACTIVE) and not jobs.resumes(QueueState.PAUSED)


def test_submitting_into_a_paused_queue_waits_as_pause() -> None:
    assert jobs.submitted_state(JobState.SUBMITTED, QueueState.PAUSED) == JobState.PAUSE
    assert jobs.submitted_state(JobState.SUBMITTED, QueueState.ACTIVE) == JobState.SUBMITTED
    assert jobs.submitted_state(JobState.SUBMITTED, None) == JobState.SUBMITTED  # no queue: the store refuses it
    assert jobs.SUBMIT_INTO == {QueueState.PAUSED: JobState.PAUSE}  # the table the PostgreSQL insert applies
    assert jobs.waiting_state(QueueState.PAUSED) == JobState.PAUSE
    assert jobs.waiting_state(QueueState.ACTIVE) == JobState.SUBMITTED


def test_beat() -> None:
    assert jobs.beat(None) == Beat.LOST
    assert jobs.beat(True) == Beat.CANCEL
    assert jobs.beat(False) == Beat.OK


def test_finished_progress() -> None:
    assert jobs.finished_progress(JobState.SUCCESS) == 100
    assert jobs.finished_progress(JobState.FAILED) is None
    assert jobs.finished_progress(JobState.CANCEL) is None


def test_rescue_cancels_a_flagged_job_even_out_of_attempts() -> None:
    for attempts in (1, 5):
        r = jobs.rescue_decision(Run(attempts, cancel_requested=True), 3)
        assert (r.kind, r.state, r.ending, r.ends) == (RescueKind.CANCEL, JobState.CANCEL, CANCELLED, True)


def test_rescue_fails_a_job_out_of_attempts() -> None:
    r = jobs.rescue_decision(Run(3), 3, QueueState.PAUSED)
    assert (r.kind, r.state, r.ending) == (RescueKind.FAIL, JobState.FAILED, jobs.worker_lost(3))
    assert r.ending is not None and r.ending.code == Failure.WORKER_LOST and r.ends


def test_rescue_requeues_with_attempts_left() -> None:
    r = jobs.rescue_decision(Run(2), 3)
    assert (r.kind, r.state, r.ending, r.ends) == (RescueKind.REQUEUE, JobState.SUBMITTED, None, False)


def test_rescue_requeues_as_pause_in_a_paused_queue() -> None:
    r = jobs.rescue_decision(Run(1), 3, QueueState.PAUSED)
    assert (r.kind, r.state) == (RescueKind.REQUEUE, JobState.PAUSE)
    assert jobs.rescue_decision(Run(1), 3, QueueState.ACTIVE).state == JobState.SUBMITTED
