"""Submit-time rules for Transcode's extras: Watermark, RemoveWatermark, Subtitles, AudioMix, TSC.

`mediarules.check` calls `check` after a Tag's own rules (for Tags other than Transcode only the
Watermark rules apply); the processors
(`processors.watermark`, `subtitles`, `audiomix`, `tsc`) read the same fields. Ranges that
the XSD cannot express (they depend on LocMode, Mode, the codec or the container) live here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import InvalidArgument
from .mediarules import (
    ContainerSpec,
    _choice,
    _range,
    container,
    flag,
    num,
    parse_color,
    section,
    text,
    video_codec,
)

TRANSCODE_MODES = ("Normal", "TSC")
_POSITIONS = ("TopLeft", "Top", "TopRight", "Left", "Center", "Right", "BottomLeft", "Bottom", "BottomRight")
_EMBED_EXTS = ("mp4", "mkv")


def _many(value: Any) -> list[dict[str, Any]]:
    items = value if isinstance(value, list) else [value]
    return [dict(i) for i in items if isinstance(i, dict)]


def check(tag: str, op: Mapping[str, Any], params: Mapping[str, Any]) -> None:
    """Refuse a job whose extras CI would reject (raises InvalidArgument); other Tags: watermarks only."""
    if tag != "Transcode":
        marks = _many(op.get("Watermark"))
        for index, mark in enumerate(marks, 1):
            watermark(mark, f"Request.Operation.Watermark[{index}]")
        return
    spec = container(text(section(params, "Container"), "Format", "mp4"))
    video = section(params, "Video")
    codec = video_codec(text(video, "Codec", spec.default_video or "h264")) if spec.video else ""
    has_video = bool(spec.video) and not flag(video, "Remove")
    marks = _many(op.get("Watermark"))
    if len(marks) > 3:
        raise InvalidArgument("Request.Operation.Watermark may occur at most 3 times")
    for index, mark in enumerate(marks, 1):
        watermark(mark, f"Request.Operation.Watermark[{index}]" if len(marks) > 1 else "Request.Operation.Watermark")
    if (marks or section(op, "RemoveWatermark") or _many(section(op, "Subtitles").get("Subtitle"))) and not has_video:
        raise InvalidArgument("Request.Operation.Watermark, RemoveWatermark and Subtitles need a video stream "
                              "in the output")
    _remove_watermark(section(op, "RemoveWatermark"), codec)
    _subtitles(section(op, "Subtitles"), spec)
    _audio_mix(params)
    _transcode_mode(params, codec, has_video)


def watermark(mark: Mapping[str, Any], where: str) -> None:
    """One Watermark element (inline or a Watermark template's body)."""
    kind = text(mark, "Type")
    _choice(mark, "Type", where, ("Text", "Image"))
    _choice(mark, "Pos", where, _POSITIONS)
    _choice(mark, "LocMode", where, ("Relativity", "Absolute", "Relative"))
    relative = text(mark, "LocMode").lower().startswith("relativ")
    image = section(mark, "Image")
    if kind.lower() == "image" and flag(image, "Background"):
        raise InvalidArgument(f"{where}.Image.Background true is not supported yet")
    for key in ("Dx", "Dy"):
        _range(mark, key, where, 0, 100 if relative else 4096)
    _window(mark, "StartTime", "EndTime", where)
    slide = text(section(mark, "SlideConfig"), "SlideMode")
    if slide and slide.lower() not in ("default", "off", "none"):
        raise InvalidArgument(f"{where}.SlideConfig.SlideMode {slide} is not supported yet")
    if kind.lower() == "text":
        _text(section(mark, "Text"), f"{where}.Text")
    elif kind.lower() == "image":
        _image(image, f"{where}.Image")


def _text(params: Mapping[str, Any], where: str) -> None:
    if not text(params, "Text"):
        raise InvalidArgument(f"{where}.Text is required for a Text watermark")
    if len(text(params, "Text")) > 64:
        raise InvalidArgument(f"{where}.Text is longer than 64 characters")
    _range(params, "FontSize", where, 5, 100)
    _range(params, "Transparency", where, 1, 100)
    _color(params, "FontColor", where)


def _image(params: Mapping[str, Any], where: str) -> None:
    if not text(params, "Url"):
        raise InvalidArgument(f"{where}.Url is required for an Image watermark")
    _choice(params, "Mode", where, ("Original", "Proportion", "Fixed"))
    mode = text(params, "Mode", "Original").lower()
    for key in ("Width", "Height"):
        if mode == "proportion":
            _range(params, key, where, 1, 100)
        elif mode == "fixed":
            _range(params, key, where, 8, 4096)
    _range(params, "Transparency", where, 1, 100)


def _remove_watermark(params: Mapping[str, Any], codec: str) -> None:
    if not params:
        return
    where = "Request.Operation.RemoveWatermark"
    if codec in ("h265", "av1"):
        raise InvalidArgument(f"{where} is not supported for {codec.upper().replace('H', 'H.')} output")
    for key in ("Dx", "Dy", "Width", "Height"):
        if not text(params, key):
            raise InvalidArgument(f"{where}.{key} is required")
        _range(params, key, where, 1, 4096)
    start = "StartTime" if text(params, "StartTime") else "Startime"
    _window(params, start, "EndTime" if text(params, "EndTime") else "Endtime", where)


def _subtitles(params: Mapping[str, Any], spec: ContainerSpec) -> None:
    for index, sub in enumerate(_many(params.get("Subtitle")), 1):
        where = f"Request.Operation.Subtitles.Subtitle[{index}]"
        if not text(sub, "Url"):
            raise InvalidArgument(f"{where}.Url is required")
        if flag(sub, "Embed") and spec.ext not in _EMBED_EXTS:
            raise InvalidArgument(f"{where}.Embed true needs Container.Format mp4 or mkv, not {spec.ext}")
        _range(sub, "FontSize", where, 5, 200)
        _range(sub, "VMargin", where, 0, 4096)
        _color(sub, "FontColor", where)
        _color(sub, "OutlineColor", where)


def _audio_mix(params: Mapping[str, Any]) -> None:
    single, array = _many(params.get("AudioMix")), _many(params.get("AudioMixArray"))
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
        _choice(mix, "MixMode", name, ("Repeat", "Once"))
        effect = section(mix, "EffectConfig")
        for enable, key in (("EnableStartFadein", "StartFadeinTime"), ("EnableEndFadeout", "EndFadeoutTime"),
                            ("EnableBgmFade", "BgmFadeTime")):
            _range(effect, key, f"{name}.EffectConfig", 0, 1e6, lo_open=True)
            if flag(effect, enable) and not num(effect, key):
                raise InvalidArgument(f"{name}.EffectConfig.{key} is required when {enable} is true")


def _transcode_mode(params: Mapping[str, Any], codec: str, has_video: bool) -> None:
    trans = section(params, "TransConfig")
    where = "Request.Operation.Transcode.TransConfig"
    _choice(trans, "TranscodeMode", where, TRANSCODE_MODES)
    if text(trans, "TranscodeMode").upper() != "TSC":
        return
    if not has_video:
        raise InvalidArgument(f"{where}.TranscodeMode TSC needs a video stream in the output")
    if codec != "h264":
        raise InvalidArgument(f"{where}.TranscodeMode TSC supports Video.Codec H.264 only")


def _window(params: Mapping[str, Any], start: str, end: str, where: str) -> None:
    _range(params, start, where, 0, 1e9)
    _range(params, end, where, 0, 1e9)
    lo, hi = num(params, start), num(params, end)
    if lo is not None and hi is not None and hi <= lo:
        raise InvalidArgument(f"{where}.{end} {hi:g} must be after {start} {lo:g}")


def _color(params: Mapping[str, Any], key: str, where: str) -> None:
    raw = text(params, key)
    if raw and parse_color(raw) is None:
        raise InvalidArgument(f"{where}.{key} {raw} is not a colour such as 0xFF0000 or #FF0000")


def objects(tag: str, operation: Mapping[str, Any]) -> list[str]:
    """Bucket objects named by the extras: watermark images, subtitle files, AudioMix sources."""
    refs = [text(section(m, "Image"), "Url") for m in _many(operation.get("Watermark"))
            if text(m, "Type").lower() == "image"]
    refs += [text(s, "Url") for s in _many(section(operation, "Subtitles").get("Subtitle"))]
    params = section(operation, "Transcode")
    refs += [text(m, "AudioSource") for m in _many(params.get("AudioMix")) + _many(params.get("AudioMixArray"))]
    return [r for r in refs if r]
