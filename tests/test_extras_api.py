"""Acceptance: a Transcode job with an image watermark uploaded as an object, through the SDK and server."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from qcloud_cos import CosS3Client
from qcloud_cos.cos_exception import CosServiceError

from .conftest import BUCKET, REGION, job_body, output, wait_job


def test_image_watermark_from_the_bucket(client: CosS3Client, clip: bytes, tmp_path: Path) -> None:
    client.put_object(Bucket=BUCKET, Key="input/extras clip.mp4", Body=clip)
    logo = io.BytesIO()
    Image.new("RGBA", (48, 24), (255, 0, 0, 255)).save(logo, format="PNG")
    client.put_object(Bucket=BUCKET, Key="marks/logo.png", Body=logo.getvalue())
    url = f"https://{BUCKET}.cos.{REGION}.myqcloud.com/marks/logo.png"
    op = {"Transcode": {"Container": {"Format": "mp4"}, "Video": {"Codec": "H.264"}},
          "Watermark": {"Type": "Image", "Pos": "TopRight", "LocMode": "Absolute", "Dx": "8", "Dy": "8",
                        "Image": {"Url": url, "Mode": "Fixed", "Width": "64"}},
          "Output": output("output/watermarked.${ext}")}
    job = client.ci_create_media_jobs(Bucket=BUCKET, Jobs=job_body("Transcode", "input/extras clip.mp4", op))
    done = wait_job(client, job["JobsDetail"][0]["JobId"])
    assert done["State"] == "Success", done
    path = tmp_path / "watermarked.mp4"
    path.write_bytes(client.get_object(Bucket=BUCKET, Key="output/watermarked.mp4")["Body"].get_raw_stream().read())
    with av.open(str(path)) as container:
        picture = next(container.decode(video=0)).to_ndarray(format="rgb24").astype(np.int16)
    box = picture[10:38, 250:310].reshape(-1, 3).mean(axis=0)  # 64x32 at the top right, 8 px in
    assert box[0] > 200 and box[1] < 50 and box[2] < 50, box
    assert not (picture[42:60, 250:310].reshape(-1, 3).mean(axis=0) == box).all()

def test_missing_watermark_object_fails_the_job(client: CosS3Client, clip: bytes) -> None:
    client.put_object(Bucket=BUCKET, Key="input/extras clip.mp4", Body=clip)
    op = {"Transcode": {"Container": {"Format": "mp4"}},
          "Watermark": {"Type": "Image", "Pos": "TopLeft", "LocMode": "Absolute", "Dx": "0", "Dy": "0",
                        "Image": {"Url": "marks/none.png"}},
          "Output": output("output/never.mp4")}
    job = client.ci_create_media_jobs(Bucket=BUCKET, Jobs=job_body("Transcode", "input/extras clip.mp4", op))
    done = wait_job(client, job["JobsDetail"][0]["JobId"])
    assert done["State"] == "Failed" and done["Code"] == "InputNotFound" and "marks/none.png" in done["Message"]


def test_digital_watermark_is_checked_not_ignored(client: CosS3Client) -> None:
    """Transcode embeds a DigitalWatermark now (tests/media/test_digitalwatermark.py); a bad one is refused."""
    op = {"Transcode": {"Container": {"Format": "mp4"}}, "Output": output("dw/out.mp4"),
          "DigitalWatermark": {"Type": "Text", "Message": "owner", "Version": "V2"}}
    with pytest.raises(CosServiceError) as err:
        client.ci_create_media_jobs(Bucket=BUCKET, Jobs=job_body("Transcode", "dw/in.mp4", op))
    assert err.value.get_status_code() == 400 and err.value.get_error_code() == "InvalidArgument"
    assert "DigitalWatermark" in err.value.get_error_msg()


@pytest.mark.parametrize("ref", [
    f"http://logos-1250000000.cos.{REGION}.myqcloud.com/marks/logo.png",  # another bucket
    "http://169.254.169.254/latest/meta-data",                          # another host
    "https://example.com/marks/logo.png",
])
@pytest.mark.parametrize("where", ["watermark", "audiomix", "subtitle"])
def test_references_outside_the_jobs_bucket_are_refused(client: CosS3Client, ref: str, where: str) -> None:
    """A watermark image, AudioMix source or subtitle is read from the job's own bucket (reference: "image in
    same bucket", "same bucket as input"): a URL naming another bucket or host is refused at submit,
    instead of the same path being read from the job's bucket."""
    op: dict[str, object] = {"Transcode": {"Container": {"Format": "mp4"}}, "Output": output("output/ref.mp4")}
    if where == "watermark":
        op["Watermark"] = {"Type": "Image", "Pos": "TopLeft", "LocMode": "Absolute", "Dx": "0", "Dy": "0",
                           "Image": {"Url": ref}}
    elif where == "audiomix":
        op["Transcode"] = {"Container": {"Format": "mp4"}, "AudioMix": {"AudioSource": ref}}
    else:
        op["Subtitles"] = {"Subtitle": {"Url": ref}}
    with pytest.raises(CosServiceError) as err:
        client.ci_create_media_jobs(Bucket=BUCKET, Jobs=job_body("Transcode", "input/extras clip.mp4", op))
    assert err.value.get_status_code() == 400 and err.value.get_error_code() == "InvalidArgument"
    assert ref in err.value.get_error_msg() and BUCKET in err.value.get_error_msg()
