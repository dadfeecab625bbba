"""One ci-jobs server for the workflow tests of a module, the SDK on it, small clips and helpers."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest
from qcloud_cos import CosS3Client

from ci_jobs.server import create_app

from ..conftest import BUCKET, REGION, clip_bytes, make_settings, sdk
from ..harness import ServerThread
from ..listener import Listener


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    """Receives the callbacks of the module's workflows."""
    found = Listener().start()
    yield found
    found.stop()


@pytest.fixture(scope="module")
def wf_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """A server of its own for the module (uploads in it trigger only this module's workflows)."""
    data = tmp_path_factory.mktemp("wf")
    srv = ServerThread(lambda: create_app(make_settings(data))).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def wf(wf_server: ServerThread) -> CosS3Client:
    """The SDK against the module's server."""
    return sdk(wf_server.port)


@pytest.fixture(scope="module")
def small_clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A 1 s 160x120 H.264/AAC mp4."""
    return clip_bytes(tmp_path_factory.mktemp("c") / "c.mp4", seconds=1.0, size="160x120", rate=10)


def queue_id(client: CosS3Client) -> str:
    """The bucket's default queue."""
    return str(client.ci_get_media_queue(Bucket=BUCKET)["QueueList"][0]["QueueId"])


def out(key: str) -> dict[str, str]:
    """An Output in the demo bucket."""
    return {"Region": REGION, "Bucket": BUCKET, "Object": key}


def workflow_body(name: str, queue: str, prefix: str, deps: dict[str, str], nodes: dict[str, Any],
                  state: str = "Active", **start: Any) -> dict[str, Any]:
    """A MediaWorkflow body for the SDK."""
    return {"MediaWorkflow": {"Name": name, "State": state, "Topology": {
        "Dependencies": deps,
        "Nodes": {"Start": {"Type": "Start", "Input": {"QueueId": queue, "ObjectPrefix": prefix, **start}}, **nodes}}}}


def wait_execution(client: CosS3Client, run_id: str, timeout: float = 60) -> dict[str, Any]:
    """Poll an execution until it ends."""
    deadline = time.monotonic() + timeout
    while True:
        ex = client.ci_get_workflowexecution(Bucket=BUCKET, RunId=run_id)["WorkflowExecution"][0]
        if ex["State"] != "Running":
            return dict(ex)
        if time.monotonic() > deadline:
            raise AssertionError(f"execution {run_id} still Running: {ex}")
        time.sleep(0.1)


def executions(client: CosS3Client, workflow_id: str, **kw: Any) -> list[dict[str, Any]]:
    """Every execution of a workflow (one page of 100)."""
    page = client.ci_list_workflowexecution(Bucket=BUCKET, WorkflowId=workflow_id, Size=100, **kw)
    found = page.get("WorkflowExecutionList") or []
    return found if isinstance(found, list) else [found]


def wait_executions(client: CosS3Client, workflow_id: str, count: int, timeout: float = 30) -> list[dict[str, Any]]:
    """Poll until a workflow has `count` executions."""
    deadline = time.monotonic() + timeout
    while len(found := executions(client, workflow_id)) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{workflow_id}: {len(found)} executions, expected {count}")
        time.sleep(0.1)
    return found


def decode(client: CosS3Client, key: str, tmp: Path) -> av.container.InputContainer:
    """An output object opened with PyAV."""
    data = client.get_object(Bucket=BUCKET, Key=key)["Body"].get_raw_stream().read()
    return av.open(io.BytesIO(data))
