"""Transcode: the Tag's spec and its submit-time rules, extras included (watermarks, RemoveWatermark,
Subtitles, AudioMix, TSC), and the parsed Video.Crop and Video.Pad. The media driver is `media.transcode`.

CI lists Video.Crop and Video.Pad only in its SDK models, as strings; ci-jobs reads them as
FFmpeg's crop and pad filters take plain numbers: Crop `w:h[:x:y]`, Pad `w:h[:x:y[:color]]`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidArgument
from ..mediarules import ContainerSpec, container, flag, num, parse_color, section, text, video_codec
from . import watermark
from .rules import choice, color, many, number_range, time_interval, window
from .spec import Role, TagSpec, TemplateKind
from .streams import check_audio, check_video

TRANSCODE_MODES = ("Normal", "TSC")
_EMBED_EXTS = ("mp4", "mkv")
_NUMBERS = re.compile(r"\d{1,5}")
_MAX_SIDE = 4096  # CI's largest Width/Height


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


def check(op: Mapping[str, Any], params: dict[str, Any], where: str) -> None:
    """Container, Video, Audio, TimeInterval and TransConfig."""
    fmt = text(section(params, "Container"), "Format")
    if not fmt:
        raise InvalidArgument(f"{where}.Container.Format is required")
    spec = container(fmt, f"{where}.Container.Format")
    check_video(params, spec, fmt, f"{where}.Video")
    video = section(params, "Video")
    if spec.video and not flag(video, "Remove"):
        number_range(video, "Rotate", f"{where}.Video", 0, 360, hi_open=True)
        crop(video, f"{where}.Video")
        pad(video, f"{where}.Video")
    check_audio(params, spec, fmt, f"{where}.Audio")
    time_interval(params, where)
    trans = section(params, "TransConfig")
    choice(trans, "AdjDarMethod", f"{where}.TransConfig", ("scale", "crop", "pad", "none"))
    for key in ("ResoAdjMethod", "VideoBitrateAdjMethod", "AudioBitrateAdjMethod", "VideoFpsAdjMethod"):
        choice(trans, key, f"{where}.TransConfig", ("0", "1"))


def check_extras(op: Mapping[str, Any], params: Mapping[str, Any], where: str) -> None:
    """Watermark (at most 3), RemoveWatermark, Subtitles, AudioMix and TranscodeMode."""
    watermark.refuse_digital(op)
    spec = container(text(section(params, "Container"), "Format", "mp4"))
    video = section(params, "Video")
    codec = video_codec(text(video, "Codec", spec.default_video or "h264")) if spec.video else ""
    has_video = bool(spec.video) and not flag(video, "Remove")
    marks = watermark.marks(op)
    if len(marks) > 3:
        raise InvalidArgument("Request.Operation.Watermark may occur at most 3 times")
    for index, mark in enumerate(marks, 1):
        watermark.check(mark, f"Request.Operation.Watermark[{index}]" if len(marks) > 1
                        else "Request.Operation.Watermark")
    if (marks or section(op, "RemoveWatermark") or many(section(op, "Subtitles").get("Subtitle"))) \
            and not has_video:
        raise InvalidArgument("Request.Operation.Watermark, RemoveWatermark and Subtitles need a video stream "
                              "in the output")
    _remove_watermark(section(op, "RemoveWatermark"), codec)
    _subtitles(section(op, "Subtitles"), spec)
    _audio_mix(params)
    _transcode_mode(params, codec, has_video)


def _remove_watermark(params: Mapping[str, Any], codec: str) -> None:
    if not params:
        return
    where = "Request.Operation.RemoveWatermark"
    if codec in ("h265", "av1"):
        raise InvalidArgument(f"{where} is not supported for {codec.upper().replace('H', 'H.')} output")
    for key in ("Dx", "Dy", "Width", "Height"):
        if not text(params, key):
            raise InvalidArgument(f"{where}.{key} is required")
        number_range(params, key, where, 1, 4096)
    start = "StartTime" if text(params, "StartTime") else "Startime"
    window(params, start, "EndTime" if text(params, "EndTime") else "Endtime", where, "must be after")


def _subtitles(params: Mapping[str, Any], spec: ContainerSpec) -> None:
    for index, sub in enumerate(many(params.get("Subtitle")), 1):
        where = f"Request.Operation.Subtitles.Subtitle[{index}]"
        if not text(sub, "Url"):
            raise InvalidArgument(f"{where}.Url is required")
        if flag(sub, "Embed") and spec.ext not in _EMBED_EXTS:
            raise InvalidArgument(f"{where}.Embed true needs Container.Format mp4 or mkv, not {spec.ext}")
        number_range(sub, "FontSize", where, 5, 200)
        number_range(sub, "VMargin", where, 0, 4096)
        color(sub, "FontColor", where)
        color(sub, "OutlineColor", where)


def _audio_mix(params: Mapping[str, Any]) -> None:
    single, array = many(params.get("AudioMix")), many(params.get("AudioMixArray"))
    where = "Request.Operation.Transcode"
    if len(single) > 1:
        raise InvalidArgument(f"{where}.AudioMix may occur at most once")
    if len(array) > 2:
        raise InvalidArgument(f"{where}.AudioMixArray may occur at most 2 times")
    if (single or array) and flag(section(params, "Audio"), "Remove"):
        raise InvalidArgument(f"{where}.AudioMix needs the audio: Audio.Remove is true")
    for index, mix in enumerate(single + array, 1):
        name = f"{where}.AudioMix" if single and index == 1 else f"{where}.AudioMixArray[{index - len(single)}]"
        if not text(mix, "AudioSource"):
            raise InvalidArgument(f"{name}.AudioSource is required")
        choice(mix, "MixMode", name, ("Repeat", "Once"))
        effect = section(mix, "EffectConfig")
        for enable, key in (("EnableStartFadein", "StartFadeinTime"), ("EnableEndFadeout", "EndFadeoutTime"),
                            ("EnableBgmFade", "BgmFadeTime")):
            number_range(effect, key, f"{name}.EffectConfig", 0, 1e6, lo_open=True)
            if flag(effect, enable) and not num(effect, key):
                raise InvalidArgument(f"{name}.EffectConfig.{key} is required when {enable} is true")


def _transcode_mode(params: Mapping[str, Any], codec: str, has_video: bool) -> None:
    trans = section(params, "TransConfig")
    where = "Request.Operation.Transcode.TransConfig"
    choice(trans, "TranscodeMode", where, TRANSCODE_MODES)
    if text(trans, "TranscodeMode").upper() != "TSC":
        return
    if not has_video:
        raise InvalidArgument(f"{where}.TranscodeMode TSC needs a video stream in the output")
    if codec != "h264":
        raise InvalidArgument(f"{where}.TranscodeMode TSC supports Video.Codec H.264 only")


def output_ext(op: Mapping[str, Any]) -> str:
    """`${ext}`: the container's extension."""
    return container(text(section(section(op, "Transcode"), "Container"), "Format", "mp4")).ext


def references(op: Mapping[str, Any]) -> list[str]:
    """Watermark images, subtitle files and AudioMix sources."""
    params = section(op, "Transcode")
    refs = watermark.images(op) + [text(s, "Url") for s in many(section(op, "Subtitles").get("Subtitle"))]
    return refs + [text(m, "AudioSource") for m in many(params.get("AudioMix")) + many(params.get("AudioMixArray"))]


SPEC = TagSpec(
    name="Transcode", container="Transcode", driver="transcode", check=check, extras=check_extras,
    template=TemplateKind(("Container", "Video", "Audio", "TimeInterval", "TransConfig", "AudioMix",
                           "AudioMixArray"), "TransTpl", "Transcode", False, job_tag="Transcode"),
    output_ext=output_ext, references=references,
    roles={"main": Role(), "segment": Role(beside="main")},
)
