"""Transcode: the Tag's spec, its submit-time rules, extras included (watermarks, RemoveWatermark,
Subtitles, AudioMix, TSC), and its typed operation (`TranscodeOp`). The media driver is `media.transcode`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidArgument
from ..mediarules import ContainerSpec, container, flag, num, object_key, parse_color, section, text, video_codec
from . import watermark
from .output import Output, parse_output
from .rules import choice, color, many, number_range, time_interval, window
from .spec import Role, TagSpec, TemplateKind
from .streams import (
    SEGMENT_SECONDS,
    Audio,
    TimeInterval,
    TransConfig,
    Video,
    check_audio,
    check_video,
    crop,
    pad,
    parse_audio,
    parse_interval,
    parse_trans,
    parse_video,
)

TRANSCODE_MODES = ("Normal", "TSC")
_EMBED_EXTS = ("mp4", "mkv")
WHERE = "Request.Operation.Transcode"


@dataclass(frozen=True)
class Subtitle:
    """One Subtitles.Subtitle: a subtitle file, muxed as a stream (Embed) or burnt in with this style."""

    url: str
    key: str                          # the object key the runner fetched it under
    embed: bool = False
    font_type: str = ""
    font_size: float | None = None    # None: from the frame height
    color: tuple[int, int, int] = (255, 255, 255)
    outline: tuple[int, int, int] = (0, 0, 0)
    vmargin: float | None = None      # pixels above the bottom edge; None: from the frame height


@dataclass(frozen=True)
class AudioMix:
    """One AudioMix or AudioMixArray element: a background track and how it lies under the output."""

    url: str
    key: str              # the object key the runner fetched it under
    repeat: bool = True   # MixMode Repeat (loop the track), not Once
    replace: bool = False  # drop the input's own audio
    fade_in: float = 0.0   # seconds of EffectConfig's start fade-in (0: none)
    fade_out: float = 0.0  # seconds of its end fade-out
    seam: float = 0.0      # seconds of its fade at each loop seam (EnableBgmFade)


@dataclass(frozen=True)
class TranscodeOp:
    """A Transcode job's typed operation: what its driver reads."""

    container: ContainerSpec
    video: Video | None          # None: no video in the output (Video.Remove, or an audio-only container)
    audio: Audio | None          # None: Audio.Remove
    trans: TransConfig = TransConfig()
    interval: TimeInterval = TimeInterval()
    segment_seconds: float = SEGMENT_SECONDS  # HLS/DASH: Container.ClipConfig.Duration, else Video.HlsTsTime
    audio_mix: tuple[AudioMix, ...] = ()      # AudioMix, then AudioMixArray
    subtitles: tuple[Subtitle, ...] = ()
    marks: watermark.Marks = watermark.Marks()
    output: Output = Output()
    digital: watermark.DigitalMark | None = None  # DigitalWatermark: an invisible text in the video


def parse(op: Mapping[str, Any]) -> TranscodeOp:
    """The typed operation of a checked Transcode Operation."""
    params = section(op, "Transcode")
    spec = container(text(section(params, "Container"), "Format", "mp4"))
    seconds = (num(section(section(params, "Container"), "ClipConfig"), "Duration")
               or num(section(params, "Video"), "HlsTsTime") or SEGMENT_SECONDS)
    return TranscodeOp(spec, parse_video(params, spec, f"{WHERE}.Video"), parse_audio(params, spec),
                       parse_trans(params), parse_interval(params), seconds, parse_mixes(params),
                       tuple(_subtitle(s) for s in many(section(op, "Subtitles").get("Subtitle"))),
                       watermark.parse_marks(op), parse_output(op), watermark.parse_digital(op))


def _subtitle(sub: Mapping[str, Any]) -> Subtitle:
    url = text(sub, "Url")
    return Subtitle(url, object_key(url), flag(sub, "Embed"), text(sub, "FontType"), num(sub, "FontSize"),
                    parse_color(text(sub, "FontColor", "0xFFFFFF")) or (255, 255, 255),
                    parse_color(text(sub, "OutlineColor", "0x000000")) or (0, 0, 0), num(sub, "VMargin"))


def parse_mixes(params: Mapping[str, Any]) -> tuple[AudioMix, ...]:
    """The AudioMix, then AudioMixArray, elements of a checked parameter container."""
    mixes = many(params.get("AudioMix")) + many(params.get("AudioMixArray"))
    return tuple(_mix(m) for m in mixes)


def _mix(mix: Mapping[str, Any]) -> AudioMix:
    effect = section(mix, "EffectConfig")

    def seconds(enable: str, key: str) -> float:
        return (num(effect, key, 0.0) or 0.0) if flag(effect, enable) else 0.0

    url = text(mix, "AudioSource")
    return AudioMix(url, object_key(url), text(mix, "MixMode", "Repeat").lower() != "once", flag(mix, "Replace"),
                    seconds("EnableStartFadein", "StartFadeinTime"), seconds("EnableEndFadeout", "EndFadeoutTime"),
                    seconds("EnableBgmFade", "BgmFadeTime"))


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
    """Watermark (at most 3), RemoveWatermark, Subtitles, AudioMix, TranscodeMode and DigitalWatermark."""
    watermark.check_digital(op)
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
    if (marks or section(op, "RemoveWatermark") or many(section(op, "Subtitles").get("Subtitle"))
            or "DigitalWatermark" in op) and not has_video:
        raise InvalidArgument("Request.Operation.Watermark, RemoveWatermark, Subtitles and DigitalWatermark need "
                              "a video stream in the output")
    _remove_watermark(section(op, "RemoveWatermark"), codec)
    _subtitles(section(op, "Subtitles"), spec)
    check_audio_mix(params)
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


def check_audio_mix(params: Mapping[str, Any], where: str = WHERE) -> None:
    """AudioMix (once) and AudioMixArray (at most 2) of the parameter container at `where`."""
    single, array = many(params.get("AudioMix")), many(params.get("AudioMixArray"))
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
    name="Transcode", container="Transcode", driver="transcode", check=check, parse=parse, extras=check_extras,
    template=TemplateKind(("Container", "Video", "Audio", "TimeInterval", "TransConfig", "AudioMix",
                           "AudioMixArray"), "TransTpl", "Transcode", False, job_tag="Transcode"),
    output_ext=output_ext, references=references,
    roles={"main": Role(), "segment": Role(beside="main")}, data_container="DigitalWatermark",
)
