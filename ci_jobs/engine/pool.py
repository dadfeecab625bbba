"""A pool of warm worker processes that run media drivers, one job at a time each.

Each worker is a long-lived process (spawned, so no event-loop state is inherited) connected by a
pipe. A job's progress streams back over the pipe; a worker that dies mid-job (a decoder segfault
on a hostile file) fails only that job and is replaced; cancelling a job kills its worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing as mp
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

from ..domain.failures import CANCELLED_MESSAGE, Failure
from ..errors import JobFailed
from ..media import Result, Task
from .procpool import die_with_parent

log = logging.getLogger(__name__)
_CTX = mp.get_context("spawn")


def _worker_main(conn: Connection) -> None:
    """Child process: import the media drivers once, then run tasks until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()
    from . import dispatch  # noqa: PLC0415 - imported in the child only, keeps the parent light

    dispatch.warm_up()
    conn.send(("ready",))
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        last = [0.0]

        def progress(pct: float, last: list[float] = last) -> None:
            now = time.monotonic()
            if now - last[0] >= 0.2:
                last[0] = now
                conn.send(("progress", float(pct)))

        try:
            result = dispatch.run(task, progress)
        except JobFailed as exc:
            conn.send(("failed", exc.code, exc.message))
        except Exception as exc:  # noqa: BLE001 - any processor bug fails only its job
            conn.send(("failed", Failure.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}"))
        else:
            conn.send(("done", result))


class Worker:
    """One worker process and its pipe."""

    def __init__(self, name: str, executor: ThreadPoolExecutor) -> None:
        self.name = name
        self._executor = executor
        self._proc: Any = None
        self._conn: Connection | None = None
        self._killed = False

    async def start(self) -> None:
        """Spawn the process and wait until it has imported its media drivers."""
        parent, child = _CTX.Pipe()
        self._proc = _CTX.Process(target=_worker_main, args=(child,), name=self.name, daemon=True)
        self._proc.start()
        child.close()
        self._conn = parent
        self._killed = False
        msg = await asyncio.get_running_loop().run_in_executor(self._executor, parent.recv)
        if msg != ("ready",):
            raise RuntimeError(f"worker {self.name} failed to start: {msg!r}")

    async def run(self, task: Task, progress: Callable[[float], None]) -> Result:
        """Run one task; raise JobFailed on failure (a crashed worker is restarted first)."""
        assert self._conn is not None
        loop = asyncio.get_running_loop()
        conn = self._conn
        conn.send(task)
        while True:
            try:
                msg = await loop.run_in_executor(self._executor, conn.recv)
            except (EOFError, OSError):
                await self._replace()
                if self._killed:
                    raise JobFailed(Failure.CANCEL, CANCELLED_MESSAGE) from None
                raise JobFailed(Failure.PROCESS_CRASHED, self._crash_message()) from None
            if msg[0] == "progress":
                progress(msg[1])
            elif msg[0] == "done":
                result: Result = msg[1]
                return result
            else:
                raise JobFailed(msg[1], msg[2])

    def _crash_message(self) -> str:
        code = self._last_exitcode
        how = f"signal {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit code {code}"
        return (f"The worker process exited unexpectedly ({how}) while processing this job; "
                "the input may be malformed or hostile.")

    async def _replace(self) -> None:
        self._last_exitcode = None
        if self._proc is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._proc.join, 5)
            self._last_exitcode = self._proc.exitcode
        await self.start()

    def kill(self) -> None:
        """Stop the job running here at once (the worker is then replaced)."""
        self._killed = True
        if self._proc is not None and self._proc.is_alive():
            self._proc.kill()

    async def close(self) -> None:
        """Close the pipe and end the process."""
        if self._conn is not None:
            self._conn.close()
        if self._proc is not None:
            self._proc.kill()
            with contextlib.suppress(Exception):
                await asyncio.get_running_loop().run_in_executor(self._executor, self._proc.join, 5)

    _last_exitcode: int | None = None


class Pool:
    """`size` general workers plus `fast` workers reserved for short Tags."""

    def __init__(self, size: int, fast: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=2 * (size + fast) + 2, thread_name_prefix="pool-io")
        self.general = [Worker(f"ci-jobs-worker-{i}", self._executor) for i in range(size)]
        self.fast = [Worker(f"ci-jobs-fast-{i}", self._executor) for i in range(fast)]

    @property
    def workers(self) -> list[Worker]:
        """Every worker, general ones first."""
        return self.general + self.fast

    async def start(self) -> None:
        """Start every worker in parallel."""
        await asyncio.gather(*(w.start() for w in self.workers))

    async def close(self) -> None:
        """Stop every worker."""
        await asyncio.gather(*(w.close() for w in self.workers), return_exceptions=True)
        self._executor.shutdown(wait=False, cancel_futures=True)
