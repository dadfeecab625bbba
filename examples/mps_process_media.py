"""Transcode and snapshot a clip through the MPS API with the official MPS SDK — only the endpoint changed.

Run a server first (`make run`), then: `.venv/bin/python examples/mps_process_media.py`.
A 2 s test clip is generated with PyAV and uploaded with the COS SDK; ProcessMedia runs preset 100010
(360p H.264 MP4) and three snapshots; DescribeTaskDetail is polled until the task is FINISH.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time

from qcloud_cos import CosConfig, CosS3Client
from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.mps.v20190612 import models, mps_client

BUCKET = os.environ.get("CI_JOBS_BUCKET", "examplebucket-1250000000")
REGION = os.environ.get("CI_JOBS_REGION", "ap-guangzhou")
SECRET_ID = os.environ.get("CI_JOBS_SECRET_ID", "AKIDEXAMPLE")
SECRET_KEY = os.environ.get("CI_JOBS_SECRET_KEY", "EXAMPLEKEY")
ENDPOINT = f"{os.environ.get('CI_JOBS_IP', '127.0.0.1')}:{os.environ.get('CI_JOBS_PORT', '8080')}"


def make_clip(path: str) -> None:
    """A 2 s 320x240 test pattern."""
    import av

    with av.open(path, "w") as out:
        vs = out.add_stream("libx264", rate=25)
        vs.width, vs.height, vs.pix_fmt = 320, 240, "yuv420p"
        with av.open("testsrc2=size=320x240:rate=25:duration=2", format="lavfi") as src:
            for frame in src.decode(video=0):
                frame.pts = None
                out.mux(vs.encode(frame))
        out.mux(vs.encode())


def main() -> int:
    workdir = tempfile.mkdtemp()
    clip = os.path.join(workdir, "demo.mp4")
    make_clip(clip)
    host, port = ENDPOINT.rsplit(":", 1)
    cos = CosS3Client(CosConfig(Region=REGION, SecretId=SECRET_ID, SecretKey=SECRET_KEY, IP=host, Port=int(port),
                                Scheme="http"))
    cos.upload_file(Bucket=BUCKET, Key="input/demo.mp4", LocalFilePath=clip)

    # The only change from code that calls Tencent's MPS: the endpoint (and plain http on loopback).
    mps = mps_client.MpsClient(credential.Credential(SECRET_ID, SECRET_KEY), REGION,
                               ClientProfile(httpProfile=HttpProfile(endpoint=ENDPOINT, protocol="http")))
    req = models.ProcessMediaRequest()
    req.from_json_string(json.dumps({
        "InputInfo": {"Type": "COS", "CosInputInfo": {"Bucket": BUCKET, "Region": REGION,
                                                      "Object": "/input/demo.mp4"}},
        "OutputDir": "/output/mps/",
        "MediaProcessTask": {
            "TranscodeTaskSet": [{"Definition": 100010}],
            "SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["0s", "0.5s", "1s"]}],
        },
    }))
    task_id = mps.ProcessMedia(req).TaskId
    print("submitted", task_id)
    ask = models.DescribeTaskDetailRequest()
    ask.TaskId = task_id
    while (detail := mps.DescribeTaskDetail(ask)).Status != "FINISH":
        print("  ", detail.Status)
        time.sleep(0.5)
    for result in detail.WorkflowTask.MediaProcessResultSet:
        sub = result.TranscodeTask or result.SnapshotByTimeOffsetTask
        if sub.Status != "SUCCESS":
            print("failed:", result.Type, sub.ErrCodeExt, sub.Message)
            return 1
        paths = ([sub.Output.Path] if result.Type == "Transcode"
                 else [p.Path for p in sub.Output.PicInfoSet])
        for path in paths:
            target = os.path.join(workdir, os.path.basename(path))
            cos.download_file(Bucket=BUCKET, Key=path.lstrip("/"), DestFilePath=target)
            print("downloaded", result.Type, target, os.path.getsize(target), "bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
