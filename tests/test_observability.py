"""What an operator sees: /-/metrics (Prometheus text) moving with a job, /-/ready, access and job
lifecycle log lines with no secret in them, and JSON logs."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from qcloud_cos import CosS3Client

from ci_jobs.server import create_app

from .conftest import BUCKET, clip_bytes, job_body, make_settings, output, sdk, wait_job
from .harness import ServerThread, free_port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    srv = ServerThread(lambda: create_app(make_settings(tmp_path_factory.mktemp("observed")))).start()
    yield srv
    srv.stop()


def scrape(port: int) -> dict[str, list[tuple[dict[str, str], float]]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/metrics", timeout=10) as resp:
        assert resp.headers["Content-Type"].startswith("text/plain; version=")
        text = resp.read().decode()
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return found


def value(found: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    return sum(v for lab, v in found.get(name, []) if all(lab.get(k) == want for k, want in labels.items()))


def test_metrics_parse_and_move_with_a_job(server: ServerThread, tmp_path: Path,
                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    client: CosS3Client = sdk(server.port)
    before = scrape(server.port)
    client.put_object(Bucket=BUCKET, Key="obs/in.mp4", Body=clip_bytes(tmp_path / "c.mp4", seconds=1, size="160x120"))
    ok = client.ci_create_media_jobs(Bucket=BUCKET, Jobs=job_body(
        "Snapshot", "obs/in.mp4", {"Snapshot": {"Mode": "Interval", "Count": "1"}, "Output": output("obs/s.jpg")}))
    bad = client.ci_create_media_jobs(Bucket=BUCKET, Jobs=job_body(
        "Snapshot", "obs/missing.mp4", {"Snapshot": {"Mode": "Interval", "Count": "1"}, "Output": output("obs/t.jpg")}))
    ok_id, bad_id = ok["JobsDetail"][0]["JobId"], bad["JobsDetail"][0]["JobId"]
    assert wait_job(client, ok_id)["State"] == "Success" and wait_job(client, bad_id)["State"] == "Failed"
    after = scrape(server.port)
    assert value(after, "ci_jobs_job_duration_seconds_count", tag="Snapshot", state="Success") == \
        value(before, "ci_jobs_job_duration_seconds_count", tag="Snapshot", state="Success") + 1
    assert value(after, "ci_jobs_job_failures_total", tag="Snapshot", code="InputNotFound") == \
        value(before, "ci_jobs_job_failures_total", tag="Snapshot", code="InputNotFound") + 1
    assert value(after, "ci_jobs_jobs", bucket=BUCKET, state="Success") >= 1
    assert value(after, "ci_jobs_jobs", state="Failed") >= 1 and "ci_jobs_jobs_waiting" in after
    assert value(after, "ci_jobs_http_requests_total", protocol="ci", method="POST", status="200") >= 2
    assert value(after, "ci_jobs_http_requests_total", protocol="cos", method="PUT", status="200") >= 1
    assert value(after, "ci_jobs_http_request_duration_seconds_count", protocol="ci") >= 2
    assert "ci_jobs_outbox_pending" in after and "ci_jobs_outbox_dead" in after
    lines = [r.getMessage() for r in caplog.records]
    access = [m for m in lines if "PUT /obs/in.mp4 200" in m]
    assert access and " cos " in access[0]
    assert any(f"job {ok_id} submitted: Snapshot of {BUCKET}" in m for m in lines)
    assert any(f"job {ok_id} started: Snapshot" in m for m in lines)
    assert any(f"job {ok_id} finished: Success" in m for m in lines)
    assert any(f"job {bad_id} finished: Failed InputNotFound" in m for m in lines)
    assert not any("q-signature" in m or "q-sign-algorithm" in m for m in lines)  # no signature is logged


def test_ready_answers_once_the_node_has_started(server: ServerThread) -> None:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/-/ready", timeout=10) as resp:
        assert resp.status == 200 and json.load(resp) == {"status": "ready"}


def test_json_log_format_writes_one_object_per_line(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CI_JOBS_")}
    proc = subprocess.Popen([sys.executable, "-m", "ci_jobs", "serve", "--log-format", "json", "--port", str(port),
                             "--data-dir", str(tmp_path)], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/-/health?probe=1", timeout=2).close()
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.2)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    records = [json.loads(line) for line in err.splitlines() if line.strip()]
    (hit,) = [r for r in records if r.get("path") == "/-/health" and r.get("status") == 200][:1]
    assert hit["logger"] == "ci_jobs.access" and hit["level"] == "INFO" and hit["method"] == "GET"
    assert "probe" not in json.dumps(hit)  # the query string is never written
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
