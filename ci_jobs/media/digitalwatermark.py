"""The DigitalWatermark Tag: the Transcode driver over the Tag's fixed MP4 transcode, its lane marking
every frame (`digitalmark.Marker`)."""

from __future__ import annotations

from . import Progress, Result, Task
from .transcode import transcode


def run(task: Task, progress: Progress) -> Result:
    """Write a marked copy of `task.inputs[0]`; the result carries DigitalWatermark.State."""
    return transcode(task, task.op, progress)
