"""MPS templates through the unmodified SDK: Create/Describe/Modify/Delete of all seven kinds, presets listed as
Type Preset, custom Definitions run by ProcessMedia, WatermarkSet drawn and OverrideParameter applied."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image
from qcloud_cos import CosS3Client
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.mps.v20190612 import mps_client

from ..conftest import BUCKET, REGION
from .conftest import cos_input, fetch, process, request, wait_finish

MARK_KEY = "mps/in/mark.png"
IMAGE = {"ImageContent": {"Type": "COS", "CosInputInfo": {"Bucket": BUCKET, "Region": REGION,
                                                          "Object": "/" + MARK_KEY}}, "Width": "32px", "Height": "32px"}
CREATES: dict[str, dict[str, Any]] = {
    "Transcode": {"Container": "mp4", "VideoTemplate": {"Codec": "h264", "Fps": 25, "Bitrate": 300, "Height": 240,
                                                        "ResolutionAdaptive": "close"},
                  "AudioTemplate": {"Codec": "aac", "Bitrate": 64, "SampleRate": 44100, "AudioChannel": 2}},
    "AnimatedGraphics": {"Format": "gif", "Fps": 5},
    "SnapshotByTimeOffset": {"Format": "png", "Width": 128, "ResolutionAdaptive": "close"},
    "SampleSnapshot": {"SampleType": "Percent", "SampleInterval": 50, "Format": "jpg"},
    "ImageSprite": {"SampleType": "Time", "SampleInterval": 1, "RowCount": 2, "ColumnCount": 2, "Width": 40,
                    "Height": 30, "ResolutionAdaptive": "close", "FillType": "stretch"},
    "AdaptiveDynamicStreaming": {"Format": "HLS", "StreamInfos": [
        {"Video": {"Codec": "h264", "Fps": 25, "Bitrate": 200, "Height": 144, "ResolutionAdaptive": "close"},
         "Audio": {"Codec": "aac", "Bitrate": 64, "SampleRate": 44100, "AudioChannel": 2}}]},
    "Watermark": {"Type": "image", "CoordinateOrigin": "TopLeft", "XPos": "0px", "YPos": "0px", "ImageTemplate": IMAGE},
}
PRESETS = {"Transcode": 100030, "AnimatedGraphics": 20000, "SnapshotByTimeOffset": 10, "SampleSnapshot": 10,
           "ImageSprite": 10, "AdaptiveDynamicStreaming": 10}
LIST = {"AnimatedGraphics": "AnimatedGraphics"}


def call(client: mps_client.MpsClient, action: str, params: dict[str, Any]) -> Any:
    """One SDK action by name, its request model filled from `params`."""
    from tencentcloud.mps.v20190612 import models  # noqa: PLC0415 - model classes by name

    return getattr(client, action)(request(getattr(models, f"{action}Request"), params))


def describe(client: mps_client.MpsClient, kind: str, **params: Any) -> tuple[int, list[Any]]:
    """Describe<kind>Templates: (TotalCount, the set)."""
    resp = call(client, f"Describe{kind}Templates", {"Limit": 100, **params})
    return resp.TotalCount, getattr(resp, f"{kind}TemplateSet")


@pytest.fixture(scope="module")
def mark(cos: CosS3Client) -> str:
    """A solid red 32x32 PNG in the bucket (the image watermark)."""
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (255, 0, 0)).save(buf, "PNG")
    cos.put_object(Bucket=BUCKET, Key=MARK_KEY, Body=buf.getvalue())
    return MARK_KEY


@pytest.mark.parametrize("kind", list(CREATES))
def test_create_describe_modify_delete(client: mps_client.MpsClient, mark: str, kind: str) -> None:
    created = call(client, f"Create{kind}Template", {"Name": f"my-{kind}", "Comment": "c1", **CREATES[kind]})
    definition = created.Definition
    assert definition >= 10**7
    total, found = describe(client, kind, Definitions=[definition])
    assert total == 1 and found[0].Type == "Custom" and found[0].Name == f"my-{kind}" and found[0].Comment == "c1"
    assert int(found[0].Definition) == definition and found[0].CreateTime.endswith("Z")
    call(client, f"Modify{kind}Template", {"Definition": definition, "Name": "renamed", "Comment": "c2"})
    _, found = describe(client, kind, Type="Custom", Name="renamed")
    assert [int(t.Definition) for t in found] == [definition] and found[0].Comment == "c2"
    if kind in PRESETS:
        total, presets = describe(client, kind, Type="Preset")
        assert PRESETS[kind] in [int(t.Definition) for t in presets] and all(t.Type == "Preset" for t in presets)
        with pytest.raises(TencentCloudSDKException) as info:
            call(client, f"Modify{kind}Template", {"Definition": PRESETS[kind], "Comment": kind})
        assert info.value.get_code() == "InvalidParameterValue.Definition"
    call(client, f"Delete{kind}Template", {"Definition": definition})
    assert describe(client, kind, Definitions=[definition])[0] == 0
    with pytest.raises(TencentCloudSDKException) as info:  # not the Delete again: a replay in the same second
        call(client, f"Modify{kind}Template", {"Definition": definition, "Name": "gone"})
    assert info.value.get_code() == "ResourceNotFound.TemplateNotExist"


def test_presets_of_reference_are_listed(client: mps_client.MpsClient) -> None:
    _, found = describe(client, "Transcode", Definitions=[100010, 1010, 100810])
    by_id = {int(t.Definition): t for t in found}
    assert by_id[100010].VideoTemplate.Height == 360 and by_id[100010].VideoTemplate.Bitrate == 400
    assert by_id[1010].ContainerType == "PureAudio" and by_id[100810].TEHDConfig.Type == "TEHD-100"
    _, found = describe(client, "Transcode", Definitions=[100010, 100810], TranscodeType="TEHD")
    assert [int(t.Definition) for t in found] == [100810]


REFUSED = [
    ("CreateTranscodeTemplate", {**CREATES["Transcode"], "Colour": 1}, "UnknownParameter", "Colour"),
    ("CreateTranscodeTemplate", {**CREATES["Transcode"], "TEHDConfig": {"Type": "TEHD-100"}},
     "InvalidParameterValue.VideoBitrate", "MaxVideoBitrate"),
    ("CreateTranscodeTemplate", {**CREATES["Transcode"], "TEHDConfig": {"Type": "TEHD-200"}},
     "InvalidParameterValue.TEHDType", "TEHD-200"),
    ("CreateTranscodeTemplate", {**CREATES["Transcode"], "TEHDConfig": {"MaxVideoBitrate": 500}},
     "InvalidParameterValue.TEHDType", "MaxVideoBitrate"),
    ("CreateTranscodeTemplate", {"Container": "mp4", "VideoTemplate": {"Codec": "h265"}, "AudioTemplate": {
        "Codec": "aac"}, "TEHDConfig": {"Type": "TEHD-100"}}, "InvalidParameterValue.TEHDType", "h264"),
    ("CreateTranscodeTemplate", {"Container": "mp4", "VideoTemplate": {"Codec": "h264"}, "AudioTemplate": {
        "Codec": "aac"}, "TEHDConfig": {"Type": "TEHD-100", "MaxVideoBitrate": 5}},
     "InvalidParameterValue.VideoBitrate", "MaxVideoBitrate 5"),
    ("CreateTranscodeTemplate", {"Container": "mp4", "VideoTemplate": {"Codec": "h264", "Bframes": 2},
                                 "AudioTemplate": {"Codec": "aac"}}, "InvalidParameterValue", "Bframes"),
    ("CreateWatermarkTemplate", {"Type": "svg", "SvgTemplate": {"Width": "10px"}}, "InvalidParameterValue",
     "SvgTemplate"),
    ("CreateWatermarkTemplate", {"Type": "text", "XPos": "10px", "YPos": "5%",
                                 "TextTemplate": {"TextContent": "x"}}, "InvalidParameterValue", "XPos/YPos"),
    ("CreateAdaptiveDynamicStreamingTemplate", {**CREATES["AdaptiveDynamicStreaming"], "DisableHigherVideoBitrate": 1},
     "InvalidParameterValue.DisableHigherVideoBitrate", "DisableHigherVideoBitrate"),
    ("CreateImageSpriteTemplate", {**CREATES["ImageSprite"], "Format": "png"}, "InvalidParameterValue.Format",
     "Format"),
    ("ModifyTranscodeTemplate", {"Definition": 100030, "Name": "x"}, "InvalidParameterValue.Definition", "preset"),
    ("CreateAnimatedGraphicsTemplate", {"Format": "gif", "Fps": 1000}, "InvalidParameterValue.Fps", "Fps 1000"),
    ("CreateAnimatedGraphicsTemplate", {"Format": "webp", "Fps": 10, "Quality": 500}, "InvalidParameterValue.Quality",
     "Quality 500"),
    ("CreateAnimatedGraphicsTemplate", {"Format": "gif", "Fps": 10, "Quality": 40}, "InvalidParameterValue.Quality",
     "webp"),
]


@pytest.mark.parametrize(("action", "params", "code", "named"), REFUSED, ids=[r[0] + r[3] for r in REFUSED])
def test_unsupported_fields_are_refused_by_name(client: mps_client.MpsClient, action: str, params: dict[str, Any],
                                                code: str, named: str) -> None:
    with pytest.raises(TencentCloudSDKException) as info:  # call_json: the SDK's models would drop an unknown field
        client.call_json(action, {"Name": "n", **params})
    assert info.value.get_code() == code and named in info.value.get_message(), info.value


def _frame(path: Path) -> np.ndarray:
    with av.open(str(path)) as c:
        frame = next(c.decode(video=0))
        return frame.to_ndarray(format="rgb24")


def test_custom_transcode_with_watermarks(client: mps_client.MpsClient, cos: CosS3Client, clip: str, mark: str,
                                          tmp_path: Path) -> None:
    tc = call(client, "CreateTranscodeTemplate", {"Name": "t240", **CREATES["Transcode"]}).Definition
    image = call(client, "CreateWatermarkTemplate", {"Name": "red", **CREATES["Watermark"]}).Definition
    text = call(client, "CreateWatermarkTemplate", {
        "Name": "words", "Type": "text", "CoordinateOrigin": "BottomRight", "XPos": "4px", "YPos": "4px",
        "TextTemplate": {"FontSize": "40px", "FontColor": "0x00FF00", "TextContent": "placeholder"}}).Definition
    task = process(client, {"InputInfo": cos_input(clip), "OutputDir": "/mps/tpl/", "MediaProcessTask": {
        "TranscodeTaskSet": [{"Definition": tc, "OutputObjectPath": "plain"},
                             {"Definition": tc, "OutputObjectPath": "marked", "WatermarkSet": [
                                 {"Definition": image}, {"Definition": text, "TextContent": "MPS"}]}]}})
    done = wait_finish(client, task)
    plain, marked = (r.TranscodeTask for r in done.WorkflowTask.MediaProcessResultSet)
    assert plain.Status == marked.Status == "SUCCESS", (plain.Message, marked.Message)
    a, b = _frame(fetch(cos, plain.Output.Path, tmp_path)), _frame(fetch(cos, marked.Output.Path, tmp_path))
    assert a.shape == b.shape == (240, 320, 3)
    red = b[4:28, 4:28].astype(int)
    assert red[..., 0].mean() > 200 and red[..., 1].mean() < 60 and red[..., 2].mean() < 60
    assert np.abs(a[4:28, 4:28].astype(int) - red).mean() > 40
    corner = (slice(190, 236), slice(240, 316))
    diff = np.abs(a[corner].astype(int) - b[corner].astype(int)).mean()
    assert diff > 10 and b[corner][..., 1].max() > 200  # the green text is drawn there
    assert np.abs(a[100:140, 100:200].astype(int) - b[100:140, 100:200].astype(int)).mean() < 5  # elsewhere not


def test_override_parameter(client: mps_client.MpsClient, cos: CosS3Client, clip: str, tmp_path: Path) -> None:
    task = process(client, {"InputInfo": cos_input(clip), "OutputDir": "/mps/over/", "MediaProcessTask": {
        "TranscodeTaskSet": [{"Definition": 100010, "OverrideParameter": {
            "Container": "mkv", "VideoTemplate": {"Height": 180, "Bitrate": 150}, "AudioTemplate": {"Bitrate": 48}}}]}})
    result = wait_finish(client, task).WorkflowTask.MediaProcessResultSet[0].TranscodeTask
    assert result.Status == "SUCCESS", result.Message
    assert result.Output.Path.endswith(".mkv")
    local = fetch(cos, result.Output.Path, tmp_path)
    with av.open(str(local)) as c:
        video = c.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (240, 180)
    assert result.Output.Height == 180
