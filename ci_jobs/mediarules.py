"""Media tables without PyAV: containers, codecs and their options, and parsing of wire values.

The submit-time rules of each Tag (`ci_jobs.tags`) and the media drivers read the same tables and parse
values with `num`/`flag`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
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

VIDEO_ENCODERS = {"h264": "libx264", "h265": "libx265", "vp8": "libvpx", "vp9": "libvpx-vp9",
                  "av1": "libsvtav1"}
AUDIO_ENCODERS = {"aac": "aac", "mp3": "libmp3lame", "opus": "libopus", "vorbis": "vorbis",
                  "flac": "flac", "pcm_s16le": "pcm_s16le"}
_VIDEO_ALIASES = {"avc": "h264", "hevc": "h265"}
SAMPLE_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000)
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
SAMPLE_FORMATS = {"aac": ("fltp",), "mp3": ("fltp", "s16p", "s32p"), "flac": ("s16", "s32", "s16p", "s32p"),
                  "opus": ("s16", "flt"), "pcm_s16le": ("s16",), "vorbis": ("fltp",)}
CHANNELS = {"aac": (1, 2, 4, 5, 6, 8), "flac": (1, 2, 4, 5, 6, 8), "mp3": (1, 2),
             "opus": (1, 2), "vorbis": (2,), "pcm_s16le": (1, 2)}  # FFmpeg's vorbis: stereo only
PRESETS = {"h264": ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow",
                     "slower", "veryslow"),
            "vp8": ("good", "realtime", "best"), "av1": tuple(str(n) for n in range(14))}
PIXFMTS = {"h264": ("yuv420p", "yuv422p", "yuv444p", "yuvj420p", "yuvj422p", "yuvj444p", "auto"),
            "h265": ("yuv420p", "yuv420p10le", "auto")}
IMAGE_EXTS = {"jpg": "mjpeg", "jpeg": "mjpeg", "png": "png", "webp": "libwebp"}


def section(parent: Any, key: str) -> dict[str, Any]:
    """Return the child container `key` of a parsed XML dict ({} when absent or empty)."""
    # Called a dozen times per submitted job: exact-class checks before isinstance.
    value = parent.get(key) if parent.__class__ is dict or isinstance(parent, dict) else None
    if value is None:
        return {}
    if value.__class__ is list:
        value = value[0] if value else None
    return dict(value) if value.__class__ is dict or isinstance(value, dict) else {}


def text(parent: Mapping[str, Any], key: str, default: str = "") -> str:
    """Return the stripped text of leaf `key` (the first when repeated)."""
    # Called tens of times per submitted job: one strip, exact-type checks first.
    value = parent.get(key)
    if value is None:
        return default
    if value.__class__ is list:
        value = value[0] if value else None
    if value.__class__ is str or isinstance(value, str):
        value = value.strip()
        return value or default
    return default


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


def fragments(params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ConcatFragment entries of a ConcatTemplate, in document order."""
    raw = params.get("ConcatFragment")
    items = raw if isinstance(raw, list) else [raw]
    return [dict(f) for f in items if isinstance(f, dict)]


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


# A virtual-hosted COS/CI host name: `<bucket>.cos.<region>.<domain>` (or `.ci.`); protocols/hosts routes by it.
BUCKET_HOST = re.compile(r"^(?P<bucket>[a-z0-9][a-z0-9-]*-\d+)\.(?P<svc>cos|ci)\.(?P<region>[^.]+)\.(?P<rest>.+)$")


def object_bucket(ref: str) -> str | None:
    """The bucket an object URL names by its host (`http://<bucket>.cos.<region>.myqcloud.com/key`); None
    for a plain key or a URL of any other host."""
    ref = ref.strip()
    if "://" not in ref:
        return None
    m = BUCKET_HOST.match((urlsplit(ref).hostname or "").lower())
    return m["bucket"] if m else None


def object_key(ref: str) -> str:
    """The object key of a reference to a bucket object: a plain key or a COS/CI object URL."""
    ref = ref.strip()
    if "://" in ref:
        path = urlsplit(ref).path
        return unquote(path.lstrip("/"))
    return ref.lstrip("/")
