"""ProcessMedia through the unmodified SDK: each task set runs on the engine and every output is decoded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import pytest
from qcloud_cos import CosS3Client
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.mps.v20190612 import mps_client

from ..conftest import BUCKET, REGION
from .conftest import cos_input, detail, fetch, process, wait_finish


def video_of(path: Path) -> tuple[int, int, float, int]:
    """(width, height, duration s, frames) of a decoded output."""
    with av.open(str(path)) as c:
        frames = list(c.decode(video=0))
        duration = float(c.duration or 0) / 1e6
    return frames[0].width, frames[0].height, duration, len(frames)


def results(resp: Any) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for r in resp.WorkflowTask.MediaProcessResultSet:
        out.setdefault(r.Type, []).append(r)
    return out


def test_every_task_set_runs_and_its_outputs_decode(client: mps_client.MpsClient, cos: CosS3Client, clip: str,
                                                      tmp_path: Path) -> None:
    raw = {"Container": "mp4", "VideoTemplate": {"Codec": "h264", "Width": 192, "Height": 128, "ResolutionAdaptive":
                                                 "close", "FillType": "stretch", "Fps": 15, "Bitrate": 200},
           "AudioTemplate": {"Codec": "aac", "Bitrate": 64, "SampleRate": 44100, "AudioChannel": 1}}
    task_id = process(client, {
        "InputInfo": cos_input(clip), "OutputDir": "/mps/out/",
        "MediaProcessTask": {
            "TranscodeTaskSet": [{"Definition": 100010}, {"Definition": 0, "RawParameter": raw,
                                                          "OutputObjectPath": "custom/{inputName}.{format}"}],
            "SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["0.2s", "0.5s", "0.8s"]}],
            "AnimatedGraphicTaskSet": [{"Definition": 20000, "StartTimeOffset": 0, "EndTimeOffset": 0.5}],
            "SampleSnapshotTaskSet": [{"Definition": 10}],
        },
        "SessionContext": "order-42"})
    assert task_id.startswith("1250000000-WorkflowTask-") and task_id.endswith("t0") and len(task_id) == 58
    resp = wait_finish(client, task_id)
    assert resp.TaskType == "WorkflowTask" and resp.WorkflowTask.Status == "FINISH"
    assert resp.SessionContext == "order-42" and resp.WorkflowTask.TaskId == task_id
    assert resp.CreateTime.endswith("Z") and resp.FinishTime >= resp.BeginProcessTime >= resp.CreateTime
    found = results(resp)
    assert sorted(found) == ["AnimatedGraphics", "SampleSnapshot", "SnapshotByTimeOffset", "Transcode"]
    for items in found.values():
        for r in items:
            sub = r.TranscodeTask or r.AnimatedGraphicTask or r.SnapshotByTimeOffsetTask or r.SampleSnapshotTask
            assert (sub.Status, sub.ErrCodeExt, sub.ErrCode) == ("SUCCESS", "", 0), sub.Message

    preset, custom = (r.TranscodeTask for r in found["Transcode"])
    assert preset.Progress == 100 and preset.Input.Definition == 100010
    out = preset.Output
    assert out.Path == "/mps/out/clip_transcode_100010.mp4" and out.Definition == 100010
    assert (out.Width, out.Height) == (480, 360) and out.Size > 0 and out.Bitrate > 0
    assert out.Duration == pytest.approx(1.0, abs=0.15)
    assert out.OutputStorage.CosOutputStorage.Bucket == BUCKET and out.VideoStreamSet[0].Codec == "h264"
    w, h, dur, _ = video_of(fetch(cos, out.Path, tmp_path))
    assert (w, h) == (480, 360) and dur == pytest.approx(1.0, abs=0.15)
    assert custom.Output.Path == "/mps/out/custom/clip.mp4"
    w, h, _, frames = video_of(fetch(cos, custom.Output.Path, tmp_path))
    assert (w, h) == (192, 128) and frames == pytest.approx(15, abs=2)
    with av.open(str(fetch(cos, custom.Output.Path, tmp_path))) as c:
        assert c.streams.audio[0].codec_context.channels == 1

    snaps = found["SnapshotByTimeOffset"][0].SnapshotByTimeOffsetTask.Output
    assert [p.TimeOffset for p in snaps.PicInfoSet] == [0.2, 0.5, 0.8]
    assert [p.Path for p in snaps.PicInfoSet] == [
        f"/mps/out/clip_snapshotByTimeOffset_10_{i}.jpg" for i in range(3)]
    for pic in snaps.PicInfoSet:
        assert video_of(fetch(cos, pic.Path, tmp_path))[:2] == (160, 120)

    gif = found["AnimatedGraphics"][0].AnimatedGraphicTask.Output
    assert gif.Path == "/mps/out/clip_animatedGraphic_20000.gif" and gif.Storage.CosOutputStorage.Region == REGION
    w, h, _, frames = video_of(fetch(cos, gif.Path, tmp_path))
    assert (w, h) == (160, 120) and frames == pytest.approx(5, abs=1)  # 0.5 s at 10 fps

    sample = found["SampleSnapshot"][0].SampleSnapshotTask.Output
    assert (sample.SampleType, sample.Interval) == ("Percent", 10) and len(sample.ImagePathSet) == 10
    assert sample.ImagePathSet[0] == "/mps/out/clip_sampleSnapshot_10_0.jpg"
    assert video_of(fetch(cos, sample.ImagePathSet[-1], tmp_path))[:2] == (160, 120)


def test_irregular_offsets_and_default_output_dir(client: mps_client.MpsClient, cos: CosS3Client, clip: str,
                                                  tmp_path: Path) -> None:
    """Offsets not evenly spaced are one job each; outputs go next to the input by default."""
    task_id = process(client, {"InputInfo": cos_input(clip), "MediaProcessTask": {
        "SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "TimeOffsetSet": [0.1, 0.3, 0.9],
                                         "OutputObjectPath": "/mps/shots/{inputName}-{number}.{format}"}],
        "TranscodeTaskSet": [{"Definition": 1010, "StartTimeOffset": 0.25, "EndTimeOffset": 0.75}]}})
    resp = wait_finish(client, task_id)
    found = results(resp)
    snaps = found["SnapshotByTimeOffset"][0].SnapshotByTimeOffsetTask
    assert snaps.Status == "SUCCESS", snaps.Message
    assert [(p.TimeOffset, p.Path) for p in snaps.Output.PicInfoSet] == [
        (0.1, "/mps/shots/clip-0.jpg"), (0.3, "/mps/shots/clip-1.jpg"), (0.9, "/mps/shots/clip-2.jpg")]
    audio = found["Transcode"][0].TranscodeTask.Output
    assert audio.Path == "/mps/in/clip_transcode_1010.mp3" and audio.Duration == pytest.approx(0.5, abs=0.1)
    with av.open(str(fetch(cos, audio.Path, tmp_path))) as c:
        assert not c.streams.video and c.streams.audio[0].codec_context.name.startswith("mp3")


def test_seed_example_3_transcode_definitions(client: mps_client.MpsClient, cos: CosS3Client, clip: str,
                                              tmp_path: Path) -> None:
    """Seed 001's third body (Definitions as strings "30", "20", "40") on this server's bucket."""
    task_id = process(client, {"MediaProcessTask": {"TranscodeTaskSet": [
        {"Definition": "30"}, {"Definition": "20"}, {"Definition": "40"}]},
        "InputInfo": {"Type": "COS", "CosInputInfo": {"Region": REGION, "Object": "/" + clip, "Bucket": BUCKET}}})
    found = results(wait_finish(client, task_id, timeout=180))
    heights = []
    for r in found["Transcode"]:
        out = r.TranscodeTask.Output
        assert r.TranscodeTask.Status == "SUCCESS", r.TranscodeTask.Message
        heights.append((out.Definition, out.Height, video_of(fetch(cos, out.Path, tmp_path))[1]))
    assert heights == [(30, 720, 720), (20, 540, 540), (40, 1080, 1080)]


def test_a_missing_input_fails_its_subtasks(client: mps_client.MpsClient) -> None:
    task_id = process(client, {"InputInfo": cos_input("mps/in/none.mp4"),
                               "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 100010}]}})
    resp = wait_finish(client, task_id)
    task = resp.WorkflowTask.MediaProcessResultSet[0].TranscodeTask
    assert (resp.Status, task.Status, task.ErrCodeExt) == ("FINISH", "FAIL", "InputNotFound")
    assert task.ErrCode != 0 and "none.mp4" in task.Message and task.Output is None


SEED_1 = {"InputInfo": cos_input(), "OutputStorage": {"Type": "COS", "CosOutputStorage": {
    "Bucket": BUCKET, "Region": REGION}}, "OutputDir": "/data/share/", "AiQualityControlTask": {"Definition": 30}}
SEED_2 = {"InputInfo": cos_input(), "OutputDir": "/share/output/", "MediaProcessTask": {
    "AdaptiveDynamicStreamingTaskSet": [{"Definition": 10,
                                         "OutputObjectPath": "{inputName}_adaptiveDynamicStreaming.{format}"}]}}


def _refused(**change: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"InputInfo": cos_input(), "MediaProcessTask": {"TranscodeTaskSet": [
        {"Definition": 100010}]}}
    for key, value in change.items():
        if key.endswith("_task"):
            body["MediaProcessTask"]["TranscodeTaskSet"][0].update(value)
        else:
            body[key] = value
    return body


REFUSALS = [
    ({**SEED_1, "AiQualityControlTask": {"Definition": 31}}, "InvalidParameterValue.Definition", "31"),
    ({**SEED_1, "AiQualityControlTask": {"Definition": 30, "ChannelExtPara": "x"}}, "InvalidParameterValue",
     "ChannelExtPara"),
    ({**SEED_1, "AiQualityControlTask": {}}, "MissingParameter", "AiQualityControlTask.Definition"),
    (_refused(AiAnalysisTask={"Definition": 10}), "InvalidParameterValue", "AiAnalysisTask"),
    (_refused(TaskNotifyConfig={"NotifyType": "URL", "NotifyUrl": "http://169.254.169.254/"}),
     "InvalidParameterValue", "link-local"),
    (_refused(TaskNotifyConfig={"NotifyType": "URL", "NotifyUrl": "http://0xa9.0xfe.0xa9.0xfe/"}),
     "InvalidParameterValue", "NotifyUrl"),
    (_refused(TaskNotifyConfig={"NotifyType": "SCF"}), "InvalidParameterValue", "SCF"),
    (_refused(TaskNotifyConfig={"NotifyType": "URL", "NotifyMode": "Often", "NotifyUrl": "http://a.example/"}),
     "InvalidParameterValue", "NotifyMode"),
    (_refused(TaskNotifyConfig={"NotifyType": "URL"}), "MissingParameter", "NotifyUrl"),
    (_refused(TaskNotifyConfig={"NotifyType": "CMQ", "QueueName": "q"}), "InvalidParameterValue", "broker"),
    (_refused(TaskNotifyConfig={"NotifyType": "URL", "NotifyUrl": "http://a.example/",
                                "AwsSQS": {"SQSQueueName": "q"}}), "InvalidParameterValue", "AwsSQS"),
    (_refused(TasksPriority=11), "InvalidParameterValue", "TasksPriority"),
    (_refused(SessionId="s" * 51), "InvalidParameterValue.SessionIdTooLong", "SessionId"),
    (_refused(SessionContext="c" * 1001), "InvalidParameterValue.SessionContextTooLong", "SessionContext"),
    (_refused(TaskType="Idle"), "InvalidParameterValue", "TaskType"),
    (_refused(InputInfo={"Type": "URL", "UrlInputInfo": {"Url": "http://169.254.169.254/a.mp4"}}),
     "InvalidParameterValue.InputInfo", "UrlInputInfo"),
    (_refused(InputInfo={"Type": "COS", "CosInputInfo": {"Bucket": "other-1250000001", "Region": REGION,
                                                          "Object": "/a.mp4"}}),
     "ResourceNotFound.CosBucketNotExist", "other-1250000001"),
    (_refused(OutputDir="out"), "InvalidParameterValue", "OutputDir"),
    (_refused(w_task={"WatermarkSet": [{"Definition": 1}]}), "InvalidParameterValue.Definition", "WatermarkSet"),
    (_refused(m_task={"MosaicSet": [{"CoordinateOrigin": "TopLeft", "XPos": "0px", "YPos": "0px", "Width": "10%",
                                     "Height": "10%"}]}), "InvalidParameterValue", "MosaicSet"),
    (_refused(h_task={"HeadTailParameter": {"HeadSet": [cos_input()]}}), "InvalidParameterValue",
     "HeadTailParameter"),
    (_refused(s_task={"WatermarkSet": [{"Definition": 0, "SvgContent": "<svg/>"}]}), "InvalidParameterValue",
     "SvgContent"),
    (_refused(d_task={"Definition": 123}), "InvalidParameterValue.Definition", "123"),
    (_refused(p_task={"OutputObjectPath": "{inputName}_{subStreamNumber}.{format}"}), "InvalidParameterValue",
     "{subStreamNumber}"),
    (_refused(n_task={"ObjectNumberFormat": {"MinLength": 3}}), "InvalidParameterValue", "MinLength"),
    (_refused(r_task={"Definition": 0, "RawParameter": {"Container": "mp4", "VideoTemplate": {
        "Codec": "h264", "Width": 640}, "AudioTemplate": {"Codec": "aac"}}}),
     "InvalidParameterValue.ResolutionAdaptive", "ResolutionAdaptive"),
    (_refused(b_task={"Definition": 0, "RawParameter": {"Container": "mp4", "VideoTemplate": {
        "Codec": "h264", "Bframes": 3}, "AudioTemplate": {"Codec": "aac"}}}), "InvalidParameterValue", "Bframes"),
    (_refused(MediaProcessTask={}), "MissingParameter", "MediaProcessTask"),
    (_refused(MediaProcessTask={"SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "TimeOffsetSet": [
        0.1, 0.2, 0.4, 0.5, 0.7, 0.8, 0.95]}]}), "LimitExceeded", "7 jobs"),
    (_refused(MediaProcessTask={"SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["10%"]}]}),
     "InvalidParameterValue", "percent"),
]


@pytest.mark.parametrize(("body", "code", "named"), REFUSALS)
def test_what_cannot_be_honoured_is_refused_by_name(client: mps_client.MpsClient, body: dict[str, Any], code: str,
                                                     named: str) -> None:
    with pytest.raises(TencentCloudSDKException) as info:
        process(client, body)
    assert info.value.get_code() == code and named in info.value.get_message(), info.value


def test_unknown_and_malformed_task_ids(client: mps_client.MpsClient) -> None:
    for task_id, code in (("1250000000-WorkflowTask-" + "0" * 32 + "t0", "ResourceNotFound.TaskNotFound"),
                          ("1250000001-WorkflowTask-" + "0" * 32 + "t0", "ResourceNotFound.TaskNotFound"),
                          ("k" + "0" * 32, "InvalidParameterValue.TaskId")):
        with pytest.raises(TencentCloudSDKException) as info:
            detail(client, task_id)
        assert info.value.get_code() == code


def test_an_offline_task_runs_when_nothing_else_waits(client: mps_client.MpsClient, clip: str) -> None:
    """TaskType Offline is the idle-time lane (the order against Online work: tests/unit/test_mps_priority.py
    and the store contract); with nothing else waiting it runs like any task."""
    task_id = process(client, {"InputInfo": cos_input(clip), "TaskType": "Offline", "MediaProcessTask": {
        "SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["0.5s"]}]}})
    resp = wait_finish(client, task_id)
    task = resp.WorkflowTask.MediaProcessResultSet[0].SnapshotByTimeOffsetTask
    assert (resp.Status, task.Status) == ("FINISH", "SUCCESS"), task.Message
    assert [p.TimeOffset for p in task.Output.PicInfoSet] == [0.5]
