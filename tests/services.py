"""Real service processes for distributed-mode tests: PostgreSQL, an S3 server (moto), RabbitMQ.

PostgreSQL and RabbitMQ are expected on loopback (.ci/run installs and starts them when absent);
moto's standalone S3 server is started here. Outside CI a missing service skips loudly; in CI
(env CI set) it fails, because CI must have them.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

PG_BASE = os.environ.get("CI_JOBS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("CI_JOBS_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672/")


def missing(what: str) -> None:
    """Skip (or, in CI, fail) because a service is unavailable."""
    msg = f"{what} is not available: distributed-mode tests need it (.ci/run installs it)"
    if os.environ.get("CI"):
        pytest.fail(msg)
    pytest.skip(msg)


def port_open(host: str, port: int) -> bool:
    """True when something listens on host:port."""
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, port)) == 0


def free_port() -> int:
    """A free loopback TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _dsn_for(db: str) -> str:
    return PG_BASE.rsplit("/", 1)[0] + "/" + db


async def _admin(sql: str) -> None:
    import asyncpg  # noqa: PLC0415

    conn = await asyncpg.connect(PG_BASE, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new empty PostgreSQL database for one test; yields its DSN and drops it afterwards."""
    if not port_open("127.0.0.1", 5432):
        missing("PostgreSQL on 127.0.0.1:5432")
    name = f"ci_jobs_t_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield _dsn_for(name)
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class MotoServer:
    """moto's standalone S3 server on a loopback port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        """http://127.0.0.1:<port>."""
        return f"http://127.0.0.1:{self.port}"

    def url(self, prefix: str) -> str:
        """The ci-jobs storage URL for this server with a bucket prefix."""
        return f"s3://test:test@127.0.0.1:{self.port}/?region=us-east-1&secure=false&bucket_prefix={prefix}"

    def start(self) -> MotoServer:
        """Start and wait until it answers."""
        exe = Path(sys.executable).with_name("moto_server")
        if not exe.exists():
            missing("moto_server (pip install 'moto[server]')")
        self.proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not port_open("127.0.0.1", self.port):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("moto_server did not start")
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        """Stop the server."""
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)


def rabbit_url() -> str:
    """The broker URL, skipping/failing when RabbitMQ is not reachable."""
    if not port_open("127.0.0.1", 5672):
        missing("RabbitMQ on 127.0.0.1:5672")
    return AMQP_URL


class BrokerOutage:
    """A TCP proxy in front of the test broker whose outage the tests control: `down()` drops every
    connection and refuses new ones, as a broker restart does to its clients; `up()` listens again
    on the same port. The tests restart this, never the user's RabbitMQ (a service they did not start).
    """

    def __init__(self, target: str = AMQP_URL) -> None:
        parts = urlsplit(target)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 5672
        self.listen = free_port()
        self.url = parts._replace(netloc=f"{parts.username or 'guest'}:{parts.password or 'guest'}"
                                         f"@127.0.0.1:{self.listen}").geturl()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, name="broker-outage", daemon=True)
        self._thread.start()
        self.up()

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(30)

    def up(self) -> None:
        """Accept and forward connections again."""
        async def start() -> None:
            self._server = await asyncio.start_server(self._client, "127.0.0.1", self.listen, reuse_address=True)
        self._call(start())

    def down(self) -> None:
        """Close every forwarded connection and stop listening."""
        async def stop() -> None:
            if self._server is not None:
                self._server.close()
                await self._server.wait_closed()
                self._server = None
            for writer in list(self._pipes):
                writer.transport.abort()
            self._pipes.clear()
        self._call(stop())

    def close(self) -> None:
        """Stop the proxy."""
        self.down()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        except OSError:
            writer.transport.abort()
            return
        self._pipes |= {writer, up_writer}

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                dst.transport.abort()
                self._pipes.discard(dst)
        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
