"""ImageSpriteTaskSet on the Snapshot Tag's sprite mode: the sheets decoded, their tile grid, and the WebVTT's cues."""

from __future__ import annotations

import re
from pathlib import Path

import av
import pytest
from qcloud_cos import CosS3Client
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.mps.v20190612 import mps_client

from ..conftest import BUCKET, clip_bytes
from .conftest import cos_input, fetch, process, wait_finish

LONG_KEY = "mps/in/long.mp4"
CUE = re.compile(r"^(\d\d:\d\d:\d\d\.\d{3}) --> (\d\d:\d\d:\d\d\.\d{3})\n(\S+)#xywh=(\d+),(\d+),(\d+),(\d+)$", re.M)


@pytest.fixture(scope="module")
def long_clip(cos: CosS3Client, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A 25 s 64x48 clip at 5 fps (preset 10 takes a tile every 10 s: 3 tiles)."""
    body = clip_bytes(tmp_path_factory.mktemp("long") / "long.mp4", seconds=25.0, size="64x48", rate=5)
    cos.put_object(Bucket=BUCKET, Key=LONG_KEY, Body=body)
    return LONG_KEY


def seconds(stamp: str) -> float:
    h, m, s = stamp.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def test_preset_10_sheet_and_webvtt(client: mps_client.MpsClient, cos: CosS3Client, long_clip: str,
                                    tmp_path: Path) -> None:
    task_id = process(client, {"InputInfo": cos_input(long_clip), "OutputDir": "/mps/sprite/",
                               "MediaProcessTask": {"ImageSpriteTaskSet": [{"Definition": 10}]}})
    resp = wait_finish(client, task_id)
    result = resp.WorkflowTask.MediaProcessResultSet[0]
    assert result.Type == "ImageSprites"
    task = result.ImageSpriteTask
    assert task.Status == "SUCCESS", task.Message
    out = task.Output
    assert (out.Definition, out.Width, out.Height, out.TotalCount) == (10, 142, 80, 3)
    assert out.ImagePathSet == ["/mps/sprite/long_imageSprite_10_0.jpg"]
    assert out.WebVttPath == "/mps/sprite/long_imageSprite_10.vtt"
    assert out.Storage.CosOutputStorage.Bucket == BUCKET
    with av.open(str(fetch(cos, out.ImagePathSet[0], tmp_path))) as c:
        sheet = next(c.decode(video=0))
    assert (sheet.width, sheet.height) == (10 * 142, 10 * 80)  # one 10 x 10 sheet, 3 cells used
    pixels = sheet.to_ndarray(format="gray")
    assert pixels[:80, 3 * 142:].min() > 200  # the unused cells stay the white background

    text = fetch(cos, out.WebVttPath, tmp_path).read_text()
    assert text.startswith("WEBVTT\n")
    cues = CUE.findall(text)
    assert [(seconds(a), seconds(b)) for a, b, *_ in cues] == [(0.0, 10.0), (10.0, 20.0), (20.0, pytest.approx(25.0,
                                                                                                           abs=0.3))]
    assert [(name, int(x), int(y), int(w), int(h)) for _, _, name, x, y, w, h in cues] == [
        ("long_imageSprite_10_0.jpg", i * 142, 0, 142, 80) for i in range(3)]


def test_custom_names_and_a_relative_sheet_reference(client: mps_client.MpsClient, cos: CosS3Client,
                                                  clip: str, tmp_path: Path) -> None:
    """A 1 s input has one tile; the WebVTT names the sheet relative to itself."""
    task_id = process(client, {"InputInfo": cos_input(clip), "OutputDir": "/mps/sprite2/", "MediaProcessTask": {
        "ImageSpriteTaskSet": [{"Definition": 10, "OutputObjectPath": "/mps/sheets/{inputName}-{number}.{format}",
                                "WebVttObjectName": "thumbs/{inputName}.{format}"}]}})
    out = wait_finish(client, task_id).WorkflowTask.MediaProcessResultSet[0].ImageSpriteTask.Output
    assert out.ImagePathSet == ["/mps/sheets/clip-0.jpg"] and out.WebVttPath == "/mps/sprite2/thumbs/clip.vtt"
    cues = CUE.findall(fetch(cos, out.WebVttPath, tmp_path).read_text())
    assert len(cues) == 1 and cues[0][2] == "../../sheets/clip-0.jpg"
    assert seconds(cues[0][1]) == pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize(("item", "named"), [
    ({"Definition": 11}, "Definition"),
    ({"Definition": 10, "OutputObjectPath": "{inputName}.{format}"}, "{number}"),
    ({"Definition": 10, "WebVttObjectName": "/abs/{inputName}.{format}"}, "relative"),
    ({"Definition": 10, "ExtInfo": "x"}, "ExtInfo"),
])
def test_image_sprite_refusals(client: mps_client.MpsClient, clip: str, item: dict[str, object], named: str) -> None:
    with pytest.raises(TencentCloudSDKException) as info:
        process(client, {"InputInfo": cos_input(clip), "MediaProcessTask": {"ImageSpriteTaskSet": [item]}})
    assert info.value.get_code().startswith("InvalidParameterValue") and named in info.value.get_message()
