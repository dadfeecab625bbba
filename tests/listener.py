"""A callback listener for tests: records every POST it receives."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from .harness import ServerThread, free_port


class Listener:
    """An HTTP server that stores received callback bodies; can be started late (on a fixed port)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received: list[dict[str, Any]] = []
        self._thread: ServerThread | None = None

    @property
    def url(self) -> str:
        """Where to send callbacks."""
        return f"http://127.0.0.1:{self.port}/callback"

    def start(self) -> Listener:
        """Begin listening."""
        async def receive(request: web.Request) -> web.Response:
            self.received.append({"body": await request.read(),
                                  "content_type": request.headers.get("Content-Type", ""),
                                  "path": request.path})
            return web.Response(text="ok")

        def factory() -> web.Application:
            app = web.Application()
            app.router.add_post("/{tail:.*}", receive)
            return app

        self._thread = ServerThread(factory, port=self.port).start()
        return self

    def wait(self, count: int = 1, timeout: float = 30) -> list[dict[str, Any]]:
        """Block until `count` callbacks arrived."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} callbacks, got {len(self.received)}")
            time.sleep(0.05)
        return self.received

    def stop(self) -> None:
        """Stop listening."""
        if self._thread is not None:
            self._thread.stop()
