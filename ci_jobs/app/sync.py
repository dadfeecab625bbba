"""Synchronous CI processing on an object (`?ci-process=snapshot|videoinfo|pm3u8`): the use cases.

The client waits on the HTTP request, so these never go through a queue or the job workers. The
PyAV work runs in a warm pool of its own worker processes (`procpool`), so a hostile file that
crashes the decoder, or a decode that needs gigabytes, costs a worker, never the API process: a
crash answers InvalidArgument and the worker is replaced. Admission is bounded, and a full pool
answers ServiceUnavailable (503, which the SDKs retry) at once instead of queueing requests
without limit. A request whose client goes away does not cancel its work half-way: the input
stays open until the worker is done with it. pm3u8 is text work and stays in this process.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import aclosing, contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from .. import playlist, xmlio
from ..config import Account, Bucket, Settings
from ..engine.procpool import PoolClosed, ProcPool, WorkerCrashed, WorkerStartFailed
from ..errors import AccessDenied, CiJobsError, InvalidArgument, JobFailed, ServiceUnavailable
from ..storage import Storage

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_PLAYLIST = 4 * 1024**2  # bytes: an m3u8 is text; anything larger is not worth rewriting
MAX_WORKER_RSS = 512 << 20  # bytes: a worker that grew past this in a call is replaced (1080p: ~210 MB)
MEDIA_INFO_CACHE = 1024  # MediaInfo answers kept, per object version (bucket, key, etag, size, mtime)


@dataclass(frozen=True)
class SnapshotSpec:
    """The parameters of one `ci-process=snapshot` request, already validated."""

    time: float
    width: int = 0
    height: int = 0
    format: str = "jpg"
    rotate: str = "auto"
    mode: str = "exactframe"


class SyncProcessor:
    """Runs snapshot / videoinfo / pm3u8 for the API, at most `workers` media jobs at a time."""

    def __init__(self, settings: Settings, storage: Storage, workers: int | None = None,
                 backlog: int | None = None) -> None:
        self.settings = settings
        self.storage = storage
        self.workers = workers or 2 * (os.cpu_count() or 1)
        self.limit = self.workers + (self.workers if backlog is None else backlog)
        self.pool = ProcPool(self.workers, "ci-process", init=warm_up, max_rss=MAX_WORKER_RSS)
        self._busy = 0
        self._infos: OrderedDict[tuple[str, str, str, int, float], asyncio.Future[dict[str, Any]]] = OrderedDict()
        self._views: OrderedDict[tuple[Any, Any], dict[str, Any]] = OrderedDict()  # (version, view) -> view's answer

    @property
    def busy(self) -> int:
        """Requests admitted and not finished yet (running or waiting for a worker)."""
        return self._busy

    async def snapshot(self, bucket: str, key: str, spec: SnapshotSpec) -> bytes:
        """The image bytes of one frame of object `key`."""
        return await self._run(bucket, key, grab_frame, spec)

    async def media_info(self, bucket: str, key: str) -> dict[str, Any]:
        """CI's MediaInfo of object `key`, probed once per version of the object.

        An object's bytes change only with its ETag, size or modification time, so a HEAD decides
        whether the last probe still holds: an MPS DescribeMediaMetaData or a videoinfo call
        on an input probed before costs no worker round trip. Failures are not kept."""
        _, info = await self._media_info(bucket, key)
        return xmlio.copy_tree(info)

    async def media_view(self, bucket: str, key: str,
                         view: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
        """`view(MediaInfo)` of object `key` (say, MPS's MetaData), made once per version of the object.

        `view` only reads the MediaInfo it is given; each caller gets its own copy of the answer."""
        version, info = await self._media_info(bucket, key)
        made = self._views.get((version, view))
        if made is None:
            made = self._views[(version, view)] = view(info)
            if len(self._views) > MEDIA_INFO_CACHE:
                self._views.popitem(last=False)
        return xmlio.copy_tree(made)

    async def _media_info(self, bucket: str, key: str) -> tuple[tuple[str, str, str, int, float], dict[str, Any]]:
        """The object's version and its MediaInfo (shared: callers copy it before handing it out)."""
        meta = await self.storage.head(bucket, key)
        version = (bucket, key, meta.etag, meta.size, meta.last_modified)
        known = self._infos.get(version)
        if known is None:  # the first caller probes; callers meanwhile wait for its answer
            known = self._infos[version] = asyncio.ensure_future(self._run(bucket, key, probe))
            known.add_done_callback(functools.partial(self._probed, version))
            if len(self._infos) > MEDIA_INFO_CACHE:
                self._infos.popitem(last=False)
        else:
            self._infos.move_to_end(version)
        return version, await asyncio.shield(known)

    def _probed(self, version: tuple[str, str, str, int, float], done: asyncio.Future[dict[str, Any]]) -> None:
        if done.cancelled() or done.exception() is not None:
            self._infos.pop(version, None)  # a failed probe is not kept: the next caller tries again

    async def pm3u8(self, bucket: Bucket, key: str, host: str, expires: int, base: str = "",
                    now: float | None = None) -> str:
        """Playlist `key` with every URI pre-signed for `expires` seconds by the bucket's owner."""
        text = await self._playlist(bucket.name, key)
        owner = self.owner(bucket)
        signer = playlist.Signer.for_window(owner.secret_id, owner.secret_key, host, expires, now)
        return playlist.sign(text, key, signer, base)

    def owner(self, bucket: Bucket) -> Account:
        """The first configured key pair of the APPID that owns `bucket`."""
        for account in self.settings.accounts:
            if account.appid == bucket.appid:
                return account
        raise AccessDenied(f"No key pair is configured for APPID {bucket.appid} to sign with.")

    async def _playlist(self, bucket: str, key: str) -> str:
        meta = await self.storage.head(bucket, key)
        if meta.size > MAX_PLAYLIST:
            raise InvalidArgument(f"The object {key} is not an HLS playlist: it is larger than "
                                  f"{MAX_PLAYLIST} bytes.")
        data = bytearray()
        if meta.size:
            async with aclosing(self.storage.read(bucket, key, 0, meta.size - 1)) as chunks:
                async for chunk in chunks:
                    data += chunk
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidArgument(f"The object {key} is not an HLS playlist: it is not UTF-8 text.") from exc
        if not text.lstrip().startswith("#EXTM3U"):
            raise InvalidArgument(f"The object {key} is not an HLS playlist: it does not start with #EXTM3U.")
        return text

    async def _run(self, bucket: str, key: str, work: Callable[..., T], *args: Any) -> T:
        """Admit the request or refuse it with 503, then run `work(local path, *args)` in a worker."""
        if self._busy >= self.limit:
            raise ServiceUnavailable("Too many synchronous ci-process requests at once; retry later.")
        self._busy += 1
        task = asyncio.ensure_future(self._in_worker(bucket, key, work, *args))
        task.add_done_callback(self._done)
        return await asyncio.shield(task)  # a disconnecting client must not close the input under the worker

    async def _in_worker(self, bucket: str, key: str, work: Callable[..., T], *args: Any) -> T:
        async with self.storage.local_input(bucket, key) as path:
            try:
                return await self.pool.call(work, str(path), *args)
            except Exception as exc:
                raise _request_error(exc, key, str(path)) from exc

    def _done(self, task: asyncio.Future[Any]) -> None:
        self._busy -= 1
        if not task.cancelled():
            task.exception()  # retrieved here too: an abandoned request's error is not "never retrieved"

    def close(self) -> None:
        """Stop taking work and end the worker processes; requests in flight answer 503."""
        self.pool.close()


# --- in the worker processes --------------------------------------------------------------


class Refused(Exception):
    """A processor's JobFailed on its way back from a worker (JobFailed itself does not unpickle)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message


@contextmanager
def _refusals() -> Iterator[None]:
    try:
        yield
    except JobFailed as exc:
        raise Refused(exc.code, exc.message) from None


def warm_up() -> None:
    """Once in each new worker: import PyAV and the media drivers, so no call pays for it."""
    from ..media import frame, mediainfo  # noqa: F401, PLC0415 - the worker's imports, not the API's


def grab_frame(path: str, spec: SnapshotSpec) -> bytes:
    """In a worker: the image bytes of the frame of `path` that `spec` asks for."""
    from ..media import frame  # noqa: PLC0415 - imported by warm_up already

    with _refusals():
        return frame.grab(path, spec.time, spec.width, spec.height, spec.format, spec.rotate, spec.mode)


def probe(path: str) -> dict[str, Any]:
    """In a worker: CI's MediaInfo of `path`."""
    from ..media import mediainfo  # noqa: PLC0415 - imported by warm_up already

    with _refusals():
        return mediainfo.probe(path)


# --- errors -------------------------------------------------------------------------------


def _request_error(exc: Exception, key: str, path: str) -> CiJobsError:
    """What came out of a worker as the request error the client sees (never a 500 for bad media)."""
    if isinstance(exc, Refused):
        return _refusal_error(exc, key)
    if isinstance(exc, WorkerCrashed):
        log.warning("ci-process worker crashed on object %s: %s", key, exc.message)
        return InvalidArgument(f"The worker processing the object {key} crashed; the input may be "
                               "malformed.")
    if isinstance(exc, PoolClosed | WorkerStartFailed):
        return ServiceUnavailable(f"ci-process cannot run now ({exc}); retry later.")
    log.warning("ci-process on object %s raised %s", key, type(exc).__name__, exc_info=exc)
    reason = f"{type(exc).__name__}: {exc}".replace(path, key)
    return InvalidArgument(f"The object {key} is not a media file this server can process: {reason}")


def _refusal_error(exc: Refused, key: str) -> CiJobsError:
    """A processor's failure as the request error the client sees."""
    if exc.code == "InvalidInput":
        return InvalidArgument(f"The object {key} is not a media file this server can process: {exc.message}")
    if exc.code == "InvalidArgument":
        return InvalidArgument(exc.message)
    return CiJobsError(f"ci-process failed on {key}: {exc.message}")
