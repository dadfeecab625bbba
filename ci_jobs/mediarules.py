"""Media rules without PyAV: container/codec tables, parameter parsing and submit-time checks.

The service layer calls `check` before a job is stored, so a bad parameter is refused with a
clear InvalidArgument; the processors read the same tables and parse values with `num`/`flag`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from .errors import InvalidArgument


@dataclass(frozen=True)
class ContainerSpec:
    """How one Transcode Container.Format is written and what it may carry."""

    muxer: str
    ext: str
    video: tuple[str, ...]
    audio: tuple[str, ...]
    default_video: str | None
    default_audio: str


_ISO = ("h264", "h265", "av1")
CONTAINERS: dict[str, ContainerSpec] = {
    "mp4": ContainerSpec("mp4", "mp4", _ISO, ("aac", "mp3"), "h264", "aac"),
    "mov": ContainerSpec("mov", "mov", _ISO, ("aac", "mp3"), "h264", "aac"),
    "mkv": ContainerSpec(
        "matroska", "mkv", (*_ISO, "vp8", "vp9"), ("aac", "mp3", "opus", "vorbis", "flac"),
        "h264", "aac",
    ),
    "flv": ContainerSpec("flv", "flv", ("h264",), ("aac", "mp3"), "h264", "aac"),
    "ts": ContainerSpec("mpegts", "ts", ("h264",), ("aac", "mp3"), "h264", "aac"),
    "avi": ContainerSpec("avi", "avi", ("h264",), ("aac", "mp3"), "h264", "aac"),
    "webm": ContainerSpec("webm", "webm", ("vp8", "vp9", "av1"), ("vorbis", "opus"), "vp8", "vorbis"),
    "mp3": ContainerSpec("mp3", "mp3", (), ("mp3",), None, "mp3"),
    "m4a": ContainerSpec("ipod", "m4a", (), ("aac",), None, "aac"),
    "aac": ContainerSpec("adts", "aac", (), ("aac",), None, "aac"),
    "adts": ContainerSpec("adts", "aac", (), ("aac",), None, "aac"),
    "flac": ContainerSpec("flac", "flac", (), ("flac",), None, "flac"),
    "wav": ContainerSpec("wav", "wav", (), ("pcm_s16le",), None, "pcm_s16le"),
    "hls": ContainerSpec("hls", "m3u8", ("h264", "h265"), ("aac", "mp3"), "h264", "aac"),
    "m3u8": ContainerSpec("hls", "m3u8", ("h264", "h265"), ("aac", "mp3"), "h264", "aac"),
    "dash": ContainerSpec("dash", "mpd", ("h264",), ("aac",), "h264", "aac"),
}
NOT_YET = ("amr",)

# Segment Format -> (muxer, extension); the audio-only ones carry only their own codec.
SEGMENT_FORMATS = {"aac": ("adts", "aac"), "mp3": ("mp3", "mp3"), "flac": ("flac", "flac"),
                   "mp4": ("mp4", "mp4"), "ts": ("mpegts", "ts"), "mkv": ("matroska", "mkv"),
                   "avi": ("avi", "avi"), "flv": ("flv", "flv"), "hls": ("hls", "m3u8"),
                   "m3u8": ("hls", "m3u8"), "dash": ("dash", "mpd")}
SEGMENT_AUDIO_ONLY = ("aac", "mp3", "flac")
PACKAGED = ("hls", "m3u8", "dash")  # a playlist/manifest plus segment files
CONCAT_CONTAINERS = {
    **{k: CONTAINERS[k] for k in ("mp4", "flv", "ts", "mp3", "aac")},
    "hls": ContainerSpec("hls", "m3u8", ("h264",), ("aac", "mp3"), "h264", "aac"),
}
INPUT_OPTIONAL = ("Concat",)  # Tags whose Request.Input may be absent (fragments carry the media)
# Tags whose inline parameter container is not named after the Tag.
_PARAMETERS = {"Concat": "ConcatTemplate"}

VIDEO_ENCODERS = {"h264": "libx264", "h265": "libx265", "vp8": "libvpx", "vp9": "libvpx-vp9",
                  "av1": "libsvtav1"}
AUDIO_ENCODERS = {"aac": "aac", "mp3": "libmp3lame", "opus": "libopus", "vorbis": "vorbis",
                  "flac": "flac", "pcm_s16le": "pcm_s16le"}
_VIDEO_ALIASES = {"avc": "h264", "hevc": "h265"}
SAMPLE_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000)
_OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
SAMPLE_FORMATS = {"aac": ("fltp",), "mp3": ("fltp", "s16p", "s32p"), "flac": ("s16", "s32", "s16p", "s32p"),
                  "opus": ("s16", "flt"), "pcm_s16le": ("s16",), "vorbis": ("fltp",)}
_CHANNELS = {"aac": (1, 2, 4, 5, 6, 8), "flac": (1, 2, 4, 5, 6, 8), "mp3": (1, 2),
             "opus": (1, 2), "vorbis": (2,), "pcm_s16le": (1, 2)}  # FFmpeg's vorbis: stereo only
_PRESETS = {"h264": ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow",
                     "slower", "veryslow"),
            "vp8": ("good", "realtime", "best"), "av1": tuple(str(n) for n in range(14))}
_PIXFMTS = {"h264": ("yuv420p", "yuv422p", "yuv444p", "yuvj420p", "yuvj422p", "yuvj444p", "auto"),
            "h265": ("yuv420p", "yuv420p10le", "auto")}
IMAGE_EXTS = {"jpg": "mjpeg", "jpeg": "mjpeg", "png": "png", "webp": "libwebp"}
_NUMBER = re.compile(r"\$\{number\}", re.IGNORECASE)


def section(parent: Any, key: str) -> dict[str, Any]:
    """Return the child container `key` of a parsed XML dict ({} when absent or empty)."""
    value = parent.get(key) if isinstance(parent, dict) else None
    if isinstance(value, list):
        value = value[0] if value else None
    return dict(value) if isinstance(value, dict) else {}


def text(parent: Mapping[str, Any], key: str, default: str = "") -> str:
    """Return the stripped text of leaf `key` (the first when repeated)."""
    value = parent.get(key)
    if isinstance(value, list):
        value = value[0] if value else None
    return value.strip() if isinstance(value, str) and value.strip() else default


def num(parent: Mapping[str, Any], key: str, default: float | None = None) -> float | None:
    """Parse leaf `key` as a finite number; absent, empty or unparsable gives `default`."""
    try:
        value = float(text(parent, key))
    except ValueError:
        return default
    return value if math.isfinite(value) else default


def flag(parent: Mapping[str, Any], key: str) -> bool:
    """Parse a CI boolean leaf (`true`/`1`)."""
    return text(parent, key).lower() in ("true", "1")


def video_codec(name: str) -> str:
    """Normalise a CI video codec name (`H.264`, `h264`, `HEVC`) to a table key."""
    key = name.lower().replace(".", "").replace("-", "")
    return _VIDEO_ALIASES.get(key, key)


def container(fmt: str, where: str = "Request.Operation.Transcode.Container.Format") -> ContainerSpec:
    """Look up a Transcode container; refuse unknown and not-yet-supported ones."""
    key = fmt.lower()
    if key in NOT_YET:
        raise InvalidArgument(f"{where} {fmt} is not supported yet")
    if key not in CONTAINERS:
        raise InvalidArgument(f"{where} {fmt or '(empty)'} is invalid")
    return CONTAINERS[key]


def image_ext(object_key: str) -> str:
    """The image extension implied by a Snapshot Output.Object (jpg when none or ${ext})."""
    name = object_key.rsplit("/", 1)[-1]
    if "." not in name or "$" in name.rsplit(".", 1)[1]:
        return "jpg"  # no extension, `.${ext}` or a wildcard after the last dot
    return name.rsplit(".", 1)[1].lower()


def has_number(object_key: str) -> bool:
    """Whether an object key holds the ${Number} wildcard (any case)."""
    return bool(_NUMBER.search(object_key))


def parameters(tag: str) -> str:
    """The name of a Tag's inline parameter container (`ConcatTemplate` for Concat)."""
    return _PARAMETERS.get(tag, tag)


def fragments(params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ConcatFragment entries of a ConcatTemplate, in document order."""
    raw = params.get("ConcatFragment")
    items = raw if isinstance(raw, list) else [raw]
    return [dict(f) for f in items if isinstance(f, dict)]


def output_ext(tag: str, operation: Mapping[str, Any]) -> str:
    """The value of `${ext}` for a job's output."""
    if tag == "Segment":
        fmt = text(section(operation, "Segment"), "Format", "mp4").lower()
        return SEGMENT_FORMATS[fmt][1] if fmt in SEGMENT_FORMATS else fmt
    if tag == "Concat":
        fmt = text(section(section(operation, "ConcatTemplate"), "Container"), "Format", "mp4").lower()
        return CONCAT_CONTAINERS[fmt].ext if fmt in CONCAT_CONTAINERS else fmt
    if tag == "Transcode":
        fmt = text(section(section(operation, "Transcode"), "Container"), "Format", "mp4")
        return container(fmt).ext
    if tag == "Animation":
        fmt = text(section(section(operation, "Animation"), "Container"), "Format", "gif")
        return "webp" if fmt.lower() == "webp" else "gif"
    if tag == "Snapshot":
        if text(section(operation, "Snapshot"), "SnapshotOutMode").lower() == "onlysprite":
            return "jpg"
        return image_ext(text(section(operation, "Output"), "Object"))
    return ""


def check(tag: str, operation: Mapping[str, Any]) -> None:
    """Refuse a media operation whose parameters CI would reject (raises InvalidArgument)."""
    checker = _CHECKERS.get(tag)
    if checker is None:
        return
    key = parameters(tag)
    where = f"Request.Operation.{key}"
    if key not in operation and text(operation, "TemplateId"):
        return  # the template's own parameters were checked when it was saved
    if not isinstance(operation.get(key), Mapping):
        raise InvalidArgument(f"{where} is required")
    checker(operation, section(operation, key), where)
    from . import mediaextras  # imported late: it builds on the helpers of this module

    mediaextras.check(tag, operation, section(operation, key))


def _range(parent: Mapping[str, Any], key: str, where: str, lo: float, hi: float, *, lo_open: bool = False,
           hi_open: bool = False, zero_ok: bool = False, choices: tuple[int, ...] = ()) -> None:
    raw = text(parent, key)
    if not raw:
        return
    value = num(parent, key)
    name = f"{where}.{key} {raw}"
    if value is None:
        raise InvalidArgument(f"{name} is not a number")
    if zero_ok and value == 0:
        return
    if choices and value not in choices:
        raise InvalidArgument(f"{name} must be one of {', '.join(map(str, choices))}")
    if value < lo or value > hi or (lo_open and value == lo) or (hi_open and value == hi):
        left, right = "(" if lo_open else "[", ")" if hi_open else "]"
        raise InvalidArgument(f"{name} is out of range {left}{lo:g}, {hi:g}{right}")


def _choice(parent: Mapping[str, Any], key: str, where: str, allowed: tuple[str, ...]) -> None:
    raw = text(parent, key)
    if raw and raw.lower() not in tuple(a.lower() for a in allowed):
        raise InvalidArgument(f"{where}.{key} {raw} must be one of {', '.join(allowed)}")


def _size(parent: Mapping[str, Any], where: str) -> None:
    for key in ("Width", "Height"):
        _range(parent, key, where, 128, 4096, zero_ok=True)


def _time_interval(params: Mapping[str, Any], where: str) -> None:
    interval = section(params, "TimeInterval")
    for key in ("Start", "Duration"):
        _range(interval, key, f"{where}.TimeInterval", 0, 1e9)


def _check_transcode(op: Mapping[str, Any], params: dict[str, Any], where: str) -> None:
    fmt = text(section(params, "Container"), "Format")
    if not fmt:
        raise InvalidArgument(f"{where}.Container.Format is required")
    spec = container(fmt, f"{where}.Container.Format")
    _check_video(params, spec, fmt, f"{where}.Video")
    _check_audio(params, spec, fmt, f"{where}.Audio")
    _time_interval(params, where)
    trans = section(params, "TransConfig")
    _choice(trans, "AdjDarMethod", f"{where}.TransConfig", ("scale", "crop", "pad", "none"))
    for key in ("ResoAdjMethod", "VideoBitrateAdjMethod", "AudioBitrateAdjMethod",
                "VideoFpsAdjMethod"):
        _choice(trans, key, f"{where}.TransConfig", ("0", "1"))


def _check_video(params: dict[str, Any], spec: ContainerSpec, fmt: str, where: str) -> None:
    video = section(params, "Video")
    if not video or flag(video, "Remove") or not spec.video:
        return
    codec = text(video, "Codec", spec.default_video or "")
    key = video_codec(codec)
    if key not in VIDEO_ENCODERS:
        raise InvalidArgument(f"{where}.Codec {codec} is invalid")
    if key not in spec.video:
        raise InvalidArgument(f"{where}.Codec {codec} is not supported in container {fmt}")
    _size(video, where)
    _range(video, "Fps", where, 0, 1e6, lo_open=True)  # CI clamps anything above 60 to 60
    _range(video, "Crf", where, 0, 51, lo_open=True)
    if text(video, "Bitrate").lower() != "auto":
        _range(video, "Bitrate", where, 10, 50000)
    _range(video, "Gop", where, 0, 100000)
    _range(video, "Maxrate", where, 10, 50000, zero_ok=True)
    _range(video, "Bufsize", where, 1000, 128000, zero_ok=True)
    if key == "h264":
        _choice(video, "Profile", where, ("baseline", "main", "high", "auto"))
    if key in _PRESETS:
        _choice(video, "Preset", where, _PRESETS[key])
    if key in _PIXFMTS:
        _choice(video, "Pixfmt", where, _PIXFMTS[key])


def _check_audio(params: dict[str, Any], spec: ContainerSpec, fmt: str, where: str) -> None:
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
    rates: tuple[int, ...] = _OPUS_RATES if key == "opus" else SAMPLE_RATES
    if key == "mp3":
        rates = (11025, 22050, 44100) if spec.muxer == "flv" else rates[:9]
    _range(audio, "Samplerate", where, 0, 1e6, choices=rates)
    _range(audio, "Channels", where, 0, 8, choices=_CHANNELS[key])
    _range(audio, "Bitrate", where, 8, 1000)
    _choice(audio, "SampleFormat", where, SAMPLE_FORMATS[key])


def _check_snapshot(op: Mapping[str, Any], params: dict[str, Any], where: str) -> None:
    _choice(params, "Mode", where, ("Interval", "Average", "KeyFrame"))
    if not text(params, "Count"):
        raise InvalidArgument(f"{where}.Count is required")
    _range(params, "Count", where, 0, 10000, lo_open=True)
    _range(params, "Start", where, 0, 1e9)
    _range(params, "TimeInterval", where, 0, 3600, lo_open=True)
    _size(params, where)
    mode = text(params, "SnapshotOutMode", "OnlySnapshot")
    _choice(params, "SnapshotOutMode", where, ("OnlySnapshot", "OnlySprite", "SnapshotAndSprite"))
    output = section(op, "Output")
    count = int(num(params, "Count", 1) or 1)
    if mode.lower() != "onlysprite":
        obj = text(output, "Object")
        if image_ext(obj) not in IMAGE_EXTS:
            raise InvalidArgument(
                f"Request.Operation.Output.Object extension {image_ext(obj)} is not one of "
                "jpg, jpeg, png, webp")
        if count > 1 and not has_number(obj):
            raise InvalidArgument("Request.Operation.Output.Object must contain ${Number} "
                                  "when Count is greater than 1")
    if mode.lower() != "onlysnapshot":
        _check_sprite(params, output, count, f"{where}.SpriteSnapshotConfig")


def _check_sprite(params: dict[str, Any], output: dict[str, Any], count: int, where: str) -> None:
    sprite = section(params, "SpriteSnapshotConfig")
    if not sprite:
        raise InvalidArgument(f"{where} is required for sprite output")
    for key in ("Columns", "Lines"):
        if not text(sprite, key):
            raise InvalidArgument(f"{where}.{key} is required")
        _range(sprite, key, where, 1, 10000)
    for key in ("CellWidth", "CellHeight"):
        _range(sprite, key, where, 8, 4096, zero_ok=True)
    for key in ("Padding", "Margin"):
        _range(sprite, key, where, 0, 1024)
    _choice(sprite, "ScaleMethod", where, ("DirectScale", "MaxWHScaleAndPad", "MaxWHScale"))
    if text(sprite, "Color") and parse_color(text(sprite, "Color")) is None:
        raise InvalidArgument(f"{where}.Color {text(sprite, 'Color')} is not a color")
    key = text(output, "SpriteObject")
    if not key:
        raise InvalidArgument("Request.Operation.Output.SpriteObject is required for sprite output")
    if image_ext(key) not in ("jpg", "jpeg"):
        raise InvalidArgument("Request.Operation.Output.SpriteObject must be a jpg")
    cells = int(num(sprite, "Columns", 1) or 1) * int(num(sprite, "Lines", 1) or 1)
    if count > cells and not has_number(key):
        raise InvalidArgument("Request.Operation.Output.SpriteObject must contain ${Number} "
                              "when several sprites are produced")


def _check_animation(op: Mapping[str, Any], params: dict[str, Any], where: str) -> None:
    fmt = text(section(params, "Container"), "Format")
    _choice(section(params, "Container"), "Format", f"{where}.Container", ("gif", "hgif", "webp"))
    if not fmt:
        raise InvalidArgument(f"{where}.Container.Format is required")
    video = section(params, "Video")
    codec = text(video, "Codec")
    if not codec:
        raise InvalidArgument(f"{where}.Video.Codec is required")
    _choice(video, "Codec", f"{where}.Video", ("gif", "webp"))
    if (codec.lower() == "webp") != (fmt.lower() == "webp"):
        raise InvalidArgument(f"{where}.Video.Codec {codec} does not match Container.Format {fmt}")
    _size(video, f"{where}.Video")
    _range(video, "Fps", f"{where}.Video", 0, 1e6, lo_open=True)
    _range(video, "AnimateFramesPerSecond", f"{where}.Video", 0, 1e6, lo_open=True)
    _range(video, "AnimateTimeIntervalOfFrame", f"{where}.Video", 0, 1e9, lo_open=True)
    _range(video, "Quality", f"{where}.Video", 1, 100, hi_open=True)
    _time_interval(params, where)
    step = num(video, "AnimateTimeIntervalOfFrame")
    span = num(section(params, "TimeInterval"), "Duration")
    if step and span and step >= span:
        raise InvalidArgument(f"{where}.Video.AnimateTimeIntervalOfFrame must be less than "
                              "TimeInterval.Duration")


def _check_window(params: Mapping[str, Any], where: str) -> None:
    for key in ("StartTime", "EndTime"):
        _range(params, key, where, 0, 1e9)
    start, end = num(params, "StartTime"), num(params, "EndTime")
    if start is not None and end is not None and end <= start:
        raise InvalidArgument(f"{where}.EndTime {end:g} must be greater than StartTime {start:g}")


def _check_segment(op: Mapping[str, Any], params: dict[str, Any], where: str) -> None:
    fmt = text(params, "Format").lower()
    if not fmt:
        raise InvalidArgument(f"{where}.Format is required")
    _choice(params, "Format", where, tuple(SEGMENT_FORMATS))
    _range(params, "Duration", where, 5, 1e9)
    if text(params, "Duration") and not float(num(params, "Duration") or 0).is_integer():
        raise InvalidArgument(f"{where}.Duration {text(params, 'Duration')} must be a whole number of seconds")
    _range(params, "TranscodeIndex", where, 0, 1e6)
    _check_window(params, where)
    uri = str(section(params, "HlsEncrypt").get("UriKey") or "")
    if re.search(r'[\x00-\x1f"]', uri):  # it is written into FFmpeg's key info file and the playlist
        raise InvalidArgument(f"{where}.HlsEncrypt.UriKey must not contain quotes or control characters")
    if flag(section(params, "HlsEncrypt"), "IsHlsEncrypt") and fmt not in ("hls", "m3u8"):
        raise InvalidArgument(f"{where}.HlsEncrypt.IsHlsEncrypt needs Format hls or m3u8, not {fmt}")
    if text(params, "Duration") and fmt not in PACKAGED and not has_number(text(section(op, "Output"), "Object")):
        raise InvalidArgument("Request.Operation.Output.Object must contain ${Number} when "
                              f"{where}.Duration is set and Format is {fmt}")


def _check_concat(op: Mapping[str, Any], params: dict[str, Any], where: str) -> None:
    pieces = fragments(params)
    if not pieces:
        raise InvalidArgument(f"{where}.ConcatFragment is required")
    for fragment in pieces:
        if not object_key(text(fragment, "Url")):
            raise InvalidArgument(f"{where}.ConcatFragment.Url is required")
        _choice(fragment, "Mode", f"{where}.ConcatFragment", ("Start", "End"))
        _check_window(fragment, f"{where}.ConcatFragment")
    _range(params, "Index", where, 0, len(pieces))
    fmt = text(section(params, "Container"), "Format")
    if not fmt:
        raise InvalidArgument(f"{where}.Container.Format is required")
    if fmt.lower() not in CONCAT_CONTAINERS:
        raise InvalidArgument(f"{where}.Container.Format {fmt} must be one of {', '.join(CONCAT_CONTAINERS)}")
    spec = CONCAT_CONTAINERS[fmt.lower()]
    video = section(params, "Video")
    if spec.video and not flag(video, "Remove") and video_codec(text(video, "Codec", "H.264")) != "h264":
        raise InvalidArgument(f"{where}.Video.Codec {text(video, 'Codec')} must be H.264")
    _check_video(params, spec, fmt, f"{where}.Video")
    _range(video, "Fps", f"{where}.Video", 0, 60, lo_open=True)
    _check_audio(params, spec, fmt, f"{where}.Audio")
    scene = section(params, "SceneChangeInfo")
    _choice(scene, "Mode", f"{where}.SceneChangeInfo", ("Default", "FADE", "GRADIENT"))
    _range(scene, "Time", f"{where}.SceneChangeInfo", 0, 5, lo_open=True)
    if flag(params, "DirectConcat") and text(scene, "Mode", "Default").lower() != "default":
        raise InvalidArgument(f"{where}.SceneChangeInfo needs re-encoding and cannot be used with DirectConcat")
    if params.get("AudioMix") or params.get("AudioMixArray"):
        raise InvalidArgument(f"{where}.AudioMix is not supported yet")


_CHECKERS = {"Transcode": _check_transcode, "Snapshot": _check_snapshot,
             "Animation": _check_animation, "Segment": _check_segment, "Concat": _check_concat}

COLORS = {
    "white": (255, 255, 255), "black": (0, 0, 0), "red": (255, 0, 0), "green": (0, 128, 0),
    "lime": (0, 255, 0), "blue": (0, 0, 255), "yellow": (255, 255, 0), "cyan": (0, 255, 255),
    "aqua": (0, 255, 255), "magenta": (255, 0, 255), "fuchsia": (255, 0, 255),
    "gray": (128, 128, 128), "grey": (128, 128, 128), "silver": (192, 192, 192),
    "maroon": (128, 0, 0), "olive": (128, 128, 0), "navy": (0, 0, 128), "purple": (128, 0, 128),
    "teal": (0, 128, 128), "orange": (255, 165, 0), "pink": (255, 192, 203),
    "brown": (165, 42, 42), "gold": (255, 215, 0), "aquamarine": (127, 255, 212),
    "azure": (240, 255, 255), "beige": (245, 245, 220), "coral": (255, 127, 80),
    "crimson": (220, 20, 60), "darkblue": (0, 0, 139), "darkgray": (169, 169, 169),
    "darkgreen": (0, 100, 0), "darkred": (139, 0, 0), "ivory": (255, 255, 240),
    "khaki": (240, 230, 140), "lavender": (230, 230, 250), "lightblue": (173, 216, 230),
    "lightgray": (211, 211, 211), "lightgreen": (144, 238, 144), "orchid": (218, 112, 214),
    "salmon": (250, 128, 114), "skyblue": (135, 206, 235), "tomato": (255, 99, 71),
    "turquoise": (64, 224, 208), "violet": (238, 130, 238), "wheat": (245, 222, 179),
}


def parse_color(value: str) -> tuple[int, int, int] | None:
    """Parse an FFmpeg-style colour (a name, `0xRRGGBB` or `#RRGGBB`); None when invalid."""
    raw = value.strip().lower()
    if raw in COLORS:
        return COLORS[raw]
    match = re.fullmatch(r"(?:0x|#)([0-9a-f]{6})(?:[0-9a-f]{2})?", raw)
    if not match:
        return None
    rgb = int(match.group(1), 16)
    return (rgb >> 16) & 255, (rgb >> 8) & 255, rgb & 255


def object_key(ref: str) -> str:
    """The object key of a reference to a bucket object: a plain key or a COS/CI object URL."""
    ref = ref.strip()
    if "://" in ref:
        path = urlsplit(ref).path
        return unquote(path.lstrip("/"))
    return ref.lstrip("/")


def referenced_objects(tag: str, operation: Mapping[str, Any]) -> list[str]:
    """Keys of the bucket objects a job reads besides Input.Object (watermark images, fragments, ...).

    The runner fetches each one and hands the processor `Task.objects[key] = local path`.
    """
    keys: list[str] = []
    for collect in _REFERENCES:
        for ref in collect(tag, operation):
            key = object_key(ref)
            if key and key not in keys:
                keys.append(key)
    return keys


def _concat_fragments(tag: str, operation: Mapping[str, Any]) -> list[str]:
    if tag != "Concat":
        return []
    return [text(f, "Url") for f in fragments(section(operation, "ConcatTemplate"))]


def _extra_objects(tag: str, operation: Mapping[str, Any]) -> list[str]:
    from . import mediaextras  # watermark images, subtitle files, AudioMix sources

    return mediaextras.objects(tag, operation)


_REFERENCES: list[Callable[[str, Mapping[str, Any]], list[str]]] = [_concat_fragments, _extra_objects]
