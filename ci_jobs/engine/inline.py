"""A worker that runs the media work in the calling process: for unit tests and one-shot tools.

No crash isolation and no kill (a cancel takes effect when the work returns): the real workers are
the pool's processes. `work` defaults to the media dispatcher itself, so an InlineWorker runs the
real drivers; tests of the engine alone give it a small function of their own.
"""

from __future__ import annotations

from collections.abc import Callable

from ..media import Result, Task

Work = Callable[[Task, Callable[[float], None]], Result]


def _media(task: Task, progress: Callable[[float], None]) -> Result:
    from . import dispatch  # noqa: PLC0415 - PyAV loads only when real media work runs

    return dispatch.run(task, progress)


class InlineWorker:
    """Runs each task synchronously, in this process and thread."""

    def __init__(self, work: Work = _media, name: str = "inline") -> None:
        self.work = work
        self.name = name
        self.killed = False

    async def run(self, task: Task, progress: Callable[[float], None]) -> Result:
        """Run the task to its end (JobFailed propagates as from a pool worker)."""
        self.killed = False
        return self.work(task, progress)

    def kill(self) -> None:
        """Remember that the job was to stop (the work cannot be interrupted here)."""
        self.killed = True
