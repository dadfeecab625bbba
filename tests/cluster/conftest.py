"""A tryout cluster in processes: PostgreSQL + moto S3 + RabbitMQ, two API nodes, two workers."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from qcloud_cos import CosS3Client

from ..conftest import BUCKET, clip_bytes, sdk
from ..services import BrokerOutage, MotoServer, free_port, fresh_database, rabbit_url


class Cluster:
    """Two `serve --no-workers` API nodes and two `worker` nodes sharing PG, S3 and RabbitMQ."""

    def __init__(self, root: Path, dsn: str, moto: MotoServer, amqp: str) -> None:
        self.root, self.dsn, self.amqp = root, dsn, amqp
        self.config = root / "cluster.toml"
        (root / "queues").mkdir(exist_ok=True)
        (root / "queues" / f"{BUCKET}.toml").write_text('[[queues]]\nname = "serial"\nmax_concurrent = 1\n')
        self.config.write_text(
            f'[server]\nstore = "{dsn}"\nstorage = "{moto.url("c" + uuid.uuid4().hex[:8] + "-")}"\n'
            f'queues_dir = "{root / "queues"}"\n'
            '[scheduler]\nworkers = 1\nfast_lane = 1\nlease_seconds = 4\nheartbeat_seconds = 0.5\npoll_seconds = 1\n'
            'stop_grace_seconds = 0.5\n'
            '[callbacks]\nretry_base = 0.3\npoll_seconds = 0.3\nallow_loopback = true\n'
            f'[mq]\nurl = "{amqp}"\n')
        self.api_ports = [free_port(), free_port()]
        self.apis: list[subprocess.Popen[bytes]] = []
        self.workers: dict[str, subprocess.Popen[bytes]] = {}
        self.clients: list[CosS3Client] = []
        self.outage: BrokerOutage | None = None

    def _env(self) -> dict[str, str]:
        return {**os.environ, "CI_JOBS_LOG_LEVEL": "WARNING"}

    def start(self) -> Cluster:
        for i, port in enumerate(self.api_ports):
            data = self.root / f"api{i}"
            data.mkdir(exist_ok=True)
            self.apis.append(subprocess.Popen(
                [sys.executable, "-m", "ci_jobs", "serve", "--no-workers", "--config", str(self.config),
                 "--port", str(port), "--data-dir", str(data)], env=self._env(), cwd=data,
                stdout=subprocess.DEVNULL))
            self.clients.append(sdk(port))
        for _ in range(2):
            self.start_worker()
        for client in self.clients:
            _wait_api(client)
        return self

    def start_worker(self) -> str:
        """Start one more worker process; return its node id."""
        data = self.root / f"worker-{uuid.uuid4().hex[:6]}"
        data.mkdir()
        log = (data / "out.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "ci_jobs", "worker", "--config", str(self.config),
                                 "--data-dir", str(data)], env=self._env(), cwd=data, stdout=log,
                                stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            m = re.search(r"ci-jobs worker (node-[0-9a-f]+) ready", (data / "out.log").read_text())
            if m:
                self.workers[m.group(1)] = proc
                return m.group(1)
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("worker did not start: " + (data / "out.log").read_text()[-2000:])
            time.sleep(0.1)

    def kill9(self, node: str) -> None:
        """kill -9 one worker node (its pool processes die with it)."""
        proc = self.workers.pop(node)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def rows(self, job_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Job rows straight from PostgreSQL (node, attempts, started, ended, state)."""
        async def q() -> list[Any]:
            conn = await asyncpg.connect(self.dsn)
            try:
                return list(await conn.fetch(
                    "SELECT job_id, node, attempts, started, ended, state FROM jobs WHERE job_id = ANY($1)",
                    job_ids))
            finally:
                await conn.close()
        return {r["job_id"]: dict(r) for r in asyncio.run(q())}

    def stop(self) -> None:
        for proc in [*self.apis, *self.workers.values()]:
            if proc.poll() is None:
                proc.terminate()
        for proc in [*self.apis, *self.workers.values()]:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _wait_api(client: CosS3Client) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            client.ci_get_media_queue(Bucket=BUCKET)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    outage = BrokerOutage(rabbit_url())  # the nodes reach RabbitMQ through it: a test can "restart" it
    with fresh_database() as dsn:
        moto = MotoServer().start()
        c = Cluster(tmp_path_factory.mktemp("cluster"), dsn, moto, outage.url)
        c.outage = outage
        try:
            yield c.start()
        finally:
            c.stop()
            moto.stop()
            outage.close()


@pytest.fixture(scope="module")
def cluster_clip(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> str:
    data = clip_bytes(tmp_path_factory.mktemp("cc") / "c.mp4")
    cluster.clients[0].put_object(Bucket=BUCKET, Key="in/clip.mp4", Body=data)
    return "in/clip.mp4"
