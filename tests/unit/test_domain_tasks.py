"""A task's state, derived from its jobs' (domain/tasks.py)."""

from __future__ import annotations

import pytest

from ci_jobs.domain.jobs import JobState
from ci_jobs.domain.tasks import TASK_ID_PREFIX, TaskKind, TaskState, task_state

S, P, R = JobState.SUBMITTED, JobState.PAUSE, JobState.RUNNING
OK, FAIL, CANCEL = JobState.SUCCESS, JobState.FAILED, JobState.CANCEL


@pytest.mark.parametrize(("states", "expected"), [
    ([S], TaskState.WAITING),
    ([S, P, S], TaskState.WAITING),
    ([R], TaskState.PROCESSING),
    ([S, R], TaskState.PROCESSING),
    ([R, OK], TaskState.PROCESSING),
    ([OK, S], TaskState.PROCESSING),
    ([CANCEL, P], TaskState.PROCESSING),
    ([OK], TaskState.FINISHED),
    ([OK, FAIL, CANCEL], TaskState.FINISHED),
    ([], TaskState.FINISHED),
])
def test_task_state_follows_its_jobs(states: list[JobState], expected: TaskState) -> None:
    assert task_state(states) == expected
    assert task_state(iter(str(s) for s in states)) == expected  # any iterable of the stored strings


def test_names_are_mps_states_and_the_prefix_is_no_ci_prefix() -> None:
    assert [s.value for s in TaskState] == ["Waiting", "Processing", "Finished"]
    assert TaskKind.REQUEST == "Request"
    assert TASK_ID_PREFIX not in ("j", "p", "t", "w")
