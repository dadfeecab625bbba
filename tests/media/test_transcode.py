"""Transcode processor: every container, codec and parameter, checked by decoding the output."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import av
import pytest

from ci_jobs.errors import JobFailed
from ci_jobs.media import OutputFile

from .conftest import Outcome, ramp_value, streams

Process = Callable[..., Outcome]
Clip = Callable[..., str]


def transcode(fmt: str, video: dict[str, str] | None = None, audio: dict[str, str] | None = None,
              **extra: Any) -> dict[str, Any]:
    """A Request.Operation with an inline Transcode."""
    params: dict[str, Any] = {"Container": {"Format": fmt}, **extra}
    if video is not None:
        params["Video"] = video
    if audio is not None:
        params["Audio"] = audio
    return {"Transcode": params, "Output": {"Region": "ap-guangzhou", "Bucket": "b-1", "Object": "o.${ext}"}}


@pytest.fixture
def source(clip: Clip) -> str:
    """A 1 s 320x240 25 fps H.264 + AAC clip."""
    return clip(seconds=1.0)


def test_default_mp4_keeps_size_and_length(process: Process, source: str) -> None:
    out = process("Transcode", transcode("mp4"), source)
    info = streams(out.path())
    assert out.result.ext == "mp4" and out.result.files == (OutputFile("transcode.mp4"),)
    assert (info["video"]["codec"], info["video"]["width"], info["video"]["height"]) == ("h264", 320, 240)
    assert info["video"]["frames"] == 25 and info["video"]["first"] == 0
    assert info["audio"]["codec"] == "aac" and info["audio"]["samples"] >= 44100 * 0.95
    assert info["duration"] == pytest.approx(1.0, abs=0.1)
    media = out.result.media_info
    assert media["Stream"]["Video"][0]["Width"] == "320" and media["Stream"]["Video"][0]["NumFrames"] == "25"
    assert out.progress[-1] == 100.0 and out.progress == sorted(out.progress) and len(out.progress) > 5


@pytest.mark.parametrize(("fmt", "vcodec", "acodec", "want"), [
    ("mkv", "VP9", "opus", ("vp9", "opus")),
    ("webm", "VP8", "Vorbis", ("vp8", "vorbis")),
    ("webm", "AV1", "opus", ("av1", "opus")),
    ("mov", "H.265", "aac", ("hevc", "aac")),
    ("mp4", "AV1", "mp3", ("av1", "mp3")),
    ("ts", "H.264", "mp3", ("h264", "mp3")),
    ("flv", "H.264", "aac", ("h264", "aac")),
    ("avi", "H.264", "mp3", ("h264", "mp3")),
    ("mkv", "H.264", "flac", ("h264", "flac")),
])
def test_containers_and_codecs(process: Process, clip: Clip, fmt: str, vcodec: str, acodec: str,
                               want: tuple[str, str]) -> None:
    source = clip(w=192, h=144, seconds=0.6)
    out = process("Transcode", transcode(fmt, {"Codec": vcodec}, {"Codec": acodec}), source)
    info = streams(out.path())
    assert out.result.ext == fmt
    assert (info["video"]["codec"], info["audio"]["codec"]) == want
    assert info["video"]["frames"] == 15 and (info["video"]["width"], info["video"]["height"]) == (192, 144)
    assert info["audio"]["samples"] > 0.5 * info["audio"]["rate"]


def test_h265_in_mp4_is_tagged_hvc1(process: Process, clip: Clip) -> None:
    out = process("Transcode", transcode("mp4", {"Codec": "H.265"}), clip(w=160, h=128, seconds=0.4))
    assert out.result.media_info["Stream"]["Video"][0]["CodecTagString"] == "hvc1"


@pytest.mark.parametrize(("fmt", "codec"), [
    ("mp3", "mp3"), ("m4a", "aac"), ("aac", "aac"), ("flac", "flac"), ("wav", "pcm_s16le"),
])
def test_audio_only_containers_drop_video(process: Process, source: str, fmt: str, codec: str) -> None:
    out = process("Transcode", transcode(fmt), source)
    info = streams(out.path())
    assert "video" not in info and info["audio"]["codec"] == codec
    assert info["audio"]["samples"] / info["audio"]["rate"] == pytest.approx(1.0, abs=0.1)
    assert out.result.ext == fmt


@pytest.mark.parametrize(("size", "want"), [
    ({"Width": "160"}, (160, 120)),
    ({"Height": "150"}, (200, 150)),
    ({"Width": "130"}, (130, 98)),
    ({"Width": "256", "Height": "128"}, (256, 128)),
])
def test_size_keeps_aspect_when_one_side_given(process: Process, source: str, size: dict[str, str],
                                               want: tuple[int, int]) -> None:
    info = streams(process("Transcode", transcode("mp4", size), source).path())
    assert (info["video"]["width"], info["video"]["height"]) == want


def _edges(path: str) -> tuple[float, float, float]:
    """Mean brightness of the first frame's left column band, top row band and centre."""
    with av.open(path) as container:
        image = next(container.decode(video=0)).to_ndarray(format="rgb24").astype(float)
    h, w = image.shape[:2]
    return image[:, : w // 16].mean(), image[: h // 16].mean(), image[h // 3: 2 * h // 3, w // 3: 2 * w // 3].mean()


def test_adj_dar_crop_removes_the_side_bars(process: Process, clip: Clip) -> None:
    source = clip(pattern="pillar", seconds=0.4, audio=False)
    square = {"Width": "240", "Height": "240"}
    cropped = process("Transcode", transcode("mp4", square, TransConfig={"AdjDarMethod": "crop"}), source)
    stretched = process("Transcode", transcode("mp4", square, TransConfig={"AdjDarMethod": "scale"}), source)
    assert _edges(cropped.path())[0] > 220  # the black bars were outside the centre crop
    assert _edges(stretched.path())[0] < 40  # squeezed, but still there
    assert streams(cropped.path())["video"]["width"] == 240


def test_adj_dar_pad_letterboxes(process: Process, clip: Clip) -> None:
    source = clip(pattern="color=c=white", seconds=0.4, audio=False)
    out = process("Transcode", transcode("mp4", {"Width": "320", "Height": "320"},
                                         TransConfig={"AdjDarMethod": "pad"}), source)
    _, top, centre = _edges(out.path())
    assert top < 30 and centre > 220  # black bars above and below the white picture
    info = streams(out.path())
    assert (info["video"]["width"], info["video"]["height"]) == (320, 320)


def test_rotated_video_is_stood_upright(process: Process, clip: Clip) -> None:
    source = clip(pattern="pillar", seconds=0.4, audio=False, rotation=90)
    out = process("Transcode", transcode("mp4", {"Width": "180"}), source)
    with av.open(out.path()) as container:
        pixels = next(container.decode(video=0)).to_ndarray(format="rgb24").astype(float)
    assert pixels.shape[:2] == (240, 180)  # the 320x240 picture displays as 240x320
    assert pixels[:20].mean() < 40 and pixels[120, :20].mean() > 200  # side bars became top/bottom bars
    assert out.result.media_info["Stream"]["Video"][0]["Rotation"] == "0"


def test_fps_drops_frames(process: Process, clip: Clip) -> None:
    out = process("Transcode", transcode("mp4", {"Fps": "10"}), clip(seconds=1.0, audio=False))
    assert streams(out.path())["video"]["frames"] == 10
    assert out.result.media_info["Stream"]["Video"][0]["AvgFps"] == "10.000000"


def test_bitrate_and_crf_change_size(process: Process, source: str) -> None:
    def size(video: dict[str, str]) -> int:
        return os.path.getsize(process("Transcode", transcode("mkv", video, {"Remove": "true"}), source).path())

    assert size({"Bitrate": "100"}) < size({"Bitrate": "1500"})
    assert size({"Crf": "45"}) < size({"Crf": "15"})
    assert size({"Crf": "45", "Bitrate": "5000"}) < size({"Crf": "15", "Bitrate": "100"})  # Crf wins


def _keyframes(path: str) -> int:
    with av.open(path) as container:
        return sum(1 for p in container.demux(video=0) if p.is_keyframe)


def test_gop_profile_preset(process: Process, source: str) -> None:
    gop = process("Transcode", transcode("mp4", {"Gop": "5", "Preset": "ultrafast"}), source)
    assert _keyframes(gop.path()) >= 5
    assert _keyframes(process("Transcode", transcode("mp4"), source).path()) <= 2
    base = process("Transcode", transcode("mp4", {"Profile": "baseline"}), source).result.media_info
    main = process("Transcode", transcode("mp4", {"Profile": "main"}), source).result.media_info
    assert "Baseline" in base["Stream"]["Video"][0]["Profile"] and base["Stream"]["Video"][0]["HasBFrame"] == "0"
    assert main["Stream"]["Video"][0]["Profile"] == "Main"


def test_maxrate_bufsize_cap_the_bitrate(process: Process, clip: Clip) -> None:
    source = clip(pattern="noise", seconds=1.0, audio=False)

    def kbps(video: dict[str, str]) -> float:
        out = process("Transcode", transcode("mp4", video, {"Remove": "true"}), source)
        return float(out.result.media_info["Stream"]["Video"][0]["Bitrate"])

    capped = kbps({"Crf": "10", "Maxrate": "200", "Bufsize": "1000"})
    assert capped < 1000 < kbps({"Crf": "10"})  # a 1 s clip may spend the whole 1000 kbit buffer


def test_pixfmt(process: Process, source: str) -> None:
    out = process("Transcode", transcode("mkv", {"Pixfmt": "yuv444p"}), source)
    assert out.result.media_info["Stream"]["Video"][0]["PixFormat"] == "yuv444p"


def test_remove_video_or_audio(process: Process, source: str) -> None:
    no_video = streams(process("Transcode", transcode("mp4", {"Remove": "true"}), source).path())
    no_audio = streams(process("Transcode", transcode("mp4", None, {"Remove": "true"}), source).path())
    assert "video" not in no_video and "audio" in no_video
    assert "audio" not in no_audio and no_audio["video"]["frames"] == 25


def test_audio_parameters(process: Process, source: str) -> None:
    audio = {"Codec": "aac", "Samplerate": "22050", "Channels": "1", "Bitrate": "48"}
    out = process("Transcode", transcode("m4a", None, audio), source)
    info = streams(out.path())["audio"]
    assert (info["rate"], info["channels"]) == (22050, 1)
    assert float(out.result.media_info["Stream"]["Audio"][0]["Bitrate"]) == pytest.approx(48, rel=0.25)


@pytest.mark.parametrize(("sample_format", "want"), [("s32p", "s32"), ("s16", "s16")])
def test_sample_format(process: Process, source: str, sample_format: str, want: str) -> None:
    out = process("Transcode", transcode("flac", None, {"Codec": "flac", "SampleFormat": sample_format}), source)
    assert out.result.media_info["Stream"]["Audio"][0]["SampleFmt"] == want  # FFmpeg's flac packs samples


@pytest.mark.parametrize(("name", "container", "gop"), [
    ("in.mp4", None, 10), ("in.ts", "mpegts", 50), ("in.mkv", "matroska", 10), ("in.h264", "h264", 10),
])
def test_time_interval_seeks_and_trims(process: Process, clip: Clip, name: str, container: str | None,
                                       gop: int) -> None:
    # MPEG-TS seeks land after the target unless checked; raw H.264 cannot seek at all
    source = clip(name, pattern="ramp", seconds=2.0, gop=gop, container=container, audio=container != "h264")
    out = process("Transcode", transcode("mp4", TimeInterval={"Start": "0.6", "Duration": "0.8"}), source)
    info = streams(out.path())
    assert info["video"]["frames"] == pytest.approx(20, abs=1) and info["video"]["first"] == 0
    assert info["video"]["means"][0] == pytest.approx(ramp_value(15), abs=6)  # frame 15 is t=0.6
    assert info["duration"] == pytest.approx(0.8, abs=0.1)
    if container != "h264":
        assert info["audio"]["samples"] / 44100 == pytest.approx(0.8, abs=0.06)


def test_start_beyond_the_end_fails(process: Process, source: str) -> None:
    with pytest.raises(JobFailed) as failed:
        process("Transcode", transcode("mp4", TimeInterval={"Start": "5"}), source)
    assert failed.value.code == "InvalidArgument" and "beyond the media duration" in failed.value.message


@pytest.mark.parametrize(("video", "trans", "expect"), [
    ({"Width": "640"}, {"IsCheckReso": "true", "ResoAdjMethod": "0"}, (320, 240)),
    ({"Width": "640"}, {"IsCheckReso": "true", "ResoAdjMethod": "1"}, "resolution"),
    ({"Width": "640"}, {}, (640, 480)),
    ({"Fps": "50"}, {"IsCheckVideoFps": "true", "VideoFpsAdjMethod": "0"}, 25),
    ({"Fps": "50"}, {"IsCheckVideoFps": "true", "VideoFpsAdjMethod": "1"}, "frame rate"),
    ({"Bitrate": "50000"}, {"IsCheckVideoBitrate": "true", "VideoBitrateAdjMethod": "1"}, "bitrate"),
])
def test_trans_config_checks(process: Process, source: str, video: dict[str, str], trans: dict[str, str],
                             expect: Any) -> None:
    op = transcode("mp4", video, TransConfig=trans)
    if isinstance(expect, str):
        with pytest.raises(JobFailed) as failed:
            process("Transcode", op, source)
        assert failed.value.code == "InvalidArgument" and expect in failed.value.message
        return
    info = streams(process("Transcode", op, source).path())["video"]
    assert ((info["width"], info["height"]) if isinstance(expect, tuple) else info["frames"]) == expect


def test_bitrate_checks_cap_to_the_source(process: Process, source: str) -> None:
    trans = {"IsCheckVideoBitrate": "true", "IsCheckAudioBitrate": "true"}
    out = process("Transcode", transcode("mp4", {"Bitrate": "50000"}, {"Bitrate": "320"}, TransConfig=trans), source)
    media = out.result.media_info["Stream"]
    assert float(media["Video"][0]["Bitrate"]) < 5000 and float(media["Audio"][0]["Bitrate"]) < 200
    with pytest.raises(JobFailed, match="Audio.Bitrate 320 is above"):
        trans["AudioBitrateAdjMethod"] = "1"
        process("Transcode", transcode("mp4", None, {"Bitrate": "320"}, TransConfig=trans), source)


def test_metadata_is_copied_unless_deleted(process: Process, clip: Clip) -> None:
    source = clip(seconds=0.4, metadata={"title": "hello"})
    kept = streams(process("Transcode", transcode("mp4"), source).path())["metadata"]
    gone = streams(process("Transcode", transcode("mp4", TransConfig={"DeleteMetadata": "true"}), source).path())
    assert kept.get("title") == "hello"
    assert "title" not in gone["metadata"] and "encoder" not in gone["metadata"]


def test_audio_only_input_to_video_container(process: Process, clip: Clip) -> None:
    out = process("Transcode", transcode("mp4"), clip(video=False, seconds=0.5))
    info = streams(out.path())
    assert "video" not in info and info["audio"]["codec"] == "aac"
    assert out.result.media_info["Stream"]["Video"] == []


def test_no_stream_left_fails(process: Process, clip: Clip) -> None:
    with pytest.raises(JobFailed) as failed:
        process("Transcode", transcode("mp3"), clip(audio=False, seconds=0.4))
    assert failed.value.code == "InvalidArgument" and "no stream" in failed.value.message


def test_incompatible_codec_is_refused(process: Process, source: str) -> None:
    with pytest.raises(JobFailed) as failed:
        process("Transcode", transcode("flv", {"Codec": "VP9"}), source)
    assert failed.value.code == "InvalidArgument"
    assert "Video.Codec VP9 is not supported in container flv" in failed.value.message


@pytest.mark.parametrize("damage", ["random", "empty", "truncated", "missing"])
def test_broken_input_fails_cleanly(process: Process, source: str, tmp_path: Any, damage: str) -> None:
    bad = tmp_path / "bad.mp4"
    data = open(source, "rb").read()
    payload = {"random": os.urandom(20000), "empty": b"", "truncated": data[: len(data) // 2]}
    if damage != "missing":
        bad.write_bytes(payload[damage])
    with pytest.raises(JobFailed) as failed:
        process("Transcode", transcode("mp4"), str(bad))
    assert failed.value.code == "InvalidInput"
    if damage in ("random", "truncated"):
        assert "Invalid data found" in failed.value.message and str(tmp_path) not in failed.value.message
