"""SmartCover through the official COS SDK on a real server: numbered covers in the bucket, and refusals."""

from __future__ import annotations

from pathlib import Path

import av
import pytest
from qcloud_cos import CosS3Client
from qcloud_cos.cos_exception import CosServiceError

from .conftest import BUCKET, job_body, output, wait_job
from .media import pictures as P
from .media.test_smartcover import FPS, SECTIONS, section
from .test_jobs_api import fetch, submit


def test_smart_cover_over_the_sdk(client: CosS3Client, tmp_path: Path) -> None:
    clip = P.write(tmp_path / "s.mp4", [p for kind in SECTIONS for p in section(kind)], fps=FPS)
    client.put_object(Bucket=BUCKET, Key="sc/in.mp4", Body=Path(clip).read_bytes())
    op = {"SmartCover": {"Format": "png", "Width": "256", "Count": "3", "DeleteDuplicates": "true"},
          "Output": output("sc/cover-${Number}.png")}
    job = wait_job(client, submit(client, job_body("SmartCover", "sc/in.mp4", op))["JobId"])
    assert job["State"] == "Success", job
    names = job["Operation"]["MediaResult"]["OutputFile"]["ObjectName"]
    assert names == ["sc/cover-0.png", "sc/cover-1.png", "sc/cover-2.png"]
    for name in names:
        with av.open(str(fetch(client, name, tmp_path))) as c:
            frame = next(c.decode(video=0))
            assert (frame.width, frame.height) == (256, 192)
            assert frame.to_ndarray(format="gray").std() > 20  # a picture, not a black or flat frame
    with pytest.raises(CosServiceError) as err:
        submit(client, job_body("SmartCover", "sc/in.mp4", {"SmartCover": {"Count": "11"},
                                                             "Output": output("sc/x-${Number}.jpg")}))
    assert "Request.Operation.SmartCover.Count" in str(err.value.get_error_msg())
