"""Where a POST /jobs goes on the server: main-thread CPU per accepted job, and the wall time of each stage.

An in-process server (SQLite, `synchronous=FULL`, queue paused, no workers) takes the load of
`bench/run.py`'s client (32 concurrent signed Transcode submissions) from a separate process. The
stages are timed by wrapping the functions that do them, so the per-stage figures carry a little of
the wrappers' own cost and include any wait for the GIL; the main-thread CPU per job is read from the
thread's clock, without them, in a first phase. What the stages leave of the main thread's time is
aiohttp and asyncio: HTTP parsing, the event loop, writing the response, and the group commit's turn.

    .venv/bin/python bench/profile_submit.py [seconds]
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import resource
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ci_jobs import config  # noqa: E402
from ci_jobs.app import jobs as app_jobs  # noqa: E402
from ci_jobs.protocols import cosfamily  # noqa: E402
from ci_jobs.protocols.ci import codec, handlers  # noqa: E402
from ci_jobs.server import create_app, settle_heap  # noqa: E402
from tests.harness import free_port  # noqa: E402

LOAD = """
import asyncio, sys
sys.path.insert(0, {root!r})
from bench.run import _load, pause_queue
from tests.conftest import sdk
pause_queue(sdk({port}))
asyncio.run(_load({port}, {seconds}))
"""
STAGES = (("signature check", cosfamily, "authenticate", False),
          ("body read", handlers, "read_body", True),
          ("parse + XSD + dict", codec, "job_request", False),
          ("media rules, queue, ids", app_jobs.Jobs, "prepare", True),
          ("XML echo", handlers, "xml_response", False))


def _timed(spent: collections.defaultdict[str, float], name: str, fn: Callable[..., Any],
           is_async: bool) -> Callable[..., Any]:
    if is_async:
        @functools.wraps(fn)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - start
        return run_async

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[name] += time.perf_counter() - start
    return run


def _jobs(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(db)) as conn:  # sqlite3's own `with` commits; it does not close
        return int(conn.execute("SELECT count(*) FROM jobs").fetchone()[0])


async def _measure(seconds: float) -> None:
    port, data = free_port(), Path(tempfile.mkdtemp(prefix="bench-profile-"))
    app = create_app(config.load(None, {"port": port, "data_dir": str(data), "workers_enabled": False}))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    settle_heap()  # as `ci-jobs serve` does once started
    load = await asyncio.create_subprocess_exec(sys.executable, "-c", LOAD.format(root=str(ROOT), port=port,
                                                                                  seconds=2 * seconds + 3))
    db = data / "ci-jobs.db"
    try:
        await asyncio.sleep(3)  # the client signs in, pauses the queue and warms up
        jobs0, cpu0, proc0 = _jobs(db), time.thread_time(), resource.getrusage(resource.RUSAGE_SELF)
        await asyncio.sleep(seconds)
        jobs1, cpu1, proc1 = _jobs(db), time.thread_time(), resource.getrusage(resource.RUSAGE_SELF)
        n = max(1, jobs1 - jobs0)
        process = proc1.ru_utime + proc1.ru_stime - proc0.ru_utime - proc0.ru_stime
        print(f"{n / seconds:,.0f} jobs/s; main thread {1e6 * (cpu1 - cpu0) / n:.0f} us CPU per job "
              f"({(cpu1 - cpu0) / seconds:.0%} busy), whole process {1e6 * process / n:.0f} us")
        spent: collections.defaultdict[str, float] = collections.defaultdict(float)
        originals = [(owner, attr, getattr(owner, attr)) for _, owner, attr, _ in STAGES]
        for name, owner, attr, is_async in STAGES:
            setattr(owner, attr, _timed(spent, name, getattr(owner, attr), is_async))
        try:
            jobs0, wall0 = _jobs(db), time.perf_counter()
            await asyncio.sleep(seconds)
            n = max(1, _jobs(db) - jobs0)
            wall = time.perf_counter() - wall0
        finally:
            for owner, attr, fn in originals:
                setattr(owner, attr, fn)
        print(f"stages, wall time per job while {n / wall:,.0f} jobs/s (wrapped):")
        for name, *_ in STAGES:
            print(f"  {name:26s} {1e6 * spent[name] / n:6.1f} us")
    finally:
        await load.wait()
        await runner.cleanup()


def main() -> None:
    """Print the figures."""
    asyncio.run(_measure(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0))


if __name__ == "__main__":
    main()
