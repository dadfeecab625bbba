"""Run one claimed job: fetch input, process in a worker, publish outputs, record the outcome.

The runner renews its lease from the event loop (never from inside the frame loop), so a long
decode cannot lose it; the same heartbeat carries progress and learns about a cancel request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import mimetypes
import posixpath
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Protocol

from .. import fetch, tags
from ..config import Settings
from ..domain.events import EventBus, JobFinished, ObjectCreated, Source
from ..domain.failures import CANCELLED_MESSAGE, Failure
from ..domain.results import JobResult, StoredObject
from ..errors import CiJobsError, JobFailed, NoSuchKey
from ..media import OutputFile, Result, Task
from ..notify import Notifier
from ..storage import ObjectMeta, Storage
from ..store import Beat, Claim, JobRecord, JobState, Outcome, Store
from ..wildcards import expand

log = logging.getLogger(__name__)

PUT_PARALLEL = 4  # output files stored at once


class JobWorker(Protocol):
    """Where a job's media work runs: a pool's worker process (`pool.Worker`), or `inline.InlineWorker`."""

    async def run(self, task: Task, progress: Callable[[float], None]) -> Result:
        """Run the task; raise JobFailed on failure."""

    def kill(self) -> None:
        """Stop the task running now (cancel, lost lease)."""


class Runner:
    """Turns a Claim into an Outcome on one worker."""

    def __init__(self, store: Store, storage: Storage, settings: Settings, work_dir: Path, notifier: Notifier,
                 events: EventBus) -> None:
        self.store = store
        self.storage = storage
        self.settings = settings
        self.work_dir = work_dir
        self.notifier = notifier
        self.events = events

    async def run(self, claim: Claim, worker: JobWorker) -> JobState | None:
        """Run the claimed job to its end; return the final state (None if the lease was lost)."""
        job = claim.job
        started = time.monotonic()
        log.info("job %s started: %s of %s, attempt %d, on %s", job.job_id, job.tag, job.bucket, job.attempts,
                 getattr(worker, "name", "a worker"))
        beat = _Heartbeat(self.store, claim, worker, self.settings.scheduler)
        beat_task = asyncio.create_task(beat.run(), name=f"heartbeat-{job.job_id}")
        try:
            outcome = await self._execute(job, worker, beat)
        finally:
            beat_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat_task
        if beat.lost:
            log.warning("job %s: lease lost, outcome discarded", job.job_id)
            return None
        final = _final_record(job, outcome)
        queue = await self._queue_of(job)
        outcome.callbacks.extend(self.notifier.task_finish(final, queue))
        if not await self.store.finish(job.job_id, claim.token, time.time(), outcome):
            log.warning("job %s: outcome refused (lease taken over)", job.job_id)
            return None
        seconds = time.monotonic() - started
        if outcome.state == JobState.SUCCESS:
            log.info("job %s finished: Success in %.1f s", job.job_id, seconds)
        else:
            log.info("job %s finished: %s %s in %.1f s: %s", job.job_id, outcome.state, outcome.code, seconds,
                     outcome.message)
        await self.events.publish(JobFinished(job.job_id, job.bucket, job.tag, outcome.state, outcome.code, seconds))
        return outcome.state

    async def _queue_of(self, job: JobRecord) -> Any:
        for q in await self.store.queues(job.bucket):
            if q.queue_id == job.queue_id:
                return q
        return None

    async def _execute(self, job: JobRecord, worker: JobWorker, beat: _Heartbeat) -> Outcome:
        try:
            async with self._staging(job) as outdir, self._inputs(job) as inputs, \
                    self._objects(job) as objects:
                task = Task(tag=job.tag, op=tags.parse(job.tag, _operation(job)), inputs=tuple(inputs),
                            outdir=str(outdir), objects=objects, job_id=job.job_id,
                            input_key=str((job.spec.get("Input") or {}).get("Object", "")),
                            probe_input=bool(job.spec.get("ProbeInput")))
                result = await worker.run(task, beat.set_progress)
                produced = await self._publish(job, outdir, result)
                return Outcome(JobState.SUCCESS, result=produced.to_json())
        except JobFailed as exc:
            if beat.cancelled:
                return Outcome(JobState.CANCEL, Failure.CANCEL, CANCELLED_MESSAGE)
            return Outcome(JobState.FAILED, exc.code, exc.message)
        except CiJobsError as exc:
            return Outcome(JobState.FAILED, Failure.INPUT_NOT_FOUND if isinstance(exc, NoSuchKey) else exc.code,
                           _input_message(job, exc))

    @contextlib.asynccontextmanager
    async def _staging(self, job: JobRecord) -> AsyncIterator[Path]:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.mkdtemp(prefix=f"{job.job_id}-", dir=self.work_dir))
        try:
            yield path
        finally:
            await asyncio.to_thread(shutil.rmtree, path, True)

    @contextlib.asynccontextmanager
    async def _inputs(self, job: JobRecord) -> AsyncIterator[list[str]]:
        url = str((job.spec.get("Input") or {}).get("Url", ""))
        if url:  # a URL input (MPS): downloaded here, under the callbacks' SSRF rules
            async with fetch.local_copy(url, self.work_dir, self.settings.callbacks.policy) as copy:
                yield [str(copy)]
            return
        key = str((job.spec.get("Input") or {}).get("Object", ""))
        if not key:
            yield []
            return
        async with self.storage.local_input(job.bucket, key) as path:
            yield [str(path)]

    @contextlib.asynccontextmanager
    async def _objects(self, job: JobRecord) -> AsyncIterator[dict[str, str]]:
        keys = tags.referenced_objects(job.tag, _operation(job))
        async with contextlib.AsyncExitStack() as stack:
            found: dict[str, str] = {}
            for key in keys:
                try:
                    path = await stack.enter_async_context(self.storage.local_input(job.bucket, key))
                except NoSuchKey as exc:
                    raise JobFailed(Failure.INPUT_NOT_FOUND,
                                    f"The object {key} named by the job does not exist.") from exc
                found[key] = str(path)
            yield found

    async def _publish(self, job: JobRecord, outdir: Path, result: Result) -> JobResult:
        """Upload produced files by their roles (the Tag's `roles`); return what the job produced."""
        spec = tags.spec(job.tag)
        out = _operation(job).get("Output") or {}
        files = result.files
        outputs: dict[str, tuple[StoredObject, ...]] = {}
        if out and files:
            input_key = str((job.spec.get("Input") or {}).get("Object", ""))
            for name, role in spec.roles.items():
                group = [f for f in files if f.role == name]
                if not group:
                    continue
                if role.beside:
                    if outputs.get(role.beside):
                        await self._upload_beside(job, outdir, group, outputs[role.beside][0].key, out)
                    continue
                if role.per_file:  # each file names its own key pattern (StreamExtract: one per stream)
                    patterns = [f.key for f in group]
                else:
                    pattern = str(out.get(role.key_field) or (out.get(role.fallback) if role.fallback else "") or "")
                    patterns = [pattern] * len(group)
                outputs[name] = await self._upload_group(job, outdir, group, patterns, out,
                                                         role.ext or result.ext, input_key)
        return JobResult(outputs, result.media_info or None, result.data or None, result.input_info)

    async def _upload_beside(self, job: JobRecord, outdir: Path, files: list[OutputFile], main_key: str,
                             out: dict[str, Any]) -> None:
        """Upload HLS/DASH segments and keys next to their playlist: its folder + their own file name.

        The playlist names them relative to itself, so the keys must not be expanded or renumbered.
        """
        folder = posixpath.dirname(main_key)
        bucket = str(out.get("Bucket") or job.bucket)
        await self._put_all(bucket, outdir, [(f, posixpath.join(folder, f.name)) for f in files])

    async def _upload_group(self, job: JobRecord, outdir: Path, files: list[OutputFile], patterns: list[str],
                            out: dict[str, Any], ext: str, input_key: str) -> tuple[StoredObject, ...]:
        """Upload `files[i]` under `patterns[i]` expanded with `${Number}` = i; a key taken already by
        this group (a pattern without `${Number}`) gets `-i` before its extension."""
        bucket, region = str(out.get("Bucket") or job.bucket), str(out.get("Region") or "")
        keys: list[str] = []
        for i, (f, pattern) in enumerate(zip(files, patterns, strict=True)):
            key = expand(pattern, ext=f.ext or ext, number=i, job_id=job.job_id, input_key=input_key)
            keys.append(_numbered(key, i) if key in keys else key)
        metas = await self._put_all(bucket, outdir, list(zip(files, keys, strict=True)))
        return tuple(StoredObject(bucket, region, key, meta.etag) for key, meta in zip(keys, metas, strict=True))

    async def _put_all(self, bucket: str, outdir: Path, files: list[tuple[OutputFile, str]]) -> list[ObjectMeta]:
        """Store each staged file under its key, PUT_PARALLEL at a time (hashing them is most of a short
        job's publishing: the threads overlap it); ObjectCreated goes out in the files' order."""
        gate = asyncio.Semaphore(PUT_PARALLEL)

        async def put(f: OutputFile, key: str) -> ObjectMeta:
            ctype = mimetypes.guess_type(key)[0] or "application/octet-stream"
            async with gate:
                # owned: the staging folder is only removed after this (a link, not a copy, on local storage)
                return await self.storage.put_file(bucket, key, outdir / f.name, content_type=ctype, owned=True,
                                                   hashes=f.hashes)

        metas = await asyncio.gather(*(put(f, key) for f, key in files))
        for (_, key), meta in zip(files, metas, strict=True):
            await self.events.publish(ObjectCreated(bucket, key, meta.size, meta.etag, Source.JOB))
        return list(metas)


def _operation(job: JobRecord) -> dict[str, Any]:
    """What the processor runs: the operation with its templates applied (else as submitted)."""
    op = job.spec.get("Resolved") or job.spec.get("Operation") or {}
    return dict(op)


def _numbered(key: str, i: int) -> str:
    stem, dot, ext = key.rpartition(".")
    return f"{stem}-{i}.{ext}" if dot else f"{key}-{i}"


def _input_message(job: JobRecord, exc: CiJobsError) -> str:
    key = (job.spec.get("Input") or {}).get("Object", "")
    if isinstance(exc, NoSuchKey):
        return f"The input object {key} does not exist."
    return exc.message


def _final_record(job: JobRecord, outcome: Outcome) -> JobRecord:
    return JobRecord(**{**job.__dict__, "state": outcome.state, "code": outcome.code,
                        "message": outcome.message, "result": outcome.result, "ended": time.time(),
                        "progress": 100 if outcome.state == JobState.SUCCESS else job.progress})


class _Heartbeat:
    """Renews the lease every heartbeat, stores progress, and kills the worker on cancel."""

    def __init__(self, store: Store, claim: Claim, worker: JobWorker, sched: Any) -> None:
        self.store = store
        self.claim = claim
        self.worker = worker
        self.sched = sched
        self.progress = 0
        self.cancelled = False
        self.lost = False

    def set_progress(self, pct: float) -> None:
        """Remember the latest progress (written at the next beat); log each quarter reached."""
        progress = max(0, min(99, int(pct)))
        if progress // 25 > self.progress // 25:
            log.info("job %s at %d%%", self.claim.job.job_id, progress // 25 * 25)
        self.progress = progress

    async def run(self) -> None:
        """Beat until cancelled by the runner."""
        while True:
            await asyncio.sleep(self.sched.heartbeat_seconds)
            until = time.time() + self.sched.lease_seconds
            try:
                beat = await self.store.heartbeat(self.claim.job.job_id, self.claim.token, until, self.progress)
            except CiJobsError as exc:
                log.warning("heartbeat of %s failed: %s", self.claim.job.job_id, exc)
                continue
            if beat == Beat.CANCEL and not self.cancelled:
                self.cancelled = True
                self.worker.kill()
            elif beat == Beat.LOST:
                self.lost = True
                self.worker.kill()
                return
