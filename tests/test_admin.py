"""The opt-in admin reset endpoint and the health endpoint, for emulator-style test users."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from qcloud_cos.cos_exception import CosServiceError

from ci_jobs.server import create_app

from .conftest import BUCKET, job_body, make_settings, sdk, wait_job
from .harness import ServerThread
from .signing import signed


def test_reset_wipes_jobs_objects_and_queue_settings(tmp_path: Path, clip: bytes) -> None:
    srv = ServerThread(lambda: create_app(make_settings(tmp_path))).start()
    try:
        client = sdk(srv.port)
        client.put_object(Bucket=BUCKET, Key="a/clip.mp4", Body=clip)
        job = client.ci_create_media_jobs(Bucket=BUCKET, Jobs=job_body("MediaInfo", "a/clip.mp4", {}))
        job_id = job["JobsDetail"][0]["JobId"]
        wait_job(client, job_id)
        q = client.ci_get_media_queue(Bucket=BUCKET)["QueueList"][0]
        client.ci_update_media_queue(Bucket=BUCKET, QueueId=q["QueueId"],
                                     Request={"Name": q["Name"], "State": "Paused", "NotifyConfig": {"State": "Off"}})
        headers = signed("POST", "/-/reset", f"127.0.0.1:{srv.port}")
        assert requests.post(srv.endpoint + "/-/reset", headers=headers, timeout=10).json() == {"status": "reset"}
        resp = client.ci_get_media_jobs(Bucket=BUCKET, JobIDs=job_id)
        assert job_id in str(resp.get("NonExistJobIds")) and not resp.get("JobsDetail")
        with pytest.raises(CosServiceError):
            client.head_object(Bucket=BUCKET, Key="a/clip.mp4")
        q2 = client.ci_get_media_queue(Bucket=BUCKET)["QueueList"][0]
        assert q2["QueueId"] == q["QueueId"] and q2["State"] == "Active"
    finally:
        srv.stop()


def test_reset_is_absent_unless_enabled(tmp_path: Path) -> None:
    srv = ServerThread(lambda: create_app(make_settings(tmp_path, admin=False))).start()
    try:
        assert requests.post(srv.endpoint + "/-/reset", timeout=10).status_code == 404
        assert requests.get(srv.endpoint + "/-/health", timeout=10).status_code == 200
    finally:
        srv.stop()
