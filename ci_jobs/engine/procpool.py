"""A warm pool of spawned worker processes that run one function call at a time each.

Generic: a call is `fn(*args)` where `fn` pickles by reference (a module-level function) and the
arguments and result pickle. Workers start on demand, up to `size`, and stay warm; `init` runs
once in each new worker (imports that should not be paid per call). A worker that dies during a
call (a decoder segfault on a hostile file) fails only that call with `WorkerCrashed` and is
replaced; the caller's process lives on. A worker whose memory grew past `max_rss` after a call
is retired and replaced, so one huge decode does not pin its memory for good.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing as mp
import os
import pickle
import signal
import threading
import traceback
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from ..errors import CiJobsError

log = logging.getLogger(__name__)
T = TypeVar("T")
_CTX = mp.get_context("spawn")
_PAGE = os.sysconf("SC_PAGE_SIZE")


class WorkerCrashed(CiJobsError):
    """The worker process died while running the call."""

    def __init__(self, exitcode: int | None) -> None:
        how = (f"signal {signal.Signals(-exitcode).name}" if exitcode is not None and exitcode < 0
               else f"exit code {exitcode}")
        super().__init__(f"The worker process exited unexpectedly ({how}).")
        self.exitcode = exitcode


class WorkerStartFailed(CiJobsError):
    """A worker process could not be started."""


class PoolClosed(CiJobsError):
    """The pool is closed."""


class RemoteError(CiJobsError):
    """The call raised an exception that could not be sent back as itself."""


# --- the worker process ----------------------------------------------------------------------


def _worker_main(conn: Connection, init: Callable[[], None] | None) -> None:
    """Child process: run `init`, then answer calls until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()
    try:
        if init is not None:
            init()
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which refuses this worker
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        reply = _answer(data)
        try:
            conn.send(reply)
        except Exception as exc:  # noqa: BLE001 - a result that does not pickle fails only its call
            conn.send((False, RemoteError(f"The result could not be sent back: {type(exc).__name__}: {exc}")))


def _answer(data: bytes) -> tuple[bool, Any]:
    """(True, result) or (False, the exception, with the child's traceback as a note)."""
    try:
        fn, args = pickle.loads(data)  # noqa: S301 - from our own parent process
        return True, fn(*args)
    except Exception as exc:  # noqa: BLE001 - every failure goes back to the caller
        exc.add_note("".join(traceback.format_exception(exc)).rstrip())
        try:
            pickle.loads(pickle.dumps(exc))  # noqa: S301 - a round trip: will the parent rebuild it?
        except Exception:  # noqa: BLE001 - e.g. an __init__ that needs more than its args
            exc = RemoteError(f"{type(exc).__name__}: {exc}")
        return False, exc


def die_with_parent() -> None:
    """Linux: SIGKILL this worker when the parent process dies, even by kill -9."""
    try:
        import ctypes  # noqa: PLC0415

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


# --- the parent side -------------------------------------------------------------------------


class _Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self, proc: Any, conn: Connection) -> None:
        self.proc = proc
        self.conn = conn

    @property
    def pid(self) -> int:
        """The worker's process id."""
        return int(self.proc.pid)

    def alive(self) -> bool:
        """False once the process has exited (an idle worker killed from outside)."""
        return bool(self.proc.is_alive())

    def rss(self) -> int:
        """Resident memory in bytes (0 when it cannot be read)."""
        try:
            with open(f"/proc/{self.pid}/statm", "rb") as statm:
                return int(statm.read().split()[1]) * _PAGE
        except (OSError, ValueError, IndexError):
            return 0


class ProcPool:
    """Up to `size` warm worker processes, started on demand; each runs one call at a time."""

    def __init__(self, size: int, name: str, init: Callable[[], None] | None = None,
                 max_rss: int = 0) -> None:
        self.size = size
        self.name = name
        self.max_rss = max_rss
        self._init = init
        self._executor = ThreadPoolExecutor(size + 2, thread_name_prefix=f"{name}-pipe")
        self._idle: list[_Worker] = []
        self._waiters: deque[asyncio.Future[_Worker]] = deque()
        self._procs: set[Any] = set()  # every process started and not reaped, idle, busy or starting
        self._starting: set[asyncio.Task[None]] = set()
        self._count = 0  # workers alive or starting
        self._closed = False

    @property
    def pids(self) -> list[int]:
        """Process ids of the workers alive now."""
        return sorted(p.pid for p in self._procs if p.pid is not None and p.is_alive())

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in a worker; its exception is raised here, WorkerCrashed if the worker died."""
        payload = pickle.dumps((fn, args))
        while True:
            worker = await self._acquire()
            try:
                worker.conn.send_bytes(payload)
            except OSError:  # it died while idle: not this call's doing, so try another
                self._lost(worker)
                continue
            ok, value = await self._reply(worker)
            if self.max_rss and worker.rss() > self.max_rss:  # checked after calls only: no respawn loop
                log.info("%s worker %d retired: its memory grew past %d MiB", self.name, worker.pid,
                         self.max_rss >> 20)
                self._lost(worker)
            else:
                self._release(worker)
            if not ok:
                raise value
            result: T = value
            return result

    async def _reply(self, worker: _Worker) -> tuple[bool, Any]:
        loop = asyncio.get_running_loop()
        try:
            reply: tuple[bool, Any] = await loop.run_in_executor(self._executor, worker.conn.recv)
        except (EOFError, OSError):
            if self._closed:
                raise PoolClosed() from None
            await loop.run_in_executor(self._executor, worker.proc.join, 5)
            exitcode = worker.proc.exitcode
            self._lost(worker)
            raise WorkerCrashed(exitcode) from None
        except BaseException:
            self._lost(worker)  # cancelled mid-call: its answer would be read by the next call
            raise
        return reply

    async def _acquire(self) -> _Worker:
        while self._idle:
            worker = self._idle.pop()
            if worker.alive():
                return worker
            self._lost(worker)
        if self._closed:
            raise PoolClosed()
        if self._count < self.size:
            self._grow()
        waiter: asyncio.Future[_Worker] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._release(waiter.result())
            raise

    def _release(self, worker: _Worker) -> None:
        """Hand `worker` to the first waiter, or keep it idle."""
        if self._closed:
            self._kill(worker)
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(worker)
                return
        self._idle.append(worker)

    def _lost(self, worker: _Worker) -> None:
        """`worker` is gone or going: end it and start a replacement, so the pool stays warm."""
        self._kill(worker)
        self._count -= 1
        if not self._closed:
            self._grow()

    def _kill(self, worker: _Worker) -> None:
        worker.proc.kill()
        self._procs.discard(worker.proc)
        if worker.proc.exitcode is not None:
            worker.conn.close()  # else a thread may still be reading it; it closes when collected
        # Reaped off the pipe threads, which a slow exit (a core dump) must not hold up.
        threading.Thread(target=worker.proc.join, args=(5,), name=f"{self.name}-reap", daemon=True).start()

    def _grow(self) -> None:
        self._count += 1
        task = asyncio.get_running_loop().create_task(self._start_one(), name=f"{self.name}-start")
        self._starting.add(task)
        task.add_done_callback(self._starting.discard)

    async def _start_one(self) -> None:
        try:
            worker = await self._spawn()
        except Exception as exc:  # noqa: BLE001 - handed to the callers waiting for a worker
            self._count -= 1
            log.error("%s: %s", self.name, exc)
            self._fail_waiters(exc if isinstance(exc, WorkerStartFailed) else WorkerStartFailed(str(exc)))
            return
        self._release(worker)

    def _fail_waiters(self, exc: Exception) -> None:
        """The oldest waiter gets the failure; all of them when no worker is left to serve them."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(exc)
                if self._count:
                    return

    async def _spawn(self) -> _Worker:
        parent, child = _CTX.Pipe()
        proc = _CTX.Process(target=_worker_main, args=(child, self._init), name=f"{self.name}-worker",
                            daemon=True)
        proc.start()
        child.close()
        self._procs.add(proc)
        worker = _Worker(proc, parent)
        try:
            msg = await asyncio.get_running_loop().run_in_executor(self._executor, parent.recv)
        except (EOFError, OSError):
            msg = ("failed", f"it exited at start (exit code {proc.exitcode})")
        except BaseException:
            self._kill(worker)
            raise
        if msg[0] != "ready":
            self._kill(worker)
            raise WorkerStartFailed(f"A {self.name} worker process could not be started: {msg[1]}")
        return worker

    def close(self) -> None:
        """Kill every worker; calls in flight and waiting raise PoolClosed."""
        self._closed = True
        for task in list(self._starting):
            task.cancel()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(PoolClosed())
        procs, self._procs = list(self._procs), set()
        for proc in procs:
            proc.kill()
        for proc in procs:
            proc.join(1)  # SIGKILLed: immediate; reaps them
        for worker in self._idle:
            worker.conn.close()
        self._idle.clear()
        self._executor.shutdown(wait=False, cancel_futures=True)
