"""POST /jobs, GET /jobs, cancel and queues, driven by the official SDK against a live server."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import av
import pytest
from qcloud_cos import CosConfig, CosS3Client
from qcloud_cos.cos_exception import CosServiceError

from ci_jobs.server import NODE

from .conftest import BUCKET, REGION, SECRET_ID, SECRET_KEY, clip_bytes, job_body, output, sdk, wait_job
from .harness import ServerThread


@pytest.fixture(scope="module")
def uploaded(client: CosS3Client, clip: bytes) -> str:
    client.put_object(Bucket=BUCKET, Key="input/demo clip.mp4", Body=clip)
    return "input/demo clip.mp4"


def submit(client: CosS3Client, body: dict[str, Any]) -> dict[str, Any]:
    return dict(client.ci_create_media_jobs(Bucket=BUCKET, Jobs=body)["JobsDetail"][0])


def fetch(client: CosS3Client, key: str, tmp_path: Path) -> Path:
    path = tmp_path / key.replace("/", "_")
    path.write_bytes(client.get_object(Bucket=BUCKET, Key=key)["Body"].get_raw_stream().read())
    return path


def queue_by_name(client: CosS3Client, name: str) -> dict[str, Any]:
    resp = client.ci_get_media_queue(Bucket=BUCKET, PageSize="100")
    return next(q for q in resp["QueueList"] if q["Name"] == name)


def set_queue(client: CosS3Client, name: str, state: str, notify: dict[str, str] | None = None) -> dict[str, Any]:
    q = queue_by_name(client, name)
    req = {"Name": name, "State": state, "NotifyConfig": notify or {"State": "Off"}}
    return dict(client.ci_update_media_queue(Bucket=BUCKET, QueueId=q["QueueId"], Request=req)["Queue"][0])


def test_transcode_end_to_end(client: CosS3Client, uploaded: str, tmp_path: Path) -> None:
    op = {"Transcode": {"Container": {"Format": "mp4"}, "Video": {"Codec": "H.264", "Width": "160"},
                        "Audio": {"Codec": "aac"}},
          "Output": output("output/${jobid}.${ext}"), "UserData": "hello", "JobLevel": "1"}
    detail = submit(client, job_body("Transcode", uploaded, op))
    assert detail["State"] == "Submitted" and detail["JobId"].startswith("j") and len(detail["JobId"]) == 33
    assert detail["Input"]["Object"] == uploaded and detail["Input"]["BucketId"] == BUCKET
    assert detail["Operation"]["UserData"] == "hello"
    done = wait_job(client, detail["JobId"])
    assert done["State"] == "Success", done
    assert done["Progress"] == "100" and done["EndTime"] != "-"
    result = done["Operation"]["MediaResult"]["OutputFile"]
    key = f"output/{detail['JobId']}.mp4"
    assert result["ObjectName"] == key and result["Bucket"] == BUCKET
    assert done["Operation"]["Output"]["Object"] == "output/${jobid}.${ext}"
    with av.open(str(fetch(client, key, tmp_path))) as c:
        v = c.streams.video[0]
        assert (v.codec_context.name, v.codec_context.width, v.codec_context.height) == ("h264", 160, 120)
        assert c.streams.audio and abs(float(c.duration) / 1e6 - 2.0) < 0.2
    assert float(done["Operation"]["MediaInfo"]["Format"]["Duration"]) == pytest.approx(2.0, abs=0.2)


def test_snapshot_numbered_outputs(client: CosS3Client, uploaded: str, tmp_path: Path) -> None:
    op = {"Snapshot": {"Mode": "Interval", "Start": "0", "TimeInterval": "0.5", "Count": "3", "Width": "128"},
          "Output": output("snap/shot-${Number}.jpg")}
    done = wait_job(client, submit(client, job_body("Snapshot", uploaded, op))["JobId"])
    assert done["State"] == "Success", done
    names = done["Operation"]["MediaResult"]["OutputFile"]["ObjectName"]
    assert names == ["snap/shot-0.jpg", "snap/shot-1.jpg", "snap/shot-2.jpg"]
    for name in names:
        with av.open(str(fetch(client, name, tmp_path))) as c:
            frame = next(c.decode(video=0))
            assert frame.width == 128


def test_animation_gif(client: CosS3Client, uploaded: str, tmp_path: Path) -> None:
    op = {"Animation": {"Container": {"Format": "gif"}, "Video": {"Codec": "gif", "Width": "160", "Fps": "5"},
                        "TimeInterval": {"Start": "0", "Duration": "1"}},
          "Output": output("anim/out.${ext}")}
    done = wait_job(client, submit(client, job_body("Animation", uploaded, op))["JobId"])
    assert done["State"] == "Success", done
    with av.open(str(fetch(client, "anim/out.gif", tmp_path))) as c:
        frames = list(c.decode(video=0))
        assert frames[0].width == 160 and 3 <= len(frames) <= 7


def test_mediainfo_job(client: CosS3Client, uploaded: str) -> None:
    done = wait_job(client, submit(client, job_body("MediaInfo", uploaded, {}))["JobId"])
    assert done["State"] == "Success", done
    info = done["Operation"]["MediaInfo"]
    assert info["Stream"]["Video"]["CodecName"] == "h264" and info["Stream"]["Video"]["Width"] == "320"
    assert info["Stream"]["Audio"]["SampleRate"] == "44100"


@pytest.mark.parametrize(("body_op", "fragment"), [
    ({"Transcode": {"Container": {"Format": "mp4"}}, "Output": {"Region": REGION, "Object": "o.mp4"}},
     "Request.Operation.Output.Bucket is required"),
    ({"Transcode": {"Container": {"Format": "flv"}, "Video": {"Codec": "VP9"}}, "Output": output("o.flv")},
     "flv"),
    ({"Transcode": {"Container": {"Format": "mp4"}}, "Output": output("o.mp4"), "JobLevel": "7"},
     "JobLevel"),
    ({"Transcode": {"Container": {"Format": "mp4"}}, "Output": output("../../etc/passwd")}, "Object"),
])
def test_invalid_bodies_are_refused(client: CosS3Client, uploaded: str, body_op: dict[str, Any],
                                    fragment: str) -> None:
    with pytest.raises(CosServiceError) as err:
        client.ci_create_media_jobs(Bucket=BUCKET, Jobs=job_body("Transcode", uploaded, body_op))
    assert err.value.get_status_code() == 400
    assert err.value.get_error_code() == "InvalidArgument"
    assert fragment in err.value.get_error_msg()
    assert err.value.get_request_id()


def test_unknown_tag_and_malformed_xml(client: CosS3Client, server: ServerThread) -> None:
    with pytest.raises(CosServiceError) as err:
        client.ci_create_media_jobs(Bucket=BUCKET, Jobs={"Tag": "Teleport", "Input": {"Object": "a"}})
    assert err.value.get_error_code() == "InvalidArgument" and "Teleport" in err.value.get_error_msg()


def test_describe_with_missing_ids_and_list_paging(client: CosS3Client, uploaded: str) -> None:
    made = [submit(client, job_body("MediaInfo", uploaded, {}))["JobId"] for _ in range(3)]
    for job_id in made:
        wait_job(client, job_id)
    missing = "j" + "0" * 32
    resp = client.ci_get_media_jobs(Bucket=BUCKET, JobIDs=f"{made[0]},{missing}")
    assert [d["JobId"] for d in resp["JobsDetail"]] == [made[0]]
    assert missing in resp["NonExistJobIds"]
    seen: list[str] = []
    token = ""
    for _ in range(20):
        page = client.ci_list_media_jobs(Bucket=BUCKET, Tag="MediaInfo", Size=2, NextToken=token)
        seen += [d["JobId"] for d in page.get("JobsDetail", [])]
        token = page.get("NextToken") or ""
        if not token:
            break
    assert set(made) <= set(seen) and len(seen) == len(set(seen))
    asc = client.ci_list_media_jobs(Bucket=BUCKET, Tag="MediaInfo", OrderByTime="Asc", Size=100,
                                    States="Success")
    ids_asc = [d["JobId"] for d in asc["JobsDetail"]]
    assert ids_asc.index(made[0]) < ids_asc.index(made[2])


def test_pause_resume_and_joblevel_order(client: CosS3Client, server: ServerThread, uploaded: str) -> None:
    q = set_queue(client, "serial", "Paused")
    assert q["State"] == "Paused"
    jobs = []
    for level in ("0", "2", "1", "2"):
        body = job_body("MediaInfo", uploaded, {"JobLevel": level}, QueueId=q["QueueId"])
        jobs.append(submit(client, body))
    assert all(j["State"] == "Pause" for j in jobs)
    time.sleep(0.5)
    states = client.ci_get_media_jobs(Bucket=BUCKET, JobIDs=",".join(j["JobId"] for j in jobs))
    assert {d["State"] for d in states["JobsDetail"]} == {"Pause"}
    assert set_queue(client, "serial", "Active")["State"] == "Active"
    for j in jobs:
        assert wait_job(client, j["JobId"])["State"] == "Success"
    assert server.app is not None
    node = server.app[NODE]
    records = server.call(node.store.get_jobs(BUCKET, [j["JobId"] for j in jobs]))
    order = [r.job_id for r in sorted(records, key=lambda r: r.started or 0)]
    assert order == [jobs[1]["JobId"], jobs[3]["JobId"], jobs[2]["JobId"], jobs[0]["JobId"]]


def test_queue_listing_and_errors(client: CosS3Client) -> None:
    resp = client.ci_get_media_queue(Bucket=BUCKET)
    names = [q["Name"] for q in resp["QueueList"]]
    assert "queue-1" in names and "serial" in names
    assert all(q["QueueId"].startswith("p") for q in resp["QueueList"])
    missing = "p" + "f" * 32
    resp = client.ci_get_media_queue(Bucket=BUCKET, QueueIds=missing)
    assert missing in str(resp.get("NonExistPIDs"))
    with pytest.raises(CosServiceError) as err:
        client.ci_update_media_queue(Bucket=BUCKET, QueueId=missing,
                                     Request={"Name": "x", "State": "Active", "NotifyConfig": {"State": "Off"}})
    assert err.value.get_status_code() == 404
    with pytest.raises(CosServiceError) as err:
        set_queue(client, "queue-1", "Sleeping")
    assert err.value.get_error_code() == "InvalidArgument"


def test_cancel_waiting_and_running(client: CosS3Client, uploaded: str, tmp_path: Path) -> None:
    q = set_queue(client, "serial", "Paused")
    waiting = submit(client, job_body("MediaInfo", uploaded, {}, QueueId=q["QueueId"]))
    client.ci_cancel_jobs(Bucket=BUCKET, JobID=waiting["JobId"])
    set_queue(client, "serial", "Active")
    assert wait_job(client, waiting["JobId"])["State"] == "Cancel"
    big = clip_bytes(tmp_path / "long.mp4", seconds=20, size="640x480")
    client.put_object(Bucket=BUCKET, Key="input/long.mp4", Body=big)
    op = {"Transcode": {"Container": {"Format": "mp4"}, "Video": {"Codec": "H.265", "Preset": "slow"}},
          "Output": output("output/cancelled.mp4")}
    running = submit(client, job_body("Transcode", "input/long.mp4", op))
    wait_job(client, running["JobId"], until=frozenset({"Running"}))
    deadline = time.monotonic() + 30
    while int(client.ci_get_media_jobs(Bucket=BUCKET, JobIDs=running["JobId"])["JobsDetail"][0]["Progress"]) == 0:
        assert time.monotonic() < deadline, "no progress reported while running"
        time.sleep(0.1)
    started = time.monotonic()
    client.ci_cancel_jobs(Bucket=BUCKET, JobID=running["JobId"])
    final = wait_job(client, running["JobId"], timeout=10)
    assert final["State"] == "Cancel" and time.monotonic() - started < 4
    with pytest.raises(CosServiceError):
        client.head_object(Bucket=BUCKET, Key="output/cancelled.mp4")


def test_corrupt_and_missing_inputs_fail_only_their_job(client: CosS3Client) -> None:
    client.put_object(Bucket=BUCKET, Key="input/corrupt.mp4", Body=b"\x00\x00\x00\x18ftypmp42" + b"junk" * 500)
    op = {"Transcode": {"Container": {"Format": "mp4"}}, "Output": output("output/never.mp4")}
    bad = wait_job(client, submit(client, job_body("Transcode", "input/corrupt.mp4", op))["JobId"])
    assert bad["State"] == "Failed" and bad["Code"] == "InvalidInput" and bad["Message"]
    gone = wait_job(client, submit(client, job_body("Transcode", "input/nope.mp4", op))["JobId"])
    assert gone["State"] == "Failed" and gone["Code"] == "InputNotFound" and "input/nope.mp4" in gone["Message"]


def test_proxy_mode_and_wrong_key(server: ServerThread, uploaded: str) -> None:
    proxied = CosS3Client(CosConfig(Region=REGION, SecretId=SECRET_ID, SecretKey=SECRET_KEY, Scheme="http",
                                    Proxies={"http": server.endpoint}), retry=0)
    done = wait_job(proxied, submit(proxied, job_body("MediaInfo", uploaded, {}))["JobId"])
    assert done["State"] == "Success"
    bad = sdk(server.port, SecretKey="wrong")
    with pytest.raises(CosServiceError) as err:
        bad.ci_get_media_queue(Bucket=BUCKET)
    assert err.value.get_status_code() == 403 and err.value.get_error_code() == "SignatureDoesNotMatch"
    other = sdk(server.port)
    with pytest.raises(CosServiceError) as err:
        other.ci_get_media_queue(Bucket="otherbucket-1250000000")
    assert err.value.get_error_code() == "NoSuchBucket"


def test_unsigned_request_refused(server: ServerThread) -> None:
    import requests

    resp = requests.get(server.endpoint + "/jobs?tag=Transcode", timeout=5)
    assert resp.status_code == 403 and b"<Code>AccessDenied</Code>" in resp.content
    assert resp.headers["x-ci-request-id"]
    assert requests.get(server.endpoint + "/-/health", timeout=5).json() == {"status": "ok"}


def test_body_size_bounded(client: CosS3Client, uploaded: str) -> None:
    big = "x" * (2 << 20)
    with pytest.raises(CosServiceError) as err:
        client.ci_create_media_jobs(Bucket=BUCKET, Jobs=job_body("MediaInfo", uploaded, {"UserData": big}))
    assert err.value.get_status_code() == 400


