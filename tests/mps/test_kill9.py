"""kill -9 of the server during an MPS task: after a restart the task's job runs again and the task finishes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import av
import pytest

from ..conftest import BUCKET, clip_bytes, sdk
from ..harness import free_port
from ..test_durability import Proc
from .conftest import cos_input, detail, fetch, mps, process, wait_finish


@pytest.fixture
def proc(tmp_path: Path) -> Iterator[Proc]:
    p = Proc(tmp_path, free_port())
    yield p
    p.stop()


def test_kill9_during_an_mps_task_finishes_after_restart(proc: Proc, tmp_path: Path) -> None:
    proc.start()
    cos = sdk(proc.port)
    cos.put_object(Bucket=BUCKET, Key="mps/in/long.mp4", Body=clip_bytes(tmp_path / "l.mp4", seconds=6,
                                                                        size="640x480"))
    client = mps(proc.port)
    task_id = process(client, {"InputInfo": cos_input("mps/in/long.mp4"), "OutputDir": "/mps/k9/",
                               "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 100030}]}})
    deadline = time.monotonic() + 60
    while detail(client, task_id).Status != "PROCESSING":  # the job is running: kill the node under it
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.kill9()
    proc.start()
    client = mps(proc.port)
    resp = wait_finish(client, task_id, timeout=120)
    task = resp.WorkflowTask.MediaProcessResultSet[0].TranscodeTask
    assert (resp.Status, task.Status) == ("FINISH", "SUCCESS"), task.Message
    with av.open(str(fetch(sdk(proc.port), task.Output.Path, tmp_path))) as c:
        assert c.streams.video[0].codec_context.height == 720
        assert float(c.duration or 0) / 1e6 == pytest.approx(6.0, abs=0.3)
