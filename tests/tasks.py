"""Tasks for driving media drivers and workers directly, as the runner builds them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ci_jobs import tags
from ci_jobs.errors import CiJobsError, JobFailed
from ci_jobs.media import Task


def make_task(tag: str, operation: dict[str, Any], inputs: Sequence[str], outdir: Path | str,
              objects: dict[str, str] | None = None, job_id: str = "") -> Task:
    """The Task the runner would hand a worker: the wire Operation parsed by its Tag (InvalidArgument
    comes out as the JobFailed a job would end with)."""
    try:
        op = tags.parse(tag, operation) if tag in tags.REGISTRY else operation
    except CiJobsError as exc:
        raise JobFailed(exc.code, exc.message) from exc
    return Task(tag, op, tuple(inputs), str(outdir), objects or {}, job_id)
