"""Upload a clip, transcode it to 720p H.264, poll until done, download the result — with the official SDK.

Run a server first (`make run`), then: `.venv/bin/python examples/sdk_transcode.py [input.mp4]`.
Without an input file, a 3 s test clip is generated with PyAV.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

from qcloud_cos import CosConfig, CosS3Client

BUCKET = os.environ.get("CI_JOBS_BUCKET", "examplebucket-1250000000")
REGION = os.environ.get("CI_JOBS_REGION", "ap-guangzhou")


def make_clip(path: str) -> None:
    """A 3 s 1280x720 test pattern with a tone."""
    import av

    with av.open(path, "w") as out:
        vs = out.add_stream("libx264", rate=25)
        vs.width, vs.height, vs.pix_fmt = 1280, 720, "yuv420p"
        with av.open("testsrc2=size=1280x720:rate=25:duration=3", format="lavfi") as src:
            for frame in src.decode(video=0):
                frame.pts = None
                out.mux(vs.encode(frame))
        out.mux(vs.encode())


def main() -> int:
    client = CosS3Client(CosConfig(
        Region=REGION, SecretId=os.environ.get("CI_JOBS_SECRET_ID", "AKIDEXAMPLE"),
        SecretKey=os.environ.get("CI_JOBS_SECRET_KEY", "EXAMPLEKEY"),
        IP=os.environ.get("CI_JOBS_IP", "127.0.0.1"), Port=int(os.environ.get("CI_JOBS_PORT", "8080")),
        Scheme="http"))
    workdir = tempfile.mkdtemp()
    source = sys.argv[1] if len(sys.argv) > 1 else os.path.join(workdir, "demo.mp4")
    if len(sys.argv) == 1:
        make_clip(source)
    client.upload_file(Bucket=BUCKET, Key="input/demo.mp4", LocalFilePath=source)
    job = client.ci_create_media_jobs(Bucket=BUCKET, Jobs={
        "Tag": "Transcode",
        "Input": {"Object": "input/demo.mp4"},
        "Operation": {
            "Transcode": {"Container": {"Format": "mp4"},
                          "Video": {"Codec": "H.264", "Height": "720", "Crf": "23"},
                          "Audio": {"Codec": "aac"}},
            "Output": {"Region": REGION, "Bucket": BUCKET, "Object": "output/demo-720p.${ext}"},
        },
    })["JobsDetail"][0]
    print("submitted", job["JobId"])
    while job["State"] not in ("Success", "Failed", "Cancel"):
        time.sleep(0.5)
        job = client.ci_get_media_jobs(Bucket=BUCKET, JobIDs=job["JobId"])["JobsDetail"][0]
        print(f"  {job['State']} {job['Progress']}%")
    if job["State"] != "Success":
        print("failed:", job["Code"], job["Message"])
        return 1
    key = job["Operation"]["MediaResult"]["OutputFile"]["ObjectName"]
    target = os.path.join(workdir, os.path.basename(key))
    client.download_file(Bucket=BUCKET, Key=key, DestFilePath=target)
    print("downloaded", target, os.path.getsize(target), "bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
