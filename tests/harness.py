"""Run an aiohttp application on a loopback port in a background thread, for synchronous SDK tests."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ci_jobs.protocols.serving import Runner


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerThread:
    """Start `factory()` (sync or async, returning a web.Application) in its own loop and thread."""

    def __init__(self, factory: Callable[[], Awaitable[web.Application] | web.Application],
                 port: int | None = None) -> None:
        self.factory = factory
        self.port = port or free_port()
        self.loop = asyncio.new_event_loop()
        self._runner: Runner | None = None
        self.app: web.Application | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="test-server", daemon=True)

    @property
    def endpoint(self) -> str:
        """`http://127.0.0.1:<port>`."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
        """Start and wait until the socket listens."""
        self._thread.start()
        self._ready.wait(60)
        if self._error:
            raise self._error
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._start())
        except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()

    async def _start(self) -> None:
        app = self.factory()
        if asyncio.iscoroutine(app):
            app = await app
        self.app = app  # type: ignore[assignment]
        self._runner = Runner(app)  # type: ignore[arg-type]
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def call(self, coro: Awaitable[Any], timeout: float = 60) -> Any:
        """Run a coroutine on the server's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)  # type: ignore[arg-type]

    def stop(self) -> None:
        """Shut the application down cleanly and stop the thread."""
        if self._runner is not None:
            self.call(self._runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(30)
