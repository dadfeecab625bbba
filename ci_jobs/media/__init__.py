"""Processors: the PyAV work for each media Tag, behind one `run(task, progress)` entry point.

This module must stay importable without PyAV loaded (the scheduler imports it in the server
process); each Tag's module, and av with it, is imported only when a task of that Tag runs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import tags
from ..errors import CiJobsError, JobFailed

Progress = Callable[[float], None]
Result = dict[str, Any]

MODULES = {name: spec.driver for name, spec in tags.REGISTRY.items()}  # Tag -> driver module


@dataclass(frozen=True)
class Task:
    """One job's media work: its Tag, its Request.Operation dict, local inputs, a staging dir."""

    tag: str
    operation: dict[str, Any]
    inputs: tuple[str, ...]
    outdir: str
    objects: dict[str, str] = field(default_factory=dict)  # other bucket objects the job names: key -> local path
    job_id: str = ""  # for naming files whose names end up inside other files (HLS/DASH segments)
    input_key: str = ""


def run(task: Task, progress: Progress) -> Result:
    """Run the processor of `task.tag`; any failure comes out as JobFailed(code, message)."""
    name = MODULES.get(task.tag)
    if name is None:
        raise JobFailed("InvalidArgument", f"Tag {task.tag} has no processor")
    if not task.inputs and tags.REGISTRY[task.tag].needs_input:
        raise JobFailed("InvalidArgument", "Request.Input.Object is required")
    try:
        tags.check_operation(task.tag, task.operation)  # also for jobs from older servers or templates
        module = importlib.import_module(f"{__name__}.{name}")
        result: Result = module.run(task, progress)
    except JobFailed:
        raise
    except CiJobsError as exc:
        raise JobFailed(exc.code, exc.message) from exc
    except MemoryError as exc:
        raise JobFailed("InternalError", "out of memory while processing the media") from exc
    except Exception as exc:  # noqa: BLE001 - a job failure is data, never a crash
        raise JobFailed("InternalError", f"{task.tag} failed: {type(exc).__name__}: {exc}") from exc
    return result


def warm_up() -> None:
    """Import PyAV and every processor module now (called once in each fresh worker process)."""
    for name in MODULES.values():
        importlib.import_module(f"{__name__}.{name}")
