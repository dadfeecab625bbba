"""AdaptiveDynamicStreamingTaskSet on the AdaptiveStreaming Tag: HLS and DASH ladders, each rung decoded at its size,
the master playlist (HLS) and the one manifest (DASH) opened by PyAV from the downloaded files."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import av
import pytest
from qcloud_cos import CosS3Client
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.mps.v20190612 import mps_client

from ..conftest import BUCKET
from .conftest import cos_input, process, wait_finish
from .test_process_media import SEED_2

HEIGHTS = [360, 540, 720]
MPD = "urn:mpeg:dash:schema:mpd:2011"


def download_folder(cos: CosS3Client, prefix: str, into: Path) -> list[str]:
    """Every object under `prefix` into `into` (file names kept: playlists name their neighbours)."""
    names = []
    for item in cos.list_objects(Bucket=BUCKET, Prefix=prefix).get("Contents", []):
        name = item["Key"][len(prefix):]
        (into / name).write_bytes(cos.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].get_raw_stream().read())
        names.append(name)
    return sorted(names)


def sizes(path: Path) -> list[tuple[int, int]]:
    """(width, height) of the first decoded frame of every video stream."""
    out = []
    with av.open(str(path)) as c:
        for stream in c.streams.video:
            c.seek(0)
            frame = next(c.decode(stream))
            out.append((frame.width, frame.height))
    return out


def ladder(client: mps_client.MpsClient, body: dict[str, Any]) -> Any:
    resp = wait_finish(client, process(client, body), timeout=180)
    result = resp.WorkflowTask.MediaProcessResultSet[0]
    assert result.Type == "AdaptiveDynamicStreaming"
    task = result.AdaptiveDynamicStreamingTask
    assert task.Status == "SUCCESS", task.Message
    return task


def test_seed_2_hls_ladder_with_a_master_playlist(client: mps_client.MpsClient, cos: CosS3Client, clip: str,
                                                   tmp_path: Path) -> None:
    """Seed 001's second body: Definition 10 with its own manifest name."""
    task = ladder(client, SEED_2)
    out = task.Output
    assert (out.Definition, out.Package) == (10, "HLS")
    assert out.Path == "/share/output/clip_adaptiveDynamicStreaming.m3u8"
    assert out.Storage.CosOutputStorage.Bucket == BUCKET
    names = download_folder(cos, "share/output/", tmp_path)
    rungs = [f"clip_adaptiveDynamicStreaming_10_{n}.m3u8" for n in range(3)]
    assert set(rungs) < set(names) and any(n.endswith(".ts") for n in names)
    master = (tmp_path / "clip_adaptiveDynamicStreaming.m3u8").read_text()
    assert master.startswith("#EXTM3U") and master.count("#EXT-X-STREAM-INF:") == 3
    for rung, height in zip(rungs, HEIGHTS, strict=True):
        assert rung in master and f"RESOLUTION={height * 4 // 3}x{height}" in master
        assert sizes(tmp_path / rung) == [(height * 4 // 3, height)]
    with av.open(str(tmp_path / "clip_adaptiveDynamicStreaming.m3u8")) as c:  # the master: every variant
        assert sorted(s.codec_context.height for s in c.streams.video) == HEIGHTS
        assert float(c.duration or 0) / 1e6 == pytest.approx(1.0, abs=0.2)
        assert len(list(c.decode(c.streams.video[0]))) > 10


def test_dash_ladder_in_one_manifest(client: mps_client.MpsClient, cos: CosS3Client, clip: str,
                                     tmp_path: Path) -> None:
    task = ladder(client, {"InputInfo": cos_input(clip), "OutputDir": "/mps/dash/", "MediaProcessTask": {
        "AdaptiveDynamicStreamingTaskSet": [{"Definition": 20, "SubStreamObjectName": "v{subStreamNumber}.{format}"}]}})
    assert (task.Output.Package, task.Output.Path) == ("MPEG-DASH", "/mps/dash/clip_adaptiveDynamicStreaming_20.mpd")
    names = download_folder(cos, "mps/dash/", tmp_path)
    assert [n for n in names if n.endswith(".mpd")] == ["clip_adaptiveDynamicStreaming_20.mpd"]
    manifest = (tmp_path / "clip_adaptiveDynamicStreaming_20.mpd").read_text()
    assert manifest.count("<Representation") == 4  # three video rungs and one audio
    assert all(name in names for name in ("v0-init-0.m4s", "v1-init-0.m4s", "v2-init-0.m4s"))
    # FFmpeg here has no DASH demuxer: each Representation is decoded from its init + media segments
    decoded = []
    for rep in ET.fromstring(manifest).iter(f"{{{MPD}}}Representation"):
        template = rep.find(f"{{{MPD}}}SegmentTemplate")
        assert template is not None, "every Representation carries its own SegmentTemplate"
        media = template.get("media", "").replace("$RepresentationID$", rep.get("id", ""))
        init = template.get("initialization", "").replace("$RepresentationID$", rep.get("id", ""))
        parts = [init] + sorted(
            n for n in names if re.fullmatch(re.sub(r"\\\$Number%05d\\\$", r"\\d{5}", re.escape(media)), n))
        joined = tmp_path / f"{rep.get('id')}.mp4"
        joined.write_bytes(b"".join((tmp_path / p).read_bytes() for p in parts))
        if rep.get("height"):
            assert sizes(joined) == [(int(rep.get("width", 0)), int(rep.get("height", 0)))]
            decoded.append(int(rep.get("height", 0)))
    assert sorted(decoded) == HEIGHTS


@pytest.mark.parametrize(("item", "named"), [
    ({"Definition": 12}, "Definition"),
    ({"Definition": 10, "SubStreamObjectName": "sub/{subStreamNumber}.{format}"}, "SubStreamObjectName"),
    ({"Definition": 10, "SegmentObjectName": "{segmentNumber}.ts"}, "SegmentObjectName"),
    ({"Definition": 10, "DrmInfo": {"Type": "SimpleAES"}}, "DrmInfo"),
    ({"Definition": 10, "DefinitionType": "PureAudio"}, "DefinitionType"),
])
def test_adaptive_refusals(client: mps_client.MpsClient, clip: str, item: dict[str, Any], named: str) -> None:
    with pytest.raises(TencentCloudSDKException) as info:
        process(client, {"InputInfo": cos_input(clip), "MediaProcessTask": {"AdaptiveDynamicStreamingTaskSet": [item]}})
    assert info.value.get_code().startswith("InvalidParameterValue") and named in info.value.get_message()
