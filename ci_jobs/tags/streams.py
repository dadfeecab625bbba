"""The Video, Audio, TransConfig and TimeInterval containers Transcode and Concat share: their rules and
their typed form (parsed from an Operation the rules have checked, defaults resolved).

CI lists Video.Crop and Video.Pad only in its SDK models, as strings; ci-jobs reads them as
FFmpeg's crop and pad filters take plain numbers: Crop `w:h[:x:y]`, Pad `w:h[:x:y[:color]]`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
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
    num,
    parse_color,
    section,
    text,
    video_codec,
)
from .rules import choice, number_range, size

SEGMENT_SECONDS = 5.0  # CI's default HLS/DASH segment length (Container.ClipConfig.Duration)
_NUMBERS = re.compile(r"\d{1,5}")
_MAX_SIDE = 4096  # CI's largest Width/Height

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


@dataclass(frozen=True)
class Crop:
    """Video.Crop: the `width` x `height` area at (x, y) of the upright source picture (centred: None)."""

    width: int
    height: int
    x: int | None = None
    y: int | None = None


@dataclass(frozen=True)
class Pad:
    """Video.Pad: a `width` x `height` canvas of `color` with the picture at (x, y) (centred: None)."""

    width: int
    height: int
    x: int | None = None
    y: int | None = None
    color: tuple[int, int, int] = (0, 0, 0)


def crop(video: Mapping[str, Any], where: str) -> Crop | None:
    """Parse Video.Crop `w:h[:x:y]` (pixels of the upright source); None when absent."""
    raw = text(video, "Crop")
    if not raw:
        return None
    parts = raw.split(":")
    if len(parts) not in (2, 4) or not all(_NUMBERS.fullmatch(p) for p in parts) or not all(int(p) for p in parts[:2]):
        raise InvalidArgument(f"{where}.Crop {raw} must be w:h or w:h:x:y in whole pixels (w, h above 0), "
                              "e.g. 640:360:0:60")
    values = [int(p) for p in parts]
    x, y = values[2:] if len(values) == 4 else (None, None)
    return Crop(values[0], values[1], x, y)


def pad(video: Mapping[str, Any], where: str) -> Pad | None:
    """Parse Video.Pad `w:h[:x:y[:color]]` (the output canvas; black by default); None when absent."""
    raw = text(video, "Pad")
    if not raw:
        return None
    parts = raw.split(":")
    numbers, color = (parts[:4], parts[4]) if len(parts) == 5 else (parts, "black")
    rgb = parse_color(color)
    if len(numbers) not in (2, 4) or not all(_NUMBERS.fullmatch(p) for p in numbers) or rgb is None:
        raise InvalidArgument(f"{where}.Pad {raw} must be w:h, w:h:x:y or w:h:x:y:color in whole pixels "
                              "and an FFmpeg colour, e.g. 1280:720:0:60:black")
    values = [int(p) for p in numbers]
    if not all(2 <= v <= _MAX_SIDE and v % 2 == 0 for v in values[:2]):
        raise InvalidArgument(f"{where}.Pad {raw}: w and h must be even and within [2, {_MAX_SIDE}]")
    x, y = values[2:] if len(values) == 4 else (None, None)
    return Pad(values[0], values[1], x, y, rgb)


@dataclass(frozen=True)
class Video:
    """An output's Video container: its encoder settings (unset numbers: None) and geometry."""

    codec: str                    # a VIDEO_ENCODERS key (the container's default when unset)
    fps: float | None = None
    width: float | None = None
    height: float | None = None
    crf: float | None = None
    bitrate: float | None = None  # kbps; None also for `auto`
    gop: float | None = None
    maxrate: float | None = None
    bufsize: float | None = None
    preset: str = ""              # '' = the encoder's default
    profile: str = "high"         # lower-case
    pix_fmt: str = "yuv420p"      # what the encoder takes (Pixfmt auto, or a codec without the choice: yuv420p)
    rotate: float = 0.0           # clockwise degrees in [0, 360)
    crop: Crop | None = None
    pad: Pad | None = None


@dataclass(frozen=True)
class Audio:
    """An output's Audio container (unset numbers: None)."""

    codec: str                     # an AUDIO_ENCODERS key (the container's default when unset)
    samplerate: int = 44100        # Hz (48000 for Opus when unset)
    channels: int | None = None    # None: the source's
    sample_format: str = ""        # FFmpeg's name as the encoder takes it ('' = the encoder's first)
    bitrate: float | None = None   # kbps


@dataclass(frozen=True)
class SourceCap:
    """One IsCheck*/...AdjMethod pair of TransConfig: whether a request above the source's value is
    held to the source's, and whether the job then fails instead (AdjMethod 1)."""

    on: bool = False
    refuse: bool = False


@dataclass(frozen=True)
class HlsEncrypt:
    """TransConfig.HlsEncrypt switched on: the key URI the playlist names ('' = the key file's name)."""

    uri_key: str = ""


@dataclass(frozen=True)
class TransConfig:
    """TransConfig: source caps, aspect method, metadata, stream choice, TranscodeMode and HLS encryption."""

    adj_dar_method: str = "scale"  # lower-case: scale, crop, pad or none
    reso: SourceCap = SourceCap()
    video_bitrate: SourceCap = SourceCap()
    audio_bitrate: SourceCap = SourceCap()
    fps: SourceCap = SourceCap()
    delete_metadata: bool = False
    transcode_index: int | None = None  # the input stream index to transcode (None: the first)
    tsc: bool = False                   # TranscodeMode TSC
    hls_encrypt: HlsEncrypt | None = None


@dataclass(frozen=True)
class TimeInterval:
    """TimeInterval: the input seconds to use, from `start` for `duration` (None: to the end)."""

    start: float = 0.0
    duration: float | None = None


def parse_video(params: Mapping[str, Any], spec: ContainerSpec, where: str, *, geometry: bool = True) -> Video | None:
    """The checked Video container of an output in container `spec`; None when the output has no video.

    `geometry` False leaves Rotate, Crop and Pad unread (a Tag that refuses or ignores them)."""
    video = section(params, "Video")
    if not spec.video or flag(video, "Remove"):
        return None
    key = video_codec(text(video, "Codec", spec.default_video or "h264"))
    pix_fmt = text(video, "Pixfmt", "yuv420p").lower()
    if pix_fmt == "auto" or key not in ("h264", "h265"):
        pix_fmt = "yuv420p"
    plain = Video(key, num(video, "Fps"), num(video, "Width"), num(video, "Height"), num(video, "Crf"),
                  num(video, "Bitrate"), num(video, "Gop"), num(video, "Maxrate"), num(video, "Bufsize"),
                  text(video, "Preset"), text(video, "Profile", "high").lower(), pix_fmt)
    if not geometry:
        return plain
    return replace(plain, rotate=(num(video, "Rotate") or 0.0) % 360, crop=crop(video, where), pad=pad(video, where))


def parse_audio(params: Mapping[str, Any], spec: ContainerSpec) -> Audio | None:
    """The checked Audio container of an output in container `spec`; None when Audio.Remove drops it."""
    audio = section(params, "Audio")
    if flag(audio, "Remove"):
        return None
    key = text(audio, "Codec", spec.default_audio).lower()
    channels = num(audio, "Channels")
    wanted = text(audio, "SampleFormat").lower()
    # FFmpeg's flac encoder takes packed s16/s32 only; CI's planar names mean the same depth.
    return Audio(key, int(num(audio, "Samplerate") or (48000 if key == "opus" else 44100)),
                 int(channels) if channels else None, wanted.rstrip("p") if key == "flac" else wanted,
                 num(audio, "Bitrate"))


def parse_trans(params: Mapping[str, Any]) -> TransConfig:
    """The checked TransConfig container."""
    trans = section(params, "TransConfig")

    def cap(check: str, method: str) -> SourceCap:
        return SourceCap(flag(trans, check), text(trans, method, "0") == "1")

    encrypt = section(trans, "HlsEncrypt")
    index = num(trans, "TranscodeIndex")
    return TransConfig(text(trans, "AdjDarMethod", "scale").lower(), cap("IsCheckReso", "ResoAdjMethod"),
                       cap("IsCheckVideoBitrate", "VideoBitrateAdjMethod"),
                       cap("IsCheckAudioBitrate", "AudioBitrateAdjMethod"),
                       cap("IsCheckVideoFps", "VideoFpsAdjMethod"), flag(trans, "DeleteMetadata"),
                       None if index is None else int(index), text(trans, "TranscodeMode").upper() == "TSC",
                       HlsEncrypt(text(encrypt, "UriKey")) if flag(encrypt, "IsHlsEncrypt") else None)


def parse_interval(params: Mapping[str, Any]) -> TimeInterval:
    """The checked TimeInterval container (a Duration of 0 runs to the end)."""
    interval = section(params, "TimeInterval")
    return TimeInterval(num(interval, "Start", 0.0) or 0.0, num(interval, "Duration") or None)
