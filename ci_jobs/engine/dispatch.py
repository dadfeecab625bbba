"""Dispatch one job's media work to the driver of its Tag, inside a worker process.

The task carries the Tag's typed operation, parsed (and so checked) by the runner from the stored
Operation; every failure comes out as JobFailed(code, message): a job's failure is data, never a
crash of the worker.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from .. import tags
from ..domain.failures import Failure
from ..domain.results import FileHashes
from ..errors import CiJobsError, JobFailed
from ..media import Progress, Result, Task
from ..storage import hash_path

HASH_THREADS = 2  # output files hashed at once while a driver runs
MODULES = {name: spec.driver for name, spec in tags.REGISTRY.items()}  # Tag -> driver module of ci_jobs.media


def run(task: Task, progress: Progress) -> Result:
    """Run the driver of `task.tag`; any failure comes out as JobFailed(code, message)."""
    name = MODULES.get(task.tag)
    if name is None:
        raise JobFailed(Failure.INVALID_ARGUMENT, f"Tag {task.tag} has no processor")
    if not task.inputs and tags.REGISTRY[task.tag].needs_input:
        raise JobFailed(Failure.INVALID_ARGUMENT, "Request.Input.Object is required")
    hasher = _Hasher(task.outdir)
    try:
        module = importlib.import_module(f"ci_jobs.media.{name}")
        result: Result = module.run(dataclasses.replace(task, closed=hasher.closed), progress)
        result = hasher.attach(result)
    except JobFailed:
        raise
    except CiJobsError as exc:
        raise JobFailed(exc.code, exc.message) from exc
    except MemoryError as exc:
        raise JobFailed(Failure.INTERNAL_ERROR, "out of memory while processing the media") from exc
    except Exception as exc:  # noqa: BLE001 - a job failure is data, never a crash
        raise JobFailed(Failure.INTERNAL_ERROR, f"{task.tag} failed: {type(exc).__name__}: {exc}") from exc
    finally:
        hasher.close()
    if task.probe_input and task.inputs:
        result = dataclasses.replace(result, input_info=_input_info(task.inputs[0]))
    return result


class _Hasher:
    """Hashes the output files a driver reports finished (`Task.closed`), in threads while it goes on, so the
    runner stores them without reading them again (on a short Segment job, hashing the pieces after the
    work took as long as the copy)."""

    def __init__(self, outdir: str) -> None:
        self.outdir = outdir
        self.pool: ThreadPoolExecutor | None = None
        self.hashes: dict[str, Future[FileHashes]] = {}

    def closed(self, name: str) -> None:
        """`name` (in the task's staging folder) is finished: hash it."""
        if self.pool is None:
            self.pool = ThreadPoolExecutor(max_workers=HASH_THREADS, thread_name_prefix="output-hash")
        self.hashes[name] = self.pool.submit(hash_path, os.path.join(self.outdir, name))

    def attach(self, result: Result) -> Result:
        """The result with each reported file's hashes (a file whose hashing failed is hashed on storing)."""
        if not self.hashes:
            return result
        files = tuple(dataclasses.replace(f, hashes=self._get(f.name)) for f in result.files)
        return dataclasses.replace(result, files=files)

    def _get(self, name: str) -> FileHashes | None:
        future = self.hashes.get(name)
        if future is None or future.exception() is not None:
            return None
        return future.result()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def _input_info(path: str) -> dict[str, Any] | None:
    """The MediaInfo of an input the job has just processed; None when it has none to give (not media)."""
    from ..media import mediainfo  # noqa: PLC0415 - imported by warm_up already

    try:
        return mediainfo.probe(path)
    except Exception:  # noqa: BLE001 - the job's own work succeeded; only its input's description is missing
        return None


def warm_up() -> None:
    """Import PyAV and every driver module now (called once in each fresh worker process)."""
    for name in MODULES.values():
        importlib.import_module(f"ci_jobs.media.{name}")
