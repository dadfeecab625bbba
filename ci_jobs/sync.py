"""Synchronous CI processing on an object (`?ci-process=snapshot|videoinfo|pm3u8`): the use cases.

The client waits on the HTTP request, so these never go through a queue or the worker processes.
The PyAV work runs on a small thread pool in the API process (FFmpeg releases the GIL while it
decodes); admission is bounded, and a full pool answers ServiceUnavailable (503, which the SDKs
retry) at once instead of queueing requests without limit. A request whose client goes away does
not cancel its work half-way: the input stays open until the thread is done with it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, TypeVar

from . import playlist
from .config import Account, Bucket, Settings
from .errors import AccessDenied, CiJobsError, InvalidArgument, JobFailed, ServiceUnavailable
from .storage import Storage

T = TypeVar("T")
MAX_PLAYLIST = 4 * 1024**2  # bytes: an m3u8 is text; anything larger is not worth rewriting


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
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="ci-process")
        self._busy = 0

    @property
    def busy(self) -> int:
        """Requests admitted and not finished yet (running or waiting for a thread)."""
        return self._busy

    async def snapshot(self, bucket: str, key: str, spec: SnapshotSpec) -> bytes:
        """The image bytes of one frame of object `key`."""
        def work(path: str) -> bytes:
            from .processors import frame  # noqa: PLC0415 - PyAV loads on first use, not at start

            return frame.grab(path, spec.time, spec.width, spec.height, spec.format, spec.rotate,
                              spec.mode)

        return await self._run(bucket, key, work)

    async def media_info(self, bucket: str, key: str) -> dict[str, Any]:
        """CI's MediaInfo of object `key`."""
        def work(path: str) -> dict[str, Any]:
            from .processors import mediainfo  # noqa: PLC0415 - PyAV loads on first use, not at start

            return mediainfo.probe(path)

        return await self._run(bucket, key, work)

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

    async def _run(self, bucket: str, key: str, work: Callable[[str], T]) -> T:
        """Admit the request or refuse it with 503, then run `work(local path)` on the pool."""
        if self._busy >= self.limit:
            raise ServiceUnavailable("Too many synchronous ci-process requests at once; retry later.")
        self._busy += 1
        task = asyncio.ensure_future(self._in_pool(bucket, key, work))
        task.add_done_callback(self._done)
        return await asyncio.shield(task)  # a disconnecting client must not close the input under the thread

    async def _in_pool(self, bucket: str, key: str, work: Callable[[str], T]) -> T:
        async with self.storage.local_input(bucket, key) as path:
            try:
                return await asyncio.get_running_loop().run_in_executor(self._executor, work, str(path))
            except JobFailed as exc:
                raise _request_error(exc, key) from exc

    def _done(self, task: asyncio.Future[Any]) -> None:
        self._busy -= 1
        if not task.cancelled():
            task.exception()  # retrieved here too: an abandoned request's error is not "never retrieved"

    def close(self) -> None:
        """Stop taking work; running threads finish on their own."""
        self._executor.shutdown(wait=False, cancel_futures=True)


def _request_error(exc: JobFailed, key: str) -> CiJobsError:
    """A processor's failure as the request error the client sees."""
    if exc.code == "InvalidInput":
        return InvalidArgument(f"The object {key} is not a media file this server can process: {exc.message}")
    if exc.code == "InvalidArgument":
        return InvalidArgument(exc.message)
    return CiJobsError(f"ci-process failed on {key}: {exc.message}")
