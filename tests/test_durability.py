"""kill -9 of the server: acknowledged jobs survive, a running job runs again after restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from qcloud_cos import CosS3Client

from ci_jobs.server import NODE  # noqa: F401 - import check only

from .conftest import BUCKET, clip_bytes, job_body, output, sdk, wait_job
from .harness import free_port


class Proc:
    """`python -m ci_jobs serve` as a child process on a fixed data dir."""

    def __init__(self, data: Path, port: int) -> None:
        self.data, self.port = data, port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        env = {**os.environ, "CI_JOBS_SCHEDULER_HEARTBEAT_SECONDS": "0.3", "CI_JOBS_SCHEDULER_LEASE_SECONDS": "5",
               "CI_JOBS_SCHEDULER_WORKERS": "1", "CI_JOBS_LOG_LEVEL": "WARNING",
               "CI_JOBS_SCHEDULER_STOP_GRACE_SECONDS": "0.5"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ci_jobs", "serve", "--port", str(self.port), "--data-dir", str(self.data)],
            env=env, cwd=self.data, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = sdk(self.port)
        deadline = time.monotonic() + 60
        while True:
            try:
                client.ci_get_media_queue(Bucket=BUCKET)
                return self
            except Exception:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise
                time.sleep(0.2)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)


def scratch_files(data: Path) -> list[str]:
    """Files left under the data dir's work/ (the live node's lock aside)."""
    work = data / "work"
    return sorted(str(p) for p in work.rglob("*") if p.is_file() and not p.name.endswith(".lock")) \
        if work.exists() else []


@pytest.fixture
def proc(tmp_path: Path) -> Iterator[Proc]:
    p = Proc(tmp_path, free_port())
    yield p
    p.stop()


def test_sigterm_three_times_during_a_job_spends_none_of_its_attempts(proc: Proc, tmp_path: Path) -> None:
    """Each graceful stop gives the running job back unspent: after three (max_attempts = 3, which three
    lost leases would exhaust) it still runs to Success, and no scratch file of the cut-off runs is left."""
    proc.start()
    client: CosS3Client = sdk(proc.port)
    client.put_object(Bucket=BUCKET, Key="in/long.mp4", Body=clip_bytes(tmp_path / "l.mp4", seconds=8,
                                                                        size="640x480"))
    op = {"Transcode": {"Container": {"Format": "mp4"}, "Video": {"Codec": "H.264", "Preset": "slower"}},
          "Output": output("out/after-stops.mp4")}
    job = client.ci_create_media_jobs(Bucket=BUCKET, Jobs=job_body("Transcode", "in/long.mp4", op))
    job_id = job["JobsDetail"][0]["JobId"]
    for _ in range(3):
        wait_job(client, job_id, until=frozenset({"Running"}))
        assert proc.proc is not None
        proc.proc.send_signal(signal.SIGTERM)
        assert proc.proc.wait(30) == 0
        proc.start()
    done = wait_job(client, job_id, timeout=120)
    assert done["State"] == "Success", done
    assert int(client.head_object(Bucket=BUCKET, Key="out/after-stops.mp4")["Content-Length"]) > 1000
    assert scratch_files(tmp_path) == []


def test_kill9_during_running_job_then_restart(proc: Proc, tmp_path: Path) -> None:
    proc.start()
    client: CosS3Client = sdk(proc.port)
    client.put_object(Bucket=BUCKET, Key="in/long.mp4", Body=clip_bytes(tmp_path / "l.mp4", seconds=8,
                                                                        size="640x480"))
    op = {"Transcode": {"Container": {"Format": "mp4"}, "Video": {"Codec": "H.264", "Preset": "slower"}},
          "Output": output("out/after-crash.mp4")}
    job = client.ci_create_media_jobs(Bucket=BUCKET, Jobs=job_body("Transcode", "in/long.mp4", op))
    job_id = job["JobsDetail"][0]["JobId"]
    wait_job(client, job_id, until=frozenset({"Running"}))
    proc.kill9()
    proc.start()
    done = wait_job(client, job_id, timeout=120)
    assert done["State"] == "Success", done
    head = client.head_object(Bucket=BUCKET, Key="out/after-crash.mp4")
    assert int(head["Content-Length"]) > 1000
    assert scratch_files(tmp_path) == []  # the killed run's staging folder was swept at restart


def test_acknowledged_jobs_survive_kill9(proc: Proc, tmp_path: Path) -> None:
    proc.start()
    client = sdk(proc.port)
    q = next(q for q in client.ci_get_media_queue(Bucket=BUCKET)["QueueList"] if q["Name"] == "queue-1")
    client.ci_update_media_queue(Bucket=BUCKET, QueueId=q["QueueId"],
                                 Request={"Name": "queue-1", "State": "Paused", "NotifyConfig": {"State": "Off"}})
    acked = []
    for i in range(20):
        resp = client.ci_create_media_jobs(Bucket=BUCKET, Jobs=job_body("MediaInfo", f"in/{i}.mp4", {}))
        acked.append(resp["JobsDetail"][0]["JobId"])
    proc.kill9()
    proc.start()
    found: list[str] = []
    for i in range(0, len(acked), 10):
        resp = client.ci_get_media_jobs(Bucket=BUCKET, JobIDs=",".join(acked[i:i + 10]))
        found += [d["JobId"] for d in resp["JobsDetail"]]
        assert {d["State"] for d in resp["JobsDetail"]} == {"Pause"}
    assert found == acked
