"""MediaInfo probe and the processor registry: CI's field shapes and failure codes."""

from __future__ import annotations

import dataclasses
import os
import pickle
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import av
import pytest

from ci_jobs import tags
from ci_jobs.engine import dispatch
from ci_jobs.engine.dispatch import MODULES, run
from ci_jobs.errors import JobFailed
from ci_jobs.media.mediainfo import probe
from ci_jobs.tags import REGISTRY
from ci_jobs.tags.mediainfo import MediaInfoOp

from ..tasks import make_task
from .conftest import Outcome

Process = Callable[..., Outcome]
Clip = Callable[..., str]


def test_mp4_fields(process: Process, clip: Clip) -> None:
    source = clip(seconds=2.0, fps=25)
    out = process("MediaInfo", {}, source)
    assert out.result.files == () and out.progress[-1] == 100.0
    info = out.result.media_info
    video, audio = info["Stream"]["Video"][0], info["Stream"]["Audio"][0]
    assert {k: video[k] for k in ("Index", "CodecName", "CodecTagString", "CodecTag", "Width", "Height",
                                  "Fps", "AvgFps", "NumFrames", "PixFormat", "Language", "Rotation", "Sar",
                                  "Dar", "Timebase")} == {
        "Index": "0", "CodecName": "h264", "CodecTagString": "avc1", "CodecTag": "0x31637661", "Width": "320",
        "Height": "240", "Fps": "25.000000", "AvgFps": "25.000000", "NumFrames": "50", "PixFormat": "yuv420p",
        "Language": "und", "Rotation": "0", "Sar": "1:1", "Dar": "4:3", "Timebase": "1/12800"}
    assert video["CodecLongName"].startswith("H.264") and video["Duration"] == "2.000000"
    assert audio["CodecName"] == "aac" and audio["SampleRate"] == "44100" and audio["Channel"] == "2"
    assert audio["ChannelLayout"] == "stereo" and audio["SampleFmt"] == "fltp" and audio["Index"] == "1"
    fmt = info["Format"]
    assert fmt["NumStream"] == "2" and fmt["FormatName"].startswith("mov,mp4")
    assert fmt["Size"] == str(os.path.getsize(source)) and float(fmt["Duration"]) == pytest.approx(2.0, abs=0.05)
    assert float(fmt["Bitrate"]) == pytest.approx(os.path.getsize(source) * 8 / 1000 / float(fmt["Duration"]),
                                                  rel=0.01)
    assert fmt["StartTime"] == "0.000000" and len(fmt["Duration"].split(".")[1]) == 6


def test_frames_and_durations_come_from_packets_when_headers_lack_them(clip: Clip) -> None:
    info = probe(clip("in.mkv", seconds=1.2, fps=10, container="matroska"))
    video = info["Stream"]["Video"][0]
    assert video["NumFrames"] == "12" and float(video["Duration"]) == pytest.approx(1.2, abs=0.05)
    assert float(video["Bitrate"]) > 0 and video["CodecTagString"] == "[0][0][0][0]" and video["CodecTag"] == "0x0000"


def test_audio_only_and_rotation(tmp_path: Any, clip: Clip) -> None:
    audio = probe(clip("a.mp3", video=False, acodec="libmp3lame", seconds=1.0))
    assert audio["Stream"]["Video"] == [] and audio["Stream"]["Audio"][0]["CodecName"] == "mp3"
    path = str(tmp_path / "rot.mp4")
    with av.open(path, "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 160, 128, "yuv420p"
        stream.set_display_rotation(90)
        with av.open("testsrc2=size=160x128:rate=25:duration=0.2", format="lavfi") as src:
            for frame in src.decode(video=0):
                out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    assert probe(path)["Stream"]["Video"][0]["Rotation"] == "270"  # 90 counter-clockwise = 270 clockwise


@pytest.mark.parametrize(("content", "words"), [
    (None, "does not exist"), (b"", "empty"), (b"\x00garbage" * 500, "Invalid data found"),
])
def test_unreadable_input(tmp_path: Any, content: bytes | None, words: str) -> None:
    path = tmp_path / "x.mp4"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(JobFailed) as failed:
        run(make_task("MediaInfo", {}, (str(path),), str(tmp_path)), lambda _: None)
    assert failed.value.code == "InvalidInput" and words in failed.value.message


def test_registry() -> None:
    assert set(MODULES) == set(REGISTRY) >= {"Transcode", "Snapshot", "Animation", "MediaInfo", "Segment", "Concat"}
    with pytest.raises(JobFailed, match="no processor"):
        run(make_task("Nope", {}, ("x",), "."), lambda _: None)


def test_unexpected_errors_become_internal_errors(tmp_path: Any, clip: Clip, monkeypatch: Any) -> None:
    from ci_jobs.media import mediainfo

    def boom(path: str) -> dict[str, Any]:
        raise RuntimeError("kaput")

    monkeypatch.setattr(mediainfo, "probe", boom)
    with pytest.raises(JobFailed) as failed:
        run(make_task("MediaInfo", {}, (clip(seconds=0.2),), str(tmp_path)), lambda _: None)
    assert failed.value.code == "InternalError" and "kaput" in failed.value.message


def test_importing_media_does_not_load_av() -> None:
    code = "import sys, ci_jobs.media, ci_jobs.mediarules; assert 'av' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_typed_operation_is_empty_and_pickles() -> None:
    op = tags.parse("MediaInfo", {"MediaInfo": {}})
    assert op == MediaInfoOp() and pickle.loads(pickle.dumps(op)) == op


def test_a_task_asked_to_probe_its_input_reports_its_media_info(tmp_path: Any, clip: Clip) -> None:
    """Task.probe_input (an MPS task's first job, for its MetaData): the input's MediaInfo comes back with
    the job's own result; an input that is not media gives none, and the job's result still stands."""
    source = clip(seconds=0.4, w=96, h=64)
    shot = {"Snapshot": {"Start": "0.1", "Count": "1", "Format": "jpg"}}
    task = dataclasses.replace(make_task("Snapshot", shot, (source,), str(tmp_path)), probe_input=True)
    result = run(task, lambda _: None)
    assert result.files and result.input_info == probe(source)
    video = result.input_info["Stream"]["Video"][0]
    assert (video["Width"], video["Height"]) == ("96", "64")
    assert run(dataclasses.replace(task, probe_input=False), lambda _: None).input_info is None
    text = tmp_path / "notes.txt"
    text.write_text("not media")
    assert dispatch._input_info(str(text)) is None
