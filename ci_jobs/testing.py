"""Throwaway ci-jobs servers for tests: in a thread of the caller's process or as a subprocess.

`run_server()` starts one on a free loopback port with its own temporary data dir and yields a
`Server`: the endpoint, the demo keys and bucket, and a configured `CosS3Client` (the official SDK,
`pip install 'ci-jobs[client]'`). Like moto's ThreadedMotoServer, but the server is the real one:
real SQLite store, real PyAV workers. `ci_jobs.pytest_plugin` wraps it as pytest fixtures.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess as sp
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from . import auth, config
from .client import sdk
from .protocols.serving import Runner

# Quick heartbeats, polls and retries so that a test's job ends in about the time its media takes.
FAST: Mapping[str, str] = {
    "CI_JOBS_SCHEDULER_HEARTBEAT_SECONDS": "0.3", "CI_JOBS_SCHEDULER_LEASE_SECONDS": "5",
    "CI_JOBS_SCHEDULER_WORKERS": "2", "CI_JOBS_SCHEDULER_POLL_SECONDS": "0.5",
    "CI_JOBS_SCHEDULER_STOP_GRACE_SECONDS": "1", "CI_JOBS_CALLBACKS_RETRY_BASE": "0.2",
    "CI_JOBS_CALLBACKS_POLL_SECONDS": "0.2", "CI_JOBS_CALLBACKS_TIMEOUT": "2",
    "CI_JOBS_CALLBACKS_ALLOW_LOOPBACK": "1",
}
FINAL_STATES = frozenset({"Success", "Failed", "Cancel"})


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
        self._thread = threading.Thread(target=self._run, name="ci-jobs-test-server", daemon=True)

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


@dataclass
class Server:
    """A running throwaway server: where it listens, the keys that sign for it, an SDK client."""

    endpoint: str
    port: int
    data_dir: Path
    bucket: str
    region: str
    appid: str
    secret_id: str
    secret_key: str
    client: Any = field(repr=False)  # qcloud_cos.CosS3Client

    @property
    def env(self) -> dict[str, str]:
        """The variables that point `ci-jobs submit|jobs|...` at this server with its account's keys."""
        return {"CI_JOBS_ENDPOINT": self.endpoint, "CI_JOBS_SECRET_ID": self.secret_id,
                "CI_JOBS_SECRET_KEY": self.secret_key, "CI_JOBS_APPID": self.appid}

    def wait_job(self, job_id: str, timeout: float = 90) -> dict[str, Any]:
        """Poll GET /jobs/<id> until the job is Success, Failed or Cancel; its JobsDetail."""
        deadline = time.monotonic() + timeout
        while True:
            detail = dict(self.client.ci_get_media_jobs(Bucket=self.bucket, JobIDs=job_id)["JobsDetail"][0])
            if detail["State"] in FINAL_STATES:
                return detail
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {detail['State']} after {timeout:g} s")
            time.sleep(0.1)

    def reset(self) -> None:
        """Wipe every job, object and queue setting (POST /-/reset, signed like any request)."""
        host = f"127.0.0.1:{self.port}"
        now = int(time.time())
        window = f"{now - 60};{now + 600}"
        sig = auth.signature(self.secret_key, window, "POST", "/-/reset", [], [("host", host)])
        authorization = (f"q-sign-algorithm=sha1&q-ak={self.secret_id}&q-sign-time={window}&q-key-time={window}"
                         f"&q-header-list=host&q-url-param-list=&q-signature={sig}")
        req = urllib.request.Request(self.endpoint + "/-/reset", method="POST", data=b"",
                                     headers={"Authorization": authorization, "Host": host})
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback only
            resp.read()


@contextmanager
def run_server(*, subprocess: bool = False, env: Mapping[str, str] | None = None,
               config_file: str | Path | None = None, data_dir: str | Path | None = None,
               workers: bool = True) -> Iterator[Server]:
    """Start a server on a free loopback port, yield it, then stop it and remove its temporary data.

    `env` holds CI_JOBS_* settings over `FAST` (e.g. `{"CI_JOBS_SCHEDULER_WORKERS": "4"}`);
    `subprocess=True` runs `python -m ci_jobs serve` instead of a thread of this process (use it
    when the code under test forks, or to see the server's log on stderr). `/-/reset` is enabled.
    """
    tmp = None if data_dir else tempfile.mkdtemp(prefix="ci-jobs-test-")
    data = Path(data_dir or tmp or ".").resolve()
    (data / "queues").mkdir(parents=True, exist_ok=True)
    variables = {**FAST, **(env or {})}
    port = free_port()
    overrides: dict[str, Any] = {"data_dir": str(data), "port": port, "host": "127.0.0.1", "admin": True,
                                 "queues_dir": str(data / "queues"), "workers_enabled": workers}
    settings = config.load(config_file, overrides, environ={**os.environ, **variables})
    try:
        starter = _subprocess if subprocess else _thread
        with starter(settings, variables, config_file) as endpoint:
            yield _server(settings, endpoint, data)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def _server(settings: config.Settings, endpoint: str, data: Path) -> Server:
    account, bucket = settings.accounts[0], settings.buckets[0]
    return Server(endpoint=endpoint, port=settings.server.port, data_dir=data, bucket=bucket.name,
                  region=bucket.region, appid=account.appid, secret_id=account.secret_id,
                  secret_key=account.secret_key,
                  client=sdk(endpoint, account.secret_id, account.secret_key, bucket.region))


@contextmanager
def _thread(settings: config.Settings, variables: Mapping[str, str],
            config_file: str | Path | None) -> Iterator[str]:
    from .server import create_app  # noqa: PLC0415 - the composition root, only when serving here

    srv = ServerThread(lambda: create_app(settings), port=settings.server.port).start()
    try:
        yield srv.endpoint
    finally:
        srv.stop()


@contextmanager
def _subprocess(settings: config.Settings, variables: Mapping[str, str],
                config_file: str | Path | None) -> Iterator[str]:
    s = settings.server
    cmd = [sys.executable, "-m", "ci_jobs", "serve", "--host", s.host, "--port", str(s.port),
           "--data-dir", s.data_dir, "--admin"]
    if config_file:
        cmd += ["--config", str(config_file)]
    if not s.workers_enabled:
        cmd.append("--no-workers")
    env = {**os.environ, **variables, "CI_JOBS_QUEUES_DIR": s.queues_dir}
    proc = sp.Popen(cmd, env=env, stdout=sp.DEVNULL)
    endpoint = f"http://{s.host}:{s.port}"
    try:
        _wait_healthy(endpoint, proc)
        yield endpoint
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except sp.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_healthy(endpoint: str, proc: sp.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"ci-jobs serve exited with status {proc.returncode} before listening")
        try:
            with urllib.request.urlopen(endpoint + "/-/health", timeout=2) as resp:  # noqa: S310
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"ci-jobs serve did not answer {endpoint}/-/health within {timeout:g} s")
        time.sleep(0.1)
