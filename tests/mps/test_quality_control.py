"""AiQualityControlTask through the unmodified SDK: seed 001's quality-inspection body on a clip with injected
defects; DescribeTaskDetail's AiQualityControlTaskResult finds each where it was put, and nothing in the good
seconds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter
from qcloud_cos import CosS3Client
from tencentcloud.mps.v20190612 import mps_client

from ..conftest import BUCKET, REGION
from ..media import pictures as P
from .conftest import cos_input, process, wait_finish

pytest.importorskip("brisque")
FPS = 10
DEFECTS = (("SolidColorScreen", 1.0, 2.0), ("LowLighting", 3.0, 4.0), ("Blur", 5.0, 6.0))


@pytest.fixture(scope="module")
def defects(cos: CosS3Client, tmp_path_factory: pytest.TempPathFactory) -> str:
    """7 s at 160x120 of moving texture, with a black second at 1 s, a dark one (luma about 20) at 3 s and a
    blurred one at 5 s; its key."""
    moving = P.frames(160, 120, 7 * FPS, step=3)
    injected = {1: lambda f: np.zeros_like(f), 3: lambda f: (f * 0.15).astype(np.uint8),
                5: lambda f: np.asarray(Image.fromarray(f).filter(ImageFilter.GaussianBlur(2.4)))}
    pictures = [injected[i // FPS](f) if i // FPS in injected else f for i, f in enumerate(moving)]
    path = P.write(tmp_path_factory.mktemp("qc") / "defects.mp4", pictures, fps=FPS, audio=True)
    key = "mps/in/defects.mp4"
    cos.put_object(Bucket=BUCKET, Key=key, Body=Path(path).read_bytes())
    return key


def test_seed_1_quality_inspection_finds_the_injected_defects(client: mps_client.MpsClient, defects: str) -> None:
    seed_1 = {"InputInfo": cos_input(defects),
              "OutputStorage": {"Type": "COS", "CosOutputStorage": {"Bucket": BUCKET, "Region": REGION}},
              "OutputDir": "/data/share/", "AiQualityControlTask": {"Definition": 30}}
    resp = wait_finish(client, process(client, seed_1))
    assert resp.WorkflowTask.MediaProcessResultSet == []
    result = resp.WorkflowTask.AiQualityControlTaskResult
    assert (result.Status, result.ErrCodeExt, result.ErrCode, result.Progress) == ("SUCCESS", "", 0, 100), \
        result.Message
    assert result.Input.Definition == 30
    out = result.Output
    assert out.NoAudio is False and out.NoVideo is False
    assert 0 <= out.QualityEvaluationScore <= 100
    found = {r.Type: r.QualityControlItems for r in out.QualityControlResultSet}
    print({k: [(i.StartTimeOffset, i.EndTimeOffset, i.Confidence) for i in v] for k, v in found.items()})
    assert set(found) <= {kind for kind, _, _ in DEFECTS}
    for kind, start, end in DEFECTS:  # each defect found where it was put (samples every 0.25-0.3 s)
        assert any(abs(i.StartTimeOffset - start) <= 0.35 and abs(i.EndTimeOffset - end) <= 0.35
                   for i in found[kind]), (kind, found[kind])
    for kind, items in found.items():  # and nothing in the good seconds (a dark second may also read as blurred)
        for i in items:
            assert 50 <= i.Confidence <= 100
            assert any(s - 0.35 <= i.StartTimeOffset and i.EndTimeOffset <= e + 0.35 for _, s, e in DEFECTS), \
                (kind, i.StartTimeOffset, i.EndTimeOffset)


def test_quality_control_beside_a_transcode(client: mps_client.MpsClient, clip: str) -> None:
    """Both families in one task: the transcode in MediaProcessResultSet, the inspection beside it; a clean clip
    has no defect (the 1 s test clip is a moving pattern with a tone)."""
    resp = wait_finish(client, process(client, {
        "InputInfo": cos_input(clip), "AiQualityControlTask": {"Definition": "30"},
        "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 100010}]}}))
    assert [r.Type for r in resp.WorkflowTask.MediaProcessResultSet] == ["Transcode"]
    assert resp.WorkflowTask.MediaProcessResultSet[0].TranscodeTask.Status == "SUCCESS"
    result = resp.WorkflowTask.AiQualityControlTaskResult
    assert result.Status == "SUCCESS" and result.Output.NoAudio is False, result.Message
