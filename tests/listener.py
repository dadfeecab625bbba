"""A callback listener for tests: records every POST it receives."""

from __future__ import annotations

import re
import threading
from typing import Any

from aiohttp import web

from .harness import ServerThread, free_port


class Listener:
    """An HTTP server that stores received callback bodies; can be started late (on a fixed port)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received: list[dict[str, Any]] = []
        self._arrived = threading.Condition()
        self._thread: ServerThread | None = None

    @property
    def url(self) -> str:
        """Where to send callbacks."""
        return f"http://127.0.0.1:{self.port}/callback"

    def start(self) -> Listener:
        """Begin listening."""
        async def receive(request: web.Request) -> web.Response:
            entry = {"body": await request.read(), "content_type": request.headers.get("Content-Type", ""),
                     "path": request.path}
            with self._arrived:
                self.received.append(entry)
                self._arrived.notify_all()
            return web.Response(text="ok")

        def factory() -> web.Application:
            app = web.Application()
            app.router.add_post("/{tail:.*}", receive)
            return app

        self._thread = ServerThread(factory, port=self.port).start()
        return self

    def wait(self, count: int = 1, timeout: float = 30) -> list[dict[str, Any]]:
        """Block until `count` callbacks arrived (woken by each arrival, no polling)."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.received) >= count, timeout):
                raise AssertionError(f"expected {count} callbacks, got {len(self.received)}")
        return self.received

    def wait_job(self, job_id: str, timeout: float = 30) -> dict[str, Any]:
        """Block until a callback naming `job_id` (<JobId>...</JobId>) arrived; return it."""
        pattern = re.compile(rb"<JobId>" + re.escape(job_id.encode()) + rb"</JobId>")

        def found() -> dict[str, Any] | None:
            return next((r for r in self.received if pattern.search(r["body"])), None)
        with self._arrived:
            if not self._arrived.wait_for(lambda: found() is not None, timeout):
                raise AssertionError(f"no callback for job {job_id} in {timeout:g} s")
            entry = found()
        assert entry is not None
        return entry

    def stop(self) -> None:
        """Stop listening."""
        if self._thread is not None:
            self._thread.stop()
