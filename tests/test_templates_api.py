"""Templates (create/list/update/delete, Official presets) and multi-Operation jobs, through the SDK."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import pytest
from qcloud_cos import CosS3Client
from qcloud_cos.cos_exception import CosServiceError

from .conftest import BUCKET, job_body, output, wait_job
from .test_jobs_api import fetch, submit


@pytest.fixture(scope="module")
def media(client: CosS3Client, clip: bytes) -> str:
    client.put_object(Bucket=BUCKET, Key="tpl/in.mp4", Body=clip)
    return "tpl/in.mp4"


def create(client: CosS3Client, body: dict[str, Any]) -> dict[str, Any]:
    return dict(client.ci_create_template(Bucket=BUCKET, Template=body)["Template"])


def test_transcode_template_lifecycle_and_use(client: CosS3Client, media: str, tmp_path: Path) -> None:
    t = create(client, {"Tag": "Transcode", "Name": "small-h264",
                        "Container": {"Format": "mp4"}, "Video": {"Codec": "H.264", "Width": "128"},
                        "Audio": {"Codec": "aac"}})
    assert t["TemplateId"].startswith("t1") and t["Category"] == "Custom" and t["Tag"] == "Transcode"
    assert t["TransTpl"]["Video"]["Width"] == "128"
    listed = client.ci_get_template(Bucket=BUCKET, Ids=t["TemplateId"])
    assert listed["TotalCount"] == "1" and listed["TemplateList"][0]["Name"] == "small-h264"
    # TemplateId wins over the inline container
    op = {"TemplateId": t["TemplateId"],
          "Transcode": {"Container": {"Format": "mp4"}, "Video": {"Codec": "H.264", "Width": "320"}},
          "Output": output("tpl/out.mp4")}
    done = wait_job(client, submit(client, job_body("Transcode", media, op))["JobId"])
    assert done["State"] == "Success", done
    assert done["Operation"]["TemplateId"] == t["TemplateId"] and done["Operation"]["TemplateName"] == "small-h264"
    with av.open(str(fetch(client, "tpl/out.mp4", tmp_path))) as c:
        assert c.streams.video[0].codec_context.width == 128
    updated = client.ci_update_template(Bucket=BUCKET, TemplateId=t["TemplateId"], Template={
        "Tag": "Transcode", "Name": "small-h264-v2", "Container": {"Format": "mp4"},
        "Video": {"Codec": "H.264", "Width": "160"}})["Template"]
    assert updated["Name"] == "small-h264-v2" and updated["TransTpl"]["Video"]["Width"] == "160"
    assert client.ci_delete_template(Bucket=BUCKET, TemplateId=t["TemplateId"])["TemplateId"] == t["TemplateId"]
    with pytest.raises(CosServiceError) as err:
        client.ci_delete_template(Bucket=BUCKET, TemplateId=t["TemplateId"])
    assert err.value.get_status_code() == 404


def test_invalid_template_is_refused_with_its_path(client: CosS3Client) -> None:
    with pytest.raises(CosServiceError) as err:
        create(client, {"Tag": "Transcode", "Name": "bad", "Container": {"Format": "flv"},
                        "Video": {"Codec": "VP9"}})
    assert err.value.get_error_code() == "InvalidArgument" and "flv" in err.value.get_error_msg()
    with pytest.raises(CosServiceError) as err:
        create(client, {"Tag": "Snapshot", "Name": "bad", "Snapshot": {"Mode": "Sometimes", "Count": "1"}})
    assert "Request.Snapshot.Mode" in err.value.get_error_msg()


def test_official_presets(client: CosS3Client, media: str, tmp_path: Path) -> None:
    official = client.ci_get_template(Bucket=BUCKET, Category="Official", PageSize=100)
    ids = {t["TemplateId"]: t for t in official["TemplateList"]}
    ld = ids["t0e2b9f4cd25184c6ab73d0c85a6ee9cb5"]
    assert ld["Category"] == "Official" and ld["TransTpl"]["Video"]["Width"] == "640"
    with pytest.raises(CosServiceError) as err:
        client.ci_delete_template(Bucket=BUCKET, TemplateId="t0e2b9f4cd25184c6ab73d0c85a6ee9cb5")
    assert err.value.get_status_code() == 403
    op = {"TemplateId": "t0e2b9f4cd25184c6ab73d0c85a6ee9cb5", "Output": output("tpl/preset.${ext}")}
    done = wait_job(client, submit(client, job_body("Transcode", media, op))["JobId"])
    assert done["State"] == "Success", done
    with av.open(str(fetch(client, "tpl/preset.mp4", tmp_path))) as c:
        v = c.streams.video[0].codec_context
        assert (v.width, v.height) == (640, 480)


def test_snapshot_template_and_tag_mismatch(client: CosS3Client, media: str) -> None:
    t = create(client, {"Tag": "Snapshot", "Name": "two-shots",
                        "Snapshot": {"Mode": "Interval", "TimeInterval": "0.5", "Count": "2"}})
    assert t["Snapshot"]["Count"] == "2"
    done = wait_job(client, submit(client, job_body("Snapshot", media, {
        "TemplateId": t["TemplateId"], "Output": output("tpl/snap-${Number}.jpg")}))["JobId"])
    assert done["State"] == "Success" and len(done["Operation"]["MediaResult"]["OutputFile"]["ObjectName"]) == 2
    with pytest.raises(CosServiceError) as err:
        submit(client, job_body("Transcode", media, {"TemplateId": t["TemplateId"], "Output": output("x.mp4")}))
    assert "Snapshot template" in err.value.get_error_msg()
    with pytest.raises(CosServiceError) as err:
        submit(client, job_body("Transcode", media, {"TemplateId": "t1" + "0" * 32, "Output": output("x.mp4")}))
    assert err.value.get_status_code() == 404


def test_multi_operation_request(client: CosS3Client, media: str) -> None:
    body = {"Input": {"Object": media}, "Operation": [
        {"Tag": "MediaInfo"},
        {"Tag": "Snapshot", "Snapshot": {"Count": "1"}, "Output": output("multi/shot.jpg")},
        {"Tag": "Transcode", "Transcode": {"Container": {"Format": "mp4"}, "Video": {"Width": "128"}},
         "Output": output("multi/out.mp4")},
    ]}
    details = client.ci_create_media_jobs(Bucket=BUCKET, Jobs=body)["JobsDetail"]
    assert [d["Tag"] for d in details] == ["MediaInfo", "Snapshot", "Transcode"]
    for d in details:
        assert wait_job(client, d["JobId"])["State"] == "Success"
    with pytest.raises(CosServiceError) as err:
        client.ci_create_media_jobs(Bucket=BUCKET, Jobs={"Input": {"Object": media},
                                                         "Operation": [{"Tag": "MediaInfo"}] * 7})
    assert "at most 6" in err.value.get_error_msg()


def test_official_hls_preset_publishes_playlist_and_segments(client: CosS3Client, media: str,
                                                             tmp_path: Path) -> None:
    op = {"TemplateId": "t0e634622e8dfb49339ba478d60ddc7188", "Output": output("tpl/hls/${InputName}.${ext}")}
    done = wait_job(client, submit(client, job_body("Transcode", media, op))["JobId"])
    assert done["State"] == "Success", done
    assert done["Operation"]["TemplateName"] == "H264-HLS-流畅"
    assert done["Operation"]["MediaResult"]["OutputFile"]["ObjectName"] == "tpl/hls/in.m3u8"
    playlist = client.get_object(Bucket=BUCKET, Key="tpl/hls/in.m3u8")["Body"].get_raw_stream().read().decode()
    segments = [line for line in playlist.splitlines() if line and not line.startswith("#")]
    assert segments
    for name in segments:
        (tmp_path / name).write_bytes(fetch(client, f"tpl/hls/{name}", tmp_path).read_bytes())
    (tmp_path / "in.m3u8").write_text(playlist)
    with av.open(str(tmp_path / "in.m3u8")) as c:
        frames = list(c.decode(video=0))
        assert frames[0].width == 640 and len(frames) >= 45


def test_high_speed_hd_template_runs_the_seed_003_body_with_tsc(client: CosS3Client, media: str,
                                                                tmp_path: Path) -> None:
    """Seed 003: a Transcode job whose TemplateId is a HighSpeedHd (TSC) template, plus watermark templates."""
    tsc = create(client, {"Tag": "HighSpeedHd", "Name": "tsc-720", "Container": {"Format": "mp4"},
                          "Video": {"Codec": "H.264", "Width": "160"}, "Audio": {"Codec": "aac"}})
    assert tsc["Tag"] == "HighSpeedHd" and tsc["TransTpl"]["Video"]["Width"] == "160"
    marks = [create(client, {"Tag": "Watermark", "Name": f"wm-{pos}", "Watermark": {
        "Type": "Text", "Pos": pos, "LocMode": "Absolute", "Dx": "2", "Dy": "2",
        "Text": {"Text": "ci", "FontSize": "12", "FontColor": "0xFFFFFF", "Transparency": "100"}}})["TemplateId"]
        for pos in ("TopLeft", "TopRight", "BottomLeft")]
    op = {"TemplateId": tsc["TemplateId"], "WatermarkTemplateId": marks, "Output": output("tpl/tsc.${ext}"),
          "UserData": "This is my data.", "JobLevel": "0"}
    done = wait_job(client, submit(client, job_body("Transcode", media, op))["JobId"], timeout=180)
    assert done["State"] == "Success", done
    assert done["Operation"]["TemplateName"] == "tsc-720"
    path = fetch(client, "tpl/tsc.mp4", tmp_path)
    with av.open(str(path)) as c:
        assert c.streams.video[0].codec_context.width == 160
    plain = create(client, {"Tag": "Transcode", "Name": "plain", "Container": {"Format": "mp4"},
                            "Video": {"Codec": "H.264", "Width": "160"}, "Audio": {"Codec": "aac"}})
    # TSC never spends more video bits than the plain template's encode of the same job (it may keep
    # the plain encode's packets where no tuned one wins, so there is no encoder marker to look for)
    op = {**op, "TemplateId": plain["TemplateId"], "Output": output("tpl/plain.${ext}")}
    done = wait_job(client, submit(client, job_body("Transcode", media, op))["JobId"], timeout=180)
    assert done["State"] == "Success", done

    def video_bytes(p: Path) -> int:
        with av.open(str(p)) as c:
            return sum(packet.size for packet in c.demux(video=0))
    # Two runs of the same multi-threaded libx264 encode differ by a few bytes (AVX-512 code paths:
    # 18,664 against 18,657 measured when TSC kept the plain packets), hence the 0.5 % allowance
    assert video_bytes(path) <= 1.005 * video_bytes(fetch(client, "tpl/plain.mp4", tmp_path))
    with pytest.raises(CosServiceError, match="is a Transcode template, not a Snapshot one"):
        submit(client, job_body("Snapshot", media, {"TemplateId": plain["TemplateId"], "Output": output("x.jpg")}))
    with pytest.raises(CosServiceError, match="is a HighSpeedHd template, not a Snapshot one"):
        submit(client, job_body("Snapshot", media, {"TemplateId": tsc["TemplateId"], "Output": output("x.jpg")}))


@pytest.mark.parametrize("video", [{"Codec": "H.265"}, {"Remove": "true"}])
def test_high_speed_hd_template_that_no_job_could_run_is_refused_at_create(client: CosS3Client,
                                                                          video: dict[str, str]) -> None:
    """A HighSpeedHd template is checked as the TSC job it makes (TranscodeMode forced): H.265 or no video,
    which every job naming it would be refused for, is refused at create."""
    with pytest.raises(CosServiceError) as err:
        create(client, {"Tag": "HighSpeedHd", "Name": "tsc-bad", "Container": {"Format": "mp4"}, "Video": video,
                        "Audio": {"Codec": "aac"}})
    assert err.value.get_error_code() == "InvalidArgument" and "TSC" in err.value.get_error_msg()
