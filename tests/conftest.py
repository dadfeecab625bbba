"""Shared fixtures: a real ci-jobs server on loopback, the official SDK pointed at it, real clips."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from qcloud_cos import CosConfig, CosS3Client

from ci_jobs import config
from ci_jobs.server import create_app

from .harness import ServerThread

BUCKET = "examplebucket-1250000000"
REGION = "ap-guangzhou"
SECRET_ID = "AKIDEXAMPLE"
SECRET_KEY = "EXAMPLEKEY"


def make_settings(data_dir: Path, **server: Any) -> config.Settings:
    """Demo settings on a private data dir, with fast heartbeats and retries for tests."""
    env = {"CI_JOBS_SCHEDULER_HEARTBEAT_SECONDS": "0.3", "CI_JOBS_SCHEDULER_LEASE_SECONDS": "5",
           "CI_JOBS_SCHEDULER_WORKERS": "2", "CI_JOBS_SCHEDULER_POLL_SECONDS": "0.5",
           "CI_JOBS_CALLBACKS_RETRY_BASE": "0.2", "CI_JOBS_CALLBACKS_POLL_SECONDS": "0.2",
           "CI_JOBS_CALLBACKS_TIMEOUT": "2", "CI_JOBS_CALLBACKS_ALLOW_LOOPBACK": "1",
           "CI_JOBS_SCHEDULER_STOP_GRACE_SECONDS": "1"}
    overrides = {"data_dir": str(data_dir), "admin": True, "queues_dir": str(data_dir / "queues"), **server}
    return config.load(None, overrides, environ=env)


def sdk(port: int, **extra: Any) -> CosS3Client:
    """The official SDK in IP/Port mode."""
    conf = CosConfig(Region=REGION, SecretId=extra.pop("SecretId", SECRET_ID),
                     SecretKey=extra.pop("SecretKey", SECRET_KEY), IP="127.0.0.1", Port=port,
                     Scheme="http", **extra)
    return CosS3Client(conf, retry=0)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """One server for the session (tests that need a clean slate use `fresh`)."""
    data = tmp_path_factory.mktemp("server")
    (data / "queues").mkdir()
    (data / "queues" / f"{BUCKET}.toml").write_text('[[queues]]\nname = "serial"\nmax_concurrent = 1\n')
    srv = ServerThread(lambda: create_app(make_settings(data))).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def client(server: ServerThread) -> CosS3Client:
    """The SDK against the session server."""
    return sdk(server.port)


def wait_job(client: CosS3Client, job_id: str, timeout: float = 90,
             until: frozenset[str] = frozenset({"Success", "Failed", "Cancel"})) -> dict[str, Any]:
    """Poll DescribeMediaJob until the job reaches one of `until`."""
    deadline = time.monotonic() + timeout
    while True:
        detail = client.ci_get_media_jobs(Bucket=BUCKET, JobIDs=job_id)["JobsDetail"][0]
        if detail["State"] in until:
            return dict(detail)
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} stuck in {detail['State']}")
        time.sleep(0.1)


def clip_bytes(path: Path, seconds: float = 2.0, size: str = "320x240", rate: int = 25,
               audio: bool = True, container: str = "mp4") -> bytes:
    """A real H.264/AAC clip made with PyAV from lavfi testsrc2 + sine."""
    import av  # noqa: PLC0415 - tests only

    vin = av.open(f"testsrc2=size={size}:rate={rate}:duration={seconds}", format="lavfi")
    out = av.open(str(path), "w", format=container)
    vs = out.add_stream("libx264", rate=rate)
    w, h = (int(x) for x in size.split("x"))
    vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
    vs.options = {"preset": "ultrafast"}
    ain = as_ = None
    if audio:
        ain = av.open(f"sine=frequency=440:duration={seconds}:sample_rate=44100", format="lavfi")
        as_ = out.add_stream("aac", rate=44100)
    for frame in vin.decode(video=0):
        frame.pts = None
        for pkt in vs.encode(frame):
            out.mux(pkt)
    for pkt in vs.encode():
        out.mux(pkt)
    if ain is not None and as_ is not None:
        for frame in ain.decode(audio=0):
            frame.pts = None
            for pkt in as_.encode(frame):
                out.mux(pkt)
        for pkt in as_.encode():
            out.mux(pkt)
        ain.close()
    out.close()
    vin.close()
    return path.read_bytes()


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A 2 s 320x240 H.264/AAC mp4."""
    return clip_bytes(tmp_path_factory.mktemp("clip") / "clip.mp4")


def job_body(tag: str, input_key: str, operation: dict[str, Any], **top: Any) -> dict[str, Any]:
    """A POST /jobs body dict for `ci_create_media_jobs`."""
    return {"Tag": tag, "Input": {"Object": input_key}, "Operation": operation, **top}


def output(key: str) -> dict[str, str]:
    """An Output container in the demo bucket."""
    return {"Region": REGION, "Bucket": BUCKET, "Object": key}


os.environ.setdefault("CI_JOBS_LOG_LEVEL", "WARNING")
