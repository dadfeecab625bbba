"""Animation processor: GIF (palette) and animated WebP, frame selection and playback rate."""

from __future__ import annotations

import pickle
import struct
from collections.abc import Callable
from typing import Any

import av
import numpy as np
import pytest

from ci_jobs import tags
from ci_jobs.errors import JobFailed
from ci_jobs.media import OutputFile
from ci_jobs.tags.animation import AnimationOp, Video
from ci_jobs.tags.streams import TimeInterval

from .conftest import Outcome, ramp_value, streams

Process = Callable[..., Outcome]
Clip = Callable[..., str]


def animation(fmt: str = "gif", codec: str = "gif", **video: str) -> dict[str, Any]:
    """A Request.Operation with an inline Animation (TimeInterval via `Start`/`Duration`)."""
    interval = {k: video.pop(k) for k in ("Start", "Duration") if k in video}
    params: dict[str, Any] = {"Container": {"Format": fmt}, "Video": {"Codec": codec, **video}}
    if interval:
        params["TimeInterval"] = interval
    return {"Animation": params, "Output": {"Region": "ap-guangzhou", "Bucket": "b-1", "Object": "a.${ext}"}}


def webp_frames(path: str) -> list[int]:
    """Frame durations (ms) of an animated WebP, read from its ANMF chunks (FFmpeg cannot decode it)."""
    data = open(path, "rb").read()
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    durations, at = [], 12
    while at < len(data):
        tag, size = data[at:at + 4], struct.unpack("<I", data[at + 4:at + 8])[0]
        if tag == b"ANMF":
            durations.append(int.from_bytes(data[at + 20:at + 23], "little"))
        at += 8 + size + (size & 1)
    return durations


@pytest.fixture
def ramp(clip: Clip) -> str:
    """A 2 s 25 fps grey ramp with a key frame every 10 frames."""
    return clip(pattern="ramp", seconds=2.0, gop=10, audio=False)


def test_gif_keeps_every_frame_at_the_source_rate(process: Process, ramp: str) -> None:
    out = process("Animation", animation(), ramp)
    info = streams(out.path())
    assert out.result.ext == "gif" and out.result.files == (OutputFile("animation.gif"),)
    assert info["video"]["codec"] == "gif" and info["video"]["frames"] == 50
    assert (info["video"]["width"], info["video"]["height"]) == (320, 240)
    assert info["duration"] == pytest.approx(2.0, abs=0.05)
    assert info["video"]["means"][0] == pytest.approx(ramp_value(0), abs=8)  # a 256-colour palette
    assert info["video"]["means"][-1] == pytest.approx(ramp_value(49), abs=8)
    assert out.progress[-1] == 100.0 and out.progress == sorted(out.progress)


def test_gif_palette_follows_the_picture(process: Process, clip: Clip) -> None:
    source = clip(seconds=0.4, audio=False)
    out = process("Animation", animation("hgif", Width="160", Fps="10"), source)
    with av.open(source) as original, av.open(out.path()) as gif:
        want = next(original.decode(video=0)).reformat(width=160, height=120).to_ndarray(format="rgb24")
        frames = [f.to_ndarray(format="rgb24") for f in gif.decode(video=0)]
    assert len(frames) == 4 and frames[0].shape == (120, 160, 3)
    assert len(np.unique(frames[0].reshape(-1, 3), axis=0)) > 32  # a real palette, not a few fixed colours
    assert np.abs(frames[0].astype(float) - want).mean() < 12


def test_fps_drops_frames_in_real_time(process: Process, ramp: str) -> None:
    info = streams(process("Animation", animation(Width="160", Fps="10"), ramp).path())
    assert info["video"]["frames"] == 20 and info["duration"] == pytest.approx(2.0, abs=0.1)
    assert (info["video"]["width"], info["video"]["height"]) == (160, 120)


def test_frames_per_second_picks_frames_from_the_window(process: Process, ramp: str) -> None:
    out = process("Animation", animation("hgif", AnimateFramesPerSecond="5", Start="0.5", Duration="1"), ramp)
    info = streams(out.path())["video"]
    assert info["frames"] == 5
    assert info["means"] == pytest.approx([ramp_value(i) for i in (13, 18, 23, 28, 33)], abs=6)


def test_frame_selection_priority(process: Process, ramp: str) -> None:
    keys = streams(process("Animation", animation(AnimateOnlyKeepKeyFrame="true"), ramp).path())["video"]
    assert keys["frames"] == 5 and keys["means"][1] == pytest.approx(ramp_value(10), abs=4)
    both = animation(AnimateOnlyKeepKeyFrame="true", AnimateFramesPerSecond="2", AnimateTimeIntervalOfFrame="0.25")
    assert streams(process("Animation", both, ramp).path())["video"]["frames"] == 4
    step = streams(process("Animation", animation(AnimateTimeIntervalOfFrame="0.25"), ramp).path())["video"]
    assert step["frames"] == 8 and step["means"][1] == pytest.approx(ramp_value(6), abs=6)


def test_webp_with_quality_and_playback_rate(process: Process, clip: Clip) -> None:
    source = clip(seconds=2.0, audio=False)
    low = process("Animation", animation("webp", "webp", Quality="10", Fps="4", AnimateTimeIntervalOfFrame="0.5"),
                  source)
    high = process("Animation", animation("webp", "webp", Quality="95", Fps="4", AnimateTimeIntervalOfFrame="0.5"),
                   source)
    assert low.result.ext == "webp" and low.result.files[0].name == "animation.webp"
    assert webp_frames(low.path()) == [250, 250, 250, 250]
    assert len(open(low.path(), "rb").read()) < len(open(high.path(), "rb").read())


def test_rotated_video_is_animated_upright(process: Process, clip: Clip) -> None:
    source = clip(pattern="pillar", seconds=0.2, audio=False, rotation=180)
    info = streams(process("Animation", animation(Width="160"), source).path())["video"]
    assert (info["width"], info["height"]) == (160, 120)


def test_errors(process: Process, ramp: str, clip: Clip) -> None:
    with pytest.raises(JobFailed, match="does not match") as failed:
        process("Animation", animation("gif", "webp"), ramp)
    assert failed.value.code == "InvalidArgument"
    with pytest.raises(JobFailed, match="beyond the media duration"):
        process("Animation", animation(Start="3"), ramp)
    with pytest.raises(JobFailed, match="no video stream") as failed:
        process("Animation", animation(), clip(video=False, seconds=0.5))
    assert failed.value.code == "InvalidInput"


def test_the_typed_operation_resolves_defaults_and_pickles() -> None:
    op = tags.parse("Animation", animation("webp", "webp", Start="1", Duration="2", AnimateFramesPerSecond="5",
                                           AnimateOnlyKeepKeyFrame="true"))
    assert isinstance(op, AnimationOp) and pickle.loads(pickle.dumps(op)) == op
    assert (op.format, op.ext, op.interval) == ("webp", "webp", TimeInterval(1.0, 2.0))
    assert op.video == Video(frames_per_second=5.0, keyframes=False, quality=75.0)  # the rate wins over key frames
    plain = tags.parse("Animation", animation("hgif", AnimateOnlyKeepKeyFrame="true"))
    assert (plain.ext, plain.interval, plain.video.keyframes) == ("gif", TimeInterval(), True)
    assert plain.output.object == "a.${ext}" and not plain.marks
