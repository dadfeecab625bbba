"""TESHD custom templates through the unmodified SDK: CreateTranscodeTemplate with TEHDConfig TEHD-100 runs the
TSC encoder of CI's HighSpeedHd templates, and MaxVideoBitrate caps the output's video bitrate."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from qcloud_cos import CosS3Client
from tencentcloud.mps.v20190612 import mps_client

from ..conftest import BUCKET
from ..media import pictures as P
from .conftest import cos_input, fetch, process, wait_finish
from .test_templates import call, describe

FPS, SECONDS = 25, 4
CAP = 500  # kbps; the VBV buffer is then the least the Transcode Tag takes, 1000 kbit (2 s)
VIDEO = {"Codec": "h264", "Fps": FPS}
AUDIO = {"Codec": "aac", "Bitrate": 64, "SampleRate": 44100, "AudioChannel": 2}


@pytest.fixture(scope="module")
def grainy(cos: CosS3Client, tmp_path_factory: pytest.TempPathFactory) -> str:
    """4 s at 320x240 of panning texture under fresh sensor grain each frame (costly to code); its key."""
    rng = np.random.default_rng(7)
    pictures = [np.clip(f + rng.normal(0, 30, f.shape), 0, 255).astype(np.uint8)
                for f in P.frames(320, 240, FPS * SECONDS, step=2)]
    path = P.write(tmp_path_factory.mktemp("teshd") / "grainy.mp4", pictures, fps=FPS, crf=8)
    key = "mps/in/grainy.mp4"
    cos.put_object(Bucket=BUCKET, Key=key, Body=Path(path).read_bytes())
    return key


def video_bits(path: Path) -> tuple[list[int], float, str]:
    """Each video packet's size in bits, the stream's duration and its codec."""
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        sizes = [p.size * 8 for p in c.demux(stream) if p.size]
        return sizes, float(stream.frames or len(sizes)) / FPS, stream.codec_context.name


def test_max_video_bitrate_caps_a_teshd_transcode(client: mps_client.MpsClient, cos: CosS3Client, grainy: str,
                                                  tmp_path: Path) -> None:
    free = call(client, "CreateTranscodeTemplate", {"Name": "teshd", "Container": "mp4", "VideoTemplate": VIDEO,
                                                    "AudioTemplate": AUDIO, "TEHDConfig": {"Type": "TEHD-100"}})
    capped = call(client, "CreateTranscodeTemplate", {
        "Name": "teshd-capped", "Container": "mp4", "VideoTemplate": VIDEO, "AudioTemplate": AUDIO,
        "TEHDConfig": {"Type": "TEHD-100", "MaxVideoBitrate": CAP}})
    _, listed = describe(client, "Transcode", Definitions=[int(free.Definition), int(capped.Definition)],
                         TranscodeType="TEHD")
    assert {(t.TEHDConfig.Type, t.TEHDConfig.MaxVideoBitrate) for t in listed} == {("TEHD-100", 0), ("TEHD-100", CAP)}
    task = process(client, {"InputInfo": cos_input(grainy), "OutputDir": "/mps/teshd/", "MediaProcessTask": {
        "TranscodeTaskSet": [{"Definition": free.Definition, "OutputObjectPath": "free.mp4"},
                             {"Definition": capped.Definition, "OutputObjectPath": "capped.mp4"}]}})
    results = [r.TranscodeTask for r in wait_finish(client, task, timeout=240).WorkflowTask.MediaProcessResultSet]
    assert all(r.Status == "SUCCESS" for r in results), [r.Message for r in results]
    (free_bits, free_s, codec), (cap_bits, cap_s, _) = (video_bits(fetch(cos, r.Output.Path, tmp_path))
                                                        for r in results)
    free_kbps, cap_kbps = sum(free_bits) / free_s / 1000, sum(cap_bits) / cap_s / 1000
    last_second = sum(cap_bits[-FPS:]) / 1000
    print(f"TESHD free {free_kbps:.0f} kbps, MaxVideoBitrate {CAP}: {cap_kbps:.0f} kbps, last second {last_second:.0f}")
    assert codec == "h264" and abs(cap_s - SECONDS) < 0.2
    assert free_kbps > 2 * CAP                           # the clip needs far more than the cap uncapped
    assert sum(cap_bits) / 1000 <= CAP * cap_s + 1000    # the VBV bound: the cap over the run plus its buffer
    assert last_second <= 1.1 * CAP                      # and, the buffer spent, the cap itself
