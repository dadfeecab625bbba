"""A real server on loopback for the MPS tests, the unmodified MPS SDK pointed at it, and a tiny clip in its bucket."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from qcloud_cos import CosS3Client
from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.mps.v20190612 import models, mps_client

from ci_jobs.server import create_app

from ..conftest import BUCKET, REGION, SECRET_ID, SECRET_KEY, clip_bytes, make_settings, sdk
from ..harness import ServerThread

CLIP_KEY = "mps/in/clip.mp4"


@pytest.fixture(scope="module")
def mps_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """One server per module (SQLite, local buckets, two workers)."""
    data = tmp_path_factory.mktemp("mps")
    (data / "queues").mkdir()
    srv = ServerThread(lambda: create_app(make_settings(data))).start()
    yield srv
    srv.stop()


def mps(port: int, secret_key: str = SECRET_KEY, secret_id: str = SECRET_ID) -> mps_client.MpsClient:
    """The official MPS SDK with nothing changed but the endpoint."""
    profile = ClientProfile(httpProfile=HttpProfile(endpoint=f"127.0.0.1:{port}", protocol="http"))
    return mps_client.MpsClient(credential.Credential(secret_id, secret_key), REGION, profile)


@pytest.fixture(scope="module")
def client(mps_server: ServerThread) -> mps_client.MpsClient:
    """The MPS SDK against the module's server."""
    return mps(mps_server.port)


@pytest.fixture(scope="module")
def cos(mps_server: ServerThread) -> CosS3Client:
    """The COS SDK against the same server (inputs in, outputs out)."""
    return sdk(mps_server.port)


@pytest.fixture(scope="module")
def clip(cos: CosS3Client, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A 1 s 160x120 H.264/AAC mp4 uploaded as the input; its key."""
    body = clip_bytes(tmp_path_factory.mktemp("mpsclip") / "clip.mp4", seconds=1.0, size="160x120")
    cos.put_object(Bucket=BUCKET, Key=CLIP_KEY, Body=body)
    return CLIP_KEY


def request(model: type[Any], params: dict[str, Any]) -> Any:
    """An SDK request model filled from a dict, as a user would write it."""
    req = model()
    req.from_json_string(json.dumps(params))
    return req


def cos_input(key: str = CLIP_KEY) -> dict[str, Any]:
    """InputInfo for an object of the demo bucket."""
    return {"Type": "COS", "CosInputInfo": {"Bucket": BUCKET, "Region": REGION, "Object": "/" + key}}


def process(client: mps_client.MpsClient, params: dict[str, Any]) -> str:
    """ProcessMedia; the TaskId."""
    return str(client.ProcessMedia(request(models.ProcessMediaRequest, params)).TaskId)


def detail(client: mps_client.MpsClient, task_id: str) -> models.DescribeTaskDetailResponse:
    """DescribeTaskDetail."""
    return client.DescribeTaskDetail(request(models.DescribeTaskDetailRequest, {"TaskId": task_id}))


def wait_finish(client: mps_client.MpsClient, task_id: str, timeout: float = 90) -> models.DescribeTaskDetailResponse:
    """Poll DescribeTaskDetail until the task is FINISH."""
    deadline = time.monotonic() + timeout
    while True:
        resp = detail(client, task_id)
        if resp.Status == "FINISH":
            return resp
        if time.monotonic() > deadline:
            raise AssertionError(f"task {task_id} stuck in {resp.Status}")
        time.sleep(0.1)


def fetch(cos: CosS3Client, path: str, tmp_path: Path) -> Path:
    """Download an output (MPS paths start with /) to a local file."""
    local = tmp_path / path.strip("/").replace("/", "_")
    local.write_bytes(cos.get_object(Bucket=BUCKET, Key=path.lstrip("/"))["Body"].get_raw_stream().read())
    return local
