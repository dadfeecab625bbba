"""VideoMontage through the official COS SDK on a real server: a reel of the marked segments with music
mixed under it, by inline parameters and by a VideoMontage template; refusals over the wire."""

from __future__ import annotations

from pathlib import Path

import av
import pytest
from qcloud_cos import CosS3Client
from qcloud_cos.cos_exception import CosServiceError

from .conftest import BUCKET, job_body, output, wait_job
from .media import montage_clips as M
from .media.test_audiomix import level, samples, tone
from .test_jobs_api import fetch, submit

MUSIC = f"https://{BUCKET}.cos.ap-guangzhou.myqcloud.com/vm/bgm.m4a"


def test_video_montage_over_the_sdk(client: CosS3Client, tmp_path: Path) -> None:
    client.put_object(Bucket=BUCKET, Key="vm/in.mp4", Body=Path(M.write(tmp_path / "in.mp4")).read_bytes())
    client.put_object(Bucket=BUCKET, Key="vm/bgm.m4a", Body=Path(tone(tmp_path / "bgm.m4a", 1000, 4.0)).read_bytes())
    op = {"VideoMontage": {"Container": {"Format": "mp4"}, "Video": {"Codec": "H.264", "Crf": "20"},
                           "Audio": {"Codec": "aac", "Channels": "2"}, "Duration": "10", "Scene": "Video",
                           "AudioMix": {"AudioSource": MUSIC, "MixMode": "Repeat"}},
          "Output": output("vm/reel.${ext}")}
    job = wait_job(client, submit(client, job_body("VideoMontage", "vm/in.mp4", op))["JobId"])
    assert job["State"] == "Success", job
    assert job["Operation"]["MediaResult"]["OutputFile"]["ObjectName"] == "vm/reel.mp4"
    assert abs(float(job["Operation"]["MediaInfo"]["Format"]["Duration"]) - 10) <= 1.0
    path = str(fetch(client, "vm/reel.mp4", tmp_path))
    reel = M.decode_clean(path)
    assert abs(reel.length - 10) <= 1.0 and M.coverage(reel, str(tmp_path / "in.mp4")) >= 0.8
    assert level(samples(path), 1000) > 0.05  # the music is in (0.125 peak; loop seams split its FFT line)
    with av.open(path) as c:
        assert c.streams.audio[0].codec_context.channels == 2


def test_video_montage_template_and_refusals(client: CosS3Client, tmp_path: Path) -> None:
    client.put_object(Bucket=BUCKET, Key="vm/t.mp4", Body=Path(M.write(tmp_path / "t.mp4")).read_bytes())
    t = dict(client.ci_create_template(Bucket=BUCKET, Template={
        "Tag": "VideoMontage", "Name": "reel-5s", "Container": {"Format": "ts"}, "Duration": "5",
        "Scene": "Soccer", "Video": {"Codec": "H.264", "Width": "128"}})["Template"])
    assert t["Tag"] == "VideoMontage" and t["VideoMontage"]["Duration"] == "5"
    op = {"TemplateId": t["TemplateId"], "Output": output("vm/t-reel.${ext}")}
    job = wait_job(client, submit(client, job_body("VideoMontage", "vm/t.mp4", op))["JobId"])
    assert job["State"] == "Success", job
    reel = M.decode_clean(str(fetch(client, "vm/t-reel.ts", tmp_path)))
    assert abs(reel.length - 5) <= 0.5
    with av.open(str(tmp_path / "vm_t-reel.ts")) as c:
        assert c.streams.video[0].codec_context.width == 128
    with pytest.raises(CosServiceError) as err:
        client.ci_create_template(Bucket=BUCKET, Template={"Tag": "VideoMontage", "Name": "bad",
                                                           "Container": {"Format": "mp4"}, "Scene": "Tennis"})
    assert err.value.get_error_code() == "InvalidArgument" and "Request.Scene" in err.value.get_error_msg()
    for params, named in (({"Container": {"Format": "mp4"}, "Duration": "-1"}, "VideoMontage.Duration"),
                          ({"Container": {"Format": "mp4"}, "Video": {"Preset": "fast"}}, "Video.Preset")):
        with pytest.raises(CosServiceError) as err:
            submit(client, job_body("VideoMontage", "vm/t.mp4", {"VideoMontage": params,
                                                                  "Output": output("vm/x.mp4")}))
        assert err.value.get_error_code() == "InvalidArgument" and named in err.value.get_error_msg()
