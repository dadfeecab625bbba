"""kill -9 of a real `ci-jobs serve` process: an acknowledged upload's execution runs after restart, a node's
job killed mid-run runs again, one WorkflowFinish arrives; a 500-object batch job survives a restart
midway with exact counts and flat memory (the server's peak RSS is printed)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import BUCKET, clip_bytes, sdk
from ..harness import free_port
from ..listener import Listener
from ..test_durability import Proc
from .conftest import out, queue_id, wait_execution, wait_executions, workflow_body


@pytest.fixture
def proc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Proc]:
    monkeypatch.setenv("CI_JOBS_CALLBACKS_ALLOW_LOOPBACK", "1")  # the child inherits it: callbacks to the listener
    monkeypatch.setenv("CI_JOBS_CALLBACKS_RETRY_BASE", "0.2")
    monkeypatch.setenv("CI_JOBS_CALLBACKS_POLL_SECONDS", "0.2")
    monkeypatch.setenv("CI_JOBS_SCHEDULER_POLL_SECONDS", "0.5")
    p = Proc(tmp_path, free_port())
    yield p
    p.stop()


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


@pytest.fixture
def early_listener() -> Iterator[Listener]:
    """Bound before `proc` picks its port, so the two cannot draw the same free port."""
    found = Listener().start()
    yield found
    found.stop()


def test_kill9_after_upload_and_during_a_node(early_listener: Listener, proc: Proc, tmp_path: Path) -> None:
    listener = early_listener
    if True:
        proc.start()
        client = sdk(proc.port)
        slow = {"Type": "Transcode", "Operation": {
            "Transcode": {"Container": {"Format": "mp4"}, "Video": {"Codec": "H.264", "Preset": "slower"}},
            "Output": out("dur/${InputName}.${Ext}")}}
        info = {"Type": "MediaInfo", "Operation": {}}
        body = workflow_body("dur-1", queue_id(client), "in/",
                             {"Start": "Transcode_1", "Transcode_1": "MediaInfo_1", "MediaInfo_1": "End"},
                             {"Transcode_1": slow, "MediaInfo_1": info},
                             NotifyConfig={"Type": "Url", "Url": listener.url, "Event": "WorkflowFinish"})
        wid = client.ci_create_workflow(Bucket=BUCKET, Body=body)["MediaWorkflow"]["WorkflowId"]
        clip = clip_bytes(tmp_path / "c.mp4", seconds=6, size="640x480")
        client.put_object(Bucket=BUCKET, Key="in/first.mp4", Body=clip)
        proc.kill9()  # right after the 200: the execution may not have started yet
        proc.start()
        first = wait_executions(client, wid, 1)[0]["RunId"]
        assert wait_execution(client, first, timeout=120)["State"] == "Success"
        client.put_object(Bucket=BUCKET, Key="in/second.mp4", Body=clip)
        second = wait_executions(client, wid, 2)[0]["RunId"]
        deadline = time.monotonic() + 60
        while True:  # kill while the Transcode node's job runs
            ex = client.ci_get_workflowexecution(Bucket=BUCKET, RunId=second)["WorkflowExecution"][0]
            tasks = ex.get("Tasks") or []
            if any(t["State"] == "Running" for t in (tasks if isinstance(tasks, list) else [tasks])):
                break
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.kill9()
        proc.start()
        done = wait_execution(client, second, timeout=120)
        assert done["State"] == "Success", done
        for t in done["Tasks"]:
            job = client.ci_get_media_jobs(Bucket=BUCKET, JobIDs=t["JobId"])["JobsDetail"][0]
            assert job["State"] == "Success"
        assert {t["Name"] for t in done["Tasks"]} == {"Transcode_1", "MediaInfo_1"}
        listener.wait(2, timeout=60)
        time.sleep(1.0)
        finishes = [cb["body"].decode() for cb in listener.received]
        per_run = {r: sum(f"<RunId>{r}</RunId>" in b for b in finishes) for r in (first, second)}
        print(f"WorkflowFinish callbacks per execution (at-least-once): {per_run}")
        assert all(n >= 1 for n in per_run.values())


def test_batch_of_500_survives_a_restart_with_exact_counts(proc: Proc, tmp_path: Path) -> None:
    proc.start()
    client = sdk(proc.port)
    clip = clip_bytes(tmp_path / "t.mp4", seconds=0.2, size="64x64", rate=5, audio=False)
    for i in range(480):
        client.put_object(Bucket=BUCKET, Key=f"many/{i:04d}.mp4", Body=clip)
    for i in range(20):
        client.put_object(Bucket=BUCKET, Key=f"many/bad-{i:02d}.mp4", Body=b"\0" * 64)
    client.put_object(Bucket=BUCKET, Key="other/not-listed.mp4", Body=clip)
    body = {"Name": "five-hundred", "Type": "Job", "Input": {"Prefix": "many/"},
            "Operation": {"Tag": "MediaInfo", "JobParam": {}, "QueueId": queue_id(client)}}
    batch_id = client.ci_create_inventory_trigger_jobs(Bucket=BUCKET, JobBody=body)["JobsDetail"][0]["JobId"]
    assert batch_id.startswith("b")
    deadline = time.monotonic() + 60
    while True:  # restart midway through the listing
        got = client.ci_get_inventory_trigger_jobs(Bucket=BUCKET, JobID=batch_id)["JobsDetail"][0]
        if 100 <= int(got["Counts"]["Submitted"]) < 500:
            break
        assert int(got["Counts"]["Submitted"]) < 500, "batch finished listing before the restart"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.kill9()
    proc.start()
    assert proc.proc is not None
    deadline = time.monotonic() + 90
    while True:
        got = client.ci_get_inventory_trigger_jobs(Bucket=BUCKET, JobID=batch_id)["JobsDetail"][0]
        if got["State"] != "Running" and got["State"] != "Submitted":
            break
        assert time.monotonic() < deadline, got
        time.sleep(0.2)
    counts = got["Counts"]
    assert got["State"] == "Success", got
    assert (counts["Found"], counts["Submitted"], counts["Succeeded"], counts["Failed"]) == ("500", "500", "480", "20")
    listed = client.ci_list_inventory_trigger_jobs(Bucket=BUCKET, Type="Job")
    assert listed["JobsDetail"][0]["JobId"] == batch_id
    print(f"batch of 500: server peak RSS after restart {peak_rss_kib(proc.proc.pid) / 1024:.1f} MiB")
