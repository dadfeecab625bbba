"""Rules for the Video and Audio containers that Transcode and Concat share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import InvalidArgument
from ..mediarules import (
    AUDIO_ENCODERS,
    CHANNELS,
    OPUS_RATES,
    PIXFMTS,
    PRESETS,
    SAMPLE_FORMATS,
    SAMPLE_RATES,
    VIDEO_ENCODERS,
    ContainerSpec,
    flag,
    section,
    text,
    video_codec,
)
from .rules import choice, number_range, size

# Video fields CI's SDK models carry whose effect ci-jobs does not implement: refused, never ignored.
UNSUPPORTED_VIDEO = ("ScanMode", "Interlaced", "Quality", "Roi", "StdExtInfo", "ColorParam", "DashSegment")


def check_video(params: Mapping[str, Any], spec: ContainerSpec, fmt: str, where: str) -> None:
    """The Video container of an output in container `spec`."""
    video = section(params, "Video")
    if not video or flag(video, "Remove") or not spec.video:
        return
    for key in UNSUPPORTED_VIDEO:
        if video.get(key):
            raise InvalidArgument(f"{where}.{key} is not supported yet")
    if flag(video, "LongShortMode"):
        raise InvalidArgument(f"{where}.LongShortMode true is not supported yet")
    codec = text(video, "Codec", spec.default_video or "")
    key = video_codec(codec)
    if key not in VIDEO_ENCODERS:
        raise InvalidArgument(f"{where}.Codec {codec} is invalid")
    if key not in spec.video:
        raise InvalidArgument(f"{where}.Codec {codec} is not supported in container {fmt}")
    size(video, where)
    number_range(video, "Fps", where, 0, 1e6, lo_open=True)  # CI clamps anything above 60 to 60
    number_range(video, "Crf", where, 0, 51, lo_open=True)
    if text(video, "Bitrate").lower() != "auto":
        number_range(video, "Bitrate", where, 10, 50000)
    number_range(video, "Gop", where, 0, 100000)
    number_range(video, "Maxrate", where, 10, 50000, zero_ok=True)
    number_range(video, "Bufsize", where, 1000, 128000, zero_ok=True)
    if key == "h264":
        choice(video, "Profile", where, ("baseline", "main", "high", "auto"))
    if key in PRESETS:
        choice(video, "Preset", where, PRESETS[key])
    if key in PIXFMTS:
        choice(video, "Pixfmt", where, PIXFMTS[key])


def check_audio(params: Mapping[str, Any], spec: ContainerSpec, fmt: str, where: str) -> None:
    """The Audio container of an output in container `spec`."""
    audio = section(params, "Audio")
    if flag(audio, "Remove"):
        if not spec.video:
            raise InvalidArgument(f"{where}.Remove cannot drop the only stream of container {fmt}")
        return
    codec = text(audio, "Codec", spec.default_audio)
    key = codec.lower()
    if key not in AUDIO_ENCODERS:
        raise InvalidArgument(f"{where}.Codec {codec} is invalid")
    if key not in spec.audio:
        raise InvalidArgument(f"{where}.Codec {codec} is not supported in container {fmt}")
    rates: tuple[int, ...] = OPUS_RATES if key == "opus" else SAMPLE_RATES
    if key == "mp3":
        rates = (11025, 22050, 44100) if spec.muxer == "flv" else rates[:9]
    number_range(audio, "Samplerate", where, 0, 1e6, choices=rates)
    number_range(audio, "Channels", where, 0, 8, choices=CHANNELS[key])
    number_range(audio, "Bitrate", where, 8, 1000)
    choice(audio, "SampleFormat", where, SAMPLE_FORMATS[key])
