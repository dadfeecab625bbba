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
