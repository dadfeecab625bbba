"""VideoTag through the official COS SDK on a real server: the face, the drawn words and the technical tags
in Operation.VideoTagResult.StreamData, and refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from qcloud_cos import CosS3Client
from qcloud_cos.cos_exception import CosServiceError

from .conftest import BUCKET, job_body, wait_job
from .test_jobs_api import submit

pytest.importorskip("cv2", reason="the vision extra is not installed: pip install 'ci-jobs[vision]'")
pytest.importorskip("rapidocr_onnxruntime", reason="the vision extra is not installed: pip install 'ci-jobs[vision]'")
pytest.importorskip("skimage", reason="scikit-image (the test extra) brings the face picture")

from ci_jobs.media.videotag import iou  # noqa: E402

from .media import videotag_clips as V  # noqa: E402


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_video_tag_over_the_sdk(client: CosS3Client, tmp_path: Path) -> None:
    truth = V.make(tmp_path / "t.mp4", words="Harbour Festival Tickets")
    client.put_object(Bucket=BUCKET, Key="vt/in.mp4", Body=(tmp_path / "t.mp4").read_bytes())
    op = {"VideoTag": {"Scenario": "Stream"}, "UserData": "u-1"}
    job = wait_job(client, submit(client, job_body("VideoTag", "vt/in.mp4", op))["JobId"], timeout=300)
    assert job["State"] == "Success", job
    assert job["Operation"]["VideoTag"] == {"Scenario": "Stream"} and job["Operation"]["UserData"] == "u-1"
    assert "MediaResult" not in job["Operation"]  # VideoTag has no output
    stream = job["Operation"]["VideoTagResult"]["StreamData"]
    assert (stream["SubErrCode"], stream["SubErrMsg"]) == ("0", "ok")
    data = stream["Data"]
    (person,) = listed(data["PersonTags"])
    assert person["Name"] == "person-1" and person["Count"] == "3"
    for detail in listed(person["DetailPerSecond"]):
        b = detail["BBox"]
        second = round(float(detail["TimeStamp"]))
        assert iou((int(b["X1"]), int(b["Y1"]), int(b["X2"]), int(b["Y2"])), truth.boxes[second]) >= 0.5
    text = {t["Tag"] for t in listed(data["Tags"]) if t["TagCls"] == "OnScreenText"}
    assert text == {"Harbour", "Festival", "Tickets"}
    assert all(0 <= float(t["Confidence"]) <= 1 for t in listed(data["Tags"]))
    (shot,) = listed(data["PlaceTags"])
    assert (shot["StartTime"], shot["EndTime"], shot["StartIndex"], shot["EndIndex"]) == ("0.000", "6.000", "0", "59")


@pytest.mark.parametrize(("params", "named"), [
    ({"Scenario": "ShortVideo"}, "Request.Operation.VideoTag.Scenario ShortVideo"),
    ({}, "Request.Operation.VideoTag.Scenario"),
    ({"Scenario": "Stream", "Text": "x"}, "Text"),
])
def test_refusals_over_the_sdk(client: CosS3Client, params: dict[str, str], named: str) -> None:
    with pytest.raises(CosServiceError) as err:
        submit(client, job_body("VideoTag", "vt/in.mp4", {"VideoTag": params}))
    assert named in str(err.value.get_error_msg())
