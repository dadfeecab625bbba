"""Media: the PyAV/numpy work, one driver module per Tag plus shared frame, overlay and packaging code.

A driver is `run(task: Task, progress) -> dict` over local paths: no network, no store, no wire
format. This package must stay importable without PyAV loaded (the server imports `Task`); each
driver, and av with it, is imported only when it runs. `engine.dispatch` picks the driver of a Tag.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Progress = Callable[[float], None]
Result = dict[str, Any]

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
