"""Submit-time media rules: compatibility tables, ranges, enums, Output wildcards, ${ext}."""

from __future__ import annotations

from typing import Any

import pytest

from ci_jobs.errors import InvalidArgument
from ci_jobs.mediarules import parse_color
from ci_jobs.tags import check_operation as check
from ci_jobs.tags import output_ext

OUTPUT = {"Region": "ap-guangzhou", "Bucket": "b-1250000000", "Object": "out/${Number}.jpg"}


def transcode(fmt: str = "mp4", **parts: Any) -> dict[str, Any]:
    return {"Transcode": {"Container": {"Format": fmt}, **parts}, "Output": OUTPUT}


def snapshot(output: dict[str, str] | None = None, **params: Any) -> dict[str, Any]:
    return {"Snapshot": params, "Output": {**OUTPUT, **(output or {})}}


def animation(fmt: str = "gif", codec: str = "gif", **extra: Any) -> dict[str, Any]:
    video = {"Codec": codec, **extra.pop("Video", {})}
    return {"Animation": {"Container": {"Format": fmt}, "Video": video, **extra}, "Output": OUTPUT}


@pytest.mark.parametrize("op", [
    transcode("mp4"),
    transcode("WebM"),
    transcode("mkv", Video={"Codec": "VP9"}, Audio={"Codec": "opus"}),
    transcode("mkv", Video={"Codec": "H.264"}, Audio={"Codec": "flac"}),
    transcode("webm", Video={"Codec": "AV1"}, Audio={"Codec": "Vorbis"}),
    transcode("mov", Video={"Codec": "H.265", "Width": "1280", "Fps": "90"}, Audio={"Codec": "mp3"}),
    transcode("ts", Video={"Codec": "h264", "Bitrate": "auto", "Crf": "51", "Profile": "Main", "Preset": "fast"}),
    transcode("flv", Audio={"Codec": "mp3", "Samplerate": "22050", "Channels": "2", "Bitrate": "128"}),
    transcode("mp3", Video={"Codec": "VP9"}),  # audio-only containers ignore Video
    transcode("wav", Audio={"Codec": "pcm_s16le", "Channels": "1"}),
    transcode("mp4", Video={"Width": "0", "Height": "", "Gop": "250", "Maxrate": "3000", "Bufsize": "6000"},
              TimeInterval={"Start": "1.5", "Duration": "10"},
              TransConfig={"AdjDarMethod": "pad", "ResoAdjMethod": "1", "IsCheckReso": "true"}),
    {"TemplateId": "t0123", "Output": OUTPUT},
    snapshot(Count="1", Mode="KeyFrame", Width="128"),
    snapshot({"Object": "a/${number}.png"}, Count="100", TimeInterval="0.5"),
    snapshot({"Object": "one.jpg", "SpriteObject": "s/${Number}.jpg"}, Count="30", SnapshotOutMode="OnlySprite",
             SpriteSnapshotConfig={"Columns": "5", "Lines": "5", "Color": "#00ff00", "Margin": "0"}),
    snapshot({"SpriteObject": "s.jpg"}, Count="4", SnapshotOutMode="SnapshotAndSprite",
             SpriteSnapshotConfig={"Columns": "2", "Lines": "2", "Color": "White", "ScaleMethod": "MaxWHScale"}),
    animation(),
    animation("hgif", Video={"AnimateFramesPerSecond": "5", "Fps": "15"}),
    animation("webp", "webp", Video={"Quality": "80", "AnimateTimeIntervalOfFrame": "1"},
              TimeInterval={"Start": "0", "Duration": "5"}),
    {"Output": OUTPUT},  # MediaInfo and others: nothing to check here
])
def test_accepted(op: dict[str, Any]) -> None:
    tag = next((t for t in ("Transcode", "Snapshot", "Animation") if t in op), "MediaInfo")
    check("Transcode" if "TemplateId" in op else tag, op)


@pytest.mark.parametrize(("tag", "op", "message"), [
    ("Transcode", transcode("flv", Video={"Codec": "VP9"}),
     "Request.Operation.Transcode.Video.Codec VP9 is not supported in container flv"),
    ("Transcode", transcode("webm", Video={"Codec": "H.264"}), "Video.Codec H.264 is not supported in container webm"),
    ("Transcode", transcode("mp4", Audio={"Codec": "opus"}), "Audio.Codec opus is not supported in container mp4"),
    ("Transcode", transcode("webm"), None),
    ("Transcode", transcode("m4a", Audio={"Codec": "mp3"}), "Audio.Codec mp3 is not supported in container m4a"),
    ("Transcode", transcode("avi", Video={"Codec": "MPEG2"}), "Video.Codec MPEG2 is invalid"),
    ("Transcode", transcode("hls"), None),
    ("Transcode", transcode("dash", Video={"Codec": "H.265"}), "Video.Codec H.265 is not supported in container dash"),
    ("Transcode", transcode("amr"), "Container.Format amr is not supported yet"),
    ("Transcode", transcode("mxf"), "Container.Format mxf is invalid"),
    ("Transcode", {"Transcode": {"Video": {}}, "Output": OUTPUT}, "Container.Format is required"),
    ("Transcode", {"Output": OUTPUT}, "Request.Operation.Transcode is required"),
    ("Transcode", transcode(Video={"Width": "100"}), "Video.Width 100 is out of range [128, 4096]"),
    ("Transcode", transcode(Video={"Height": "5000"}), "Video.Height 5000 is out of range"),
    ("Transcode", transcode(Video={"Fps": "0"}), "Video.Fps 0 is out of range (0"),
    ("Transcode", transcode(Video={"Fps": "fast"}), "Video.Fps fast is not a number"),
    ("Transcode", transcode(Video={"Crf": "52"}), "Video.Crf 52 is out of range (0, 51]"),
    ("Transcode", transcode(Video={"Bitrate": "5"}), "Video.Bitrate 5 is out of range [10, 50000]"),
    ("Transcode", transcode(Video={"Profile": "extreme"}), "Video.Profile extreme must be one of baseline"),
    ("Transcode", transcode(Video={"Preset": "placebo"}), "Video.Preset placebo must be one of"),
    ("Transcode", transcode(Video={"Pixfmt": "rgb24"}), "Video.Pixfmt rgb24 must be one of"),
    ("Transcode", transcode(Video={"Bufsize": "10"}), "Video.Bufsize 10 is out of range [1000, 128000]"),
    ("Transcode", transcode(Audio={"Bitrate": "2000"}), "Audio.Bitrate 2000 is out of range [8, 1000]"),
    ("Transcode", transcode(Audio={"Samplerate": "44000"}), "Audio.Samplerate 44000 must be one of"),
    ("Transcode", transcode("mkv", Audio={"Codec": "opus", "Samplerate": "44100"}), "Samplerate 44100 must be one of"),
    ("Transcode", transcode("flv", Audio={"Codec": "mp3", "Samplerate": "48000"}), "Samplerate 48000"),
    ("Transcode", transcode(Audio={"Codec": "mp3", "Channels": "6"}), "Audio.Channels 6 must be one of 1, 2"),
    ("Transcode", transcode("mp3", Audio={"Remove": "true"}), "cannot drop the only stream"),
    ("Transcode", transcode(Audio={"SampleFormat": "s16"}), "Audio.SampleFormat s16 must be one of fltp"),
    ("Transcode", transcode(TimeInterval={"Start": "-1"}), "TimeInterval.Start -1 is out of range"),
    ("Transcode", transcode(TransConfig={"AdjDarMethod": "zoom"}), "TransConfig.AdjDarMethod zoom must be one of"),
    ("Transcode", transcode(TransConfig={"ResoAdjMethod": "2"}), "TransConfig.ResoAdjMethod 2 must be one of 0, 1"),
    ("Snapshot", snapshot(Mode="Interval"), "Request.Operation.Snapshot.Count is required"),
    ("Snapshot", snapshot(Count="0"), "Snapshot.Count 0 is out of range (0, 10000]"),
    ("Snapshot", snapshot(Count="10001"), "out of range"),
    ("Snapshot", snapshot(Count="1", Mode="Random"), "Snapshot.Mode Random must be one of Interval"),
    ("Snapshot", snapshot(Count="1", TimeInterval="4000"), "Snapshot.TimeInterval 4000 is out of range (0, 3600]"),
    ("Snapshot", snapshot({"Object": "a.jpg"}, Count="3"), "Output.Object must contain ${Number}"),
    ("Snapshot", snapshot({"Object": "a/${Number}.gif"}, Count="3"), "extension gif is not one of jpg"),
    ("Snapshot", snapshot(Count="1", SnapshotOutMode="Both"), "SnapshotOutMode Both must be one of"),
    ("Snapshot", snapshot(Count="4", SnapshotOutMode="OnlySprite"), "SpriteSnapshotConfig is required"),
    ("Snapshot", snapshot(Count="4", SnapshotOutMode="OnlySprite", SpriteSnapshotConfig={"Columns": "2", "Lines": "2"}),
     "Output.SpriteObject is required"),
    ("Snapshot", snapshot({"SpriteObject": "s.png"}, Count="4", SnapshotOutMode="OnlySprite",
                          SpriteSnapshotConfig={"Columns": "2", "Lines": "2"}), "SpriteObject must be a jpg"),
    ("Snapshot", snapshot({"SpriteObject": "s.jpg"}, Count="5", SnapshotOutMode="OnlySprite",
                          SpriteSnapshotConfig={"Columns": "2", "Lines": "2"}), "SpriteObject must contain ${Number}"),
    ("Snapshot", snapshot({"SpriteObject": "s.jpg"}, Count="4", SnapshotOutMode="OnlySprite",
                          SpriteSnapshotConfig={"Lines": "2"}), "SpriteSnapshotConfig.Columns is required"),
    ("Snapshot", snapshot({"SpriteObject": "s.jpg"}, Count="4", SnapshotOutMode="OnlySprite",
                          SpriteSnapshotConfig={"Columns": "2", "Lines": "2", "Color": "notacolour"}),
     "Color notacolour is not a color"),
    ("Animation", animation("mp4"), "Animation.Container.Format mp4 must be one of gif, hgif, webp"),
    ("Animation", animation("gif", "png"), "Animation.Video.Codec png must be one of gif, webp"),
    ("Animation", animation("webp", "gif"), "Video.Codec gif does not match Container.Format webp"),
    ("Animation", {"Animation": {"Container": {"Format": "gif"}}, "Output": OUTPUT}, "Video.Codec is required"),
    ("Animation", animation(Video={"Quality": "100"}), "Video.Quality 100 is out of range"),
    ("Animation", animation(Video={"Fps": "-1"}), "Video.Fps -1 is out of range"),
    ("Animation", animation(Video={"AnimateTimeIntervalOfFrame": "5"}, TimeInterval={"Duration": "5"}),
     "AnimateTimeIntervalOfFrame must be less than TimeInterval.Duration"),
])
def test_refused(tag: str, op: dict[str, Any], message: str | None) -> None:
    if message is None:
        check(tag, op)  # the defaults (VP8 + Vorbis for webm) are compatible
        return
    with pytest.raises(InvalidArgument) as refused:
        check(tag, op)
    assert message in refused.value.message


@pytest.mark.parametrize(("tag", "op", "ext"), [
    ("Transcode", transcode("mp4"), "mp4"), ("Transcode", transcode("WebM"), "webm"),
    ("Transcode", transcode("mkv"), "mkv"), ("Transcode", transcode("ts"), "ts"),
    ("Transcode", transcode("flv"), "flv"), ("Transcode", transcode("mov"), "mov"),
    ("Transcode", transcode("avi"), "avi"), ("Transcode", transcode("mp3"), "mp3"),
    ("Transcode", transcode("m4a"), "m4a"), ("Transcode", transcode("aac"), "aac"),
    ("Transcode", transcode("flac"), "flac"), ("Transcode", transcode("wav"), "wav"),
    ("Animation", animation("hgif"), "gif"), ("Animation", animation("webp", "webp"), "webp"),
    ("Snapshot", snapshot({"Object": "a/${Number}.PNG"}), "png"),
    ("Snapshot", snapshot({"Object": "a/${Number}.${ext}"}), "jpg"),
    ("Snapshot", snapshot({"Object": "a/${Number}"}), "jpg"),
    ("Snapshot", snapshot({"Object": "a/shot.${Number}"}), "jpg"),
    ("Snapshot", snapshot({"Object": "a/${Number}.png"}, SnapshotOutMode="OnlySprite"), "jpg"),
    ("MediaInfo", {}, ""),
])
def test_output_ext(tag: str, op: dict[str, Any], ext: str) -> None:
    assert output_ext(tag, op) == ext


def test_colors() -> None:
    assert parse_color("Aquamarine") == (127, 255, 212)
    assert parse_color("0xFF8000") == parse_color("#ff8000") == (255, 128, 0)
    assert parse_color("0x11223344") == (0x11, 0x22, 0x33)
    assert parse_color("blurple") is None and parse_color("#12") is None
