"""Live updates: Server-Sent Events that tell open pages a job has finished or an object appeared.

The hub subscribes to JobFinished and ObjectCreated with `remote=True`, so in cluster mode the jobs
other nodes run reach this node's pages too (the PostgreSQL relay). An event names its bucket and
only reaches sessions of that bucket's APPID. Progress is not an event: pages re-read the store's
job rows (one page of them) every second while a visible task is not completed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from aiohttp import web

from ...domain.events import EventBus, JobFinished, ObjectCreated

KEEPALIVE = 15.0  # seconds: a comment line keeps proxies from closing an idle stream
MAX_BACKLOG = 100


class LiveHub:
    """Fans domain events out to the open event streams."""

    def __init__(self, events: EventBus) -> None:
        self._streams: set[tuple[frozenset[str], asyncio.Queue[dict[str, Any]]]] = set()
        events.subscribe(JobFinished, self._job, remote=True)
        events.subscribe(ObjectCreated, self._object, remote=True)

    async def _job(self, event: JobFinished) -> None:
        self._send(event.bucket, {"type": "job", "bucket": event.bucket, "job": event.job_id, "state": event.state})

    async def _object(self, event: ObjectCreated) -> None:
        self._send(event.bucket, {"type": "object", "bucket": event.bucket, "key": event.key})

    def _send(self, bucket: str, message: dict[str, Any]) -> None:
        for buckets, queue in list(self._streams):
            if bucket in buckets and queue.qsize() < MAX_BACKLOG:
                queue.put_nowait(message)

    async def stream(self, request: web.Request, buckets: frozenset[str]) -> web.StreamResponse:
        """Hold an event stream open until the client goes away."""
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                               "X-Accel-Buffering": "no"})
        await response.prepare(request)
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        entry = (buckets, queue)
        self._streams.add(entry)
        try:
            await response.write(b"retry: 2000\nevent: hello\ndata: {}\n\n")
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), KEEPALIVE)
                except TimeoutError:
                    await response.write(b": keepalive\n\n")
                    continue
                await response.write(f"event: {message['type']}\ndata: {json.dumps(message)}\n\n".encode())
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self._streams.discard(entry)
        with contextlib.suppress(ConnectionResetError):
            await response.write_eof()
        return response
