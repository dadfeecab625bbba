"""The ExtractDigitalWatermark Tag: vote over the luma of up to `_FRAMES` frames for the embedded text."""

from __future__ import annotations

from . import Progress, Result, Task
from .common import open_input
from .digitalmark import Votes

_FRAMES = 250  # ten seconds at 25 fps: votes enough, and bounded work on long videos


def run(task: Task, progress: Progress) -> Result:
    """Extract the DigitalWatermark text of `task.inputs[0]` (State Failed and no Message when none)."""
    votes = Votes()
    with open_input(task.inputs[0]) as inp:
        if inp.streams.video:
            stream = inp.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in inp.decode(stream):
                data = frame.to_ndarray(format="yuv420p")
                votes.add(data[:frame.height])
                if votes.frames >= _FRAMES:
                    break
    message = votes.message()
    progress(100.0)
    return Result(data={"Type": "Text", "Version": "V1", "Message": message or "",
                        "State": "Success" if message is not None else "Failed"})
