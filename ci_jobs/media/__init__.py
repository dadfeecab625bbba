"""Media: the PyAV/numpy work, one driver module per Tag plus shared frame, overlay and packaging code.

A driver is `run(task: Task, progress) -> Result` over local paths: no network, no store, no wire
format. It reads its Tag's typed operation (`task.op`, the frozen dataclass its `tags/` module
parsed) and returns the files it wrote with their output roles, the media facts and any data.
This package must stay importable without PyAV loaded (the server imports `Task`); each driver,
and av with it, is imported only when it runs. `engine.dispatch` picks the driver of a Tag.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..domain.results import FileHashes

Progress = Callable[[float], None]


@dataclass(frozen=True)
class Task:
    """One job's media work: its Tag, its typed operation, local inputs and a staging dir."""

    tag: str
    op: Any  # the Tag's typed operation: what `tags.parse(tag, wire)` returned
    inputs: tuple[str, ...]
    outdir: str
    objects: dict[str, str] = field(default_factory=dict)  # other bucket objects the job names: key -> local path
    job_id: str = ""  # for naming files whose names end up inside other files (HLS/DASH segments)
    input_key: str = ""
    probe_input: bool = False  # also report the input's MediaInfo (Result.input_info): MPS's MetaData
    # The engine's hook, set where the driver runs: a driver may call it with an output file's name as soon
    # as that file is finished and will not change, so the file is hashed while the driver goes on.
    closed: Callable[[str], None] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class OutputFile:
    """One file a driver wrote into `Task.outdir`, and the output role it is published under."""

    name: str
    role: str = "main"
    ext: str = ""   # its own `${ext}` ('' = the Result's)
    key: str = ""   # its own key pattern, for roles whose files each name one (StreamExtract)
    # worked out while the driver ran, after the file was closed (else when it is stored); a cache, not part
    # of what the file is, so results compare without it
    hashes: FileHashes | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Result:
    """What a driver produced: files by role (in order), the output's media facts, data (a score, tags)."""

    files: tuple[OutputFile, ...] = ()
    ext: str = ""  # `${ext}` of the files
    media_info: dict[str, Any] | None = None
    data: dict[str, Any] | None = None
    input_info: dict[str, Any] | None = None  # the input's MediaInfo, when the task asked (Task.probe_input)
