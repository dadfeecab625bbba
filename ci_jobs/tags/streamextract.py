"""StreamExtract: listed streams of the input, each packet-copied into its own object. Driver: media.streamextract.

It has no parameter container: its parameters are `Output.StreamExtract[]{Index, Object}`, so Output
stands in as the container the rules are given. The container each stream is written into (BOXES,
DEFAULTS below; the driver's docstring has them as a table) follows the extension the Object ends
with, else the stream's codec. Only the extension can be checked at submit; whether the stream exists
and its codec fits the extension is known when the job runs.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidArgument
from ..mediarules import section, text
from ..storage import safe_key
from ..wildcards import has_number
from .rules import many
from .spec import Lane, Role, TagSpec

WHERE = "Request.Operation.Output.StreamExtract"
_WHOLE = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class Box:
    """A container a copied stream can be written into: its FFmpeg muxer and what it carries."""

    muxer: str
    codecs: frozenset[str] = frozenset()  # FFmpeg codec names it takes without re-encoding
    kinds: frozenset[str] = frozenset()   # or any stream of these types (Matroska takes nearly all)


def _box(muxer: str, codecs: str = "", kinds: str = "") -> Box:
    return Box(muxer, frozenset(codecs.split()), frozenset(kinds.split()))


_MP4 = "h264 hevc av1 mpeg4 vp9 aac mp3 alac flac opus ac3 eac3 mov_text"
_MOV = "h264 hevc av1 mpeg4 prores mjpeg aac mp3 alac pcm_s16le pcm_s24le ac3 mov_text"
_PCM = "pcm_s16le pcm_s24le pcm_s32le pcm_f32le pcm_u8 pcm_alaw pcm_mulaw"

# Output extension -> container. An Object ending in one of these gets it when the codec fits.
BOXES: dict[str, Box] = {
    "mp4": _box("mp4", _MP4), "mov": _box("mov", _MOV), "m4a": _box("ipod", "aac alac"),
    "aac": _box("adts", "aac"), "mp3": _box("mp3", "mp3"), "flac": _box("flac", "flac"),
    "wav": _box("wav", _PCM), "ogg": _box("ogg", "vorbis opus flac"), "opus": _box("opus", "opus"),
    "webm": _box("webm", "vp8 vp9 av1 opus vorbis webvtt"), "ts": _box("mpegts", "h264 hevc mpeg2video aac mp3 ac3"),
    "flv": _box("flv", "h264 aac mp3"), "h264": _box("h264", "h264"), "264": _box("h264", "h264"),
    "h265": _box("hevc", "hevc"), "265": _box("hevc", "hevc"), "hevc": _box("hevc", "hevc"),
    "srt": _box("srt", "subrip"), "ass": _box("ass", "ass ssa"), "ssa": _box("ass", "ass ssa"),
    "vtt": _box("webvtt", "webvtt"),
    "mkv": _box("matroska", kinds="video audio subtitle"), "mka": _box("matroska", kinds="audio"),
    "mks": _box("matroska", kinds="subtitle"),
}
# Codec -> the extension (and so the container) of `${ext}` or an Object without an extension.
DEFAULTS: dict[str, str] = {
    "h264": "mp4", "hevc": "mp4", "av1": "mp4", "mpeg4": "mp4", "vp8": "webm", "vp9": "webm",
    "aac": "m4a", "mp3": "mp3", "flac": "flac", "opus": "opus", "vorbis": "ogg", "pcm_s16le": "wav",
    "subrip": "srt", "ass": "ass", "ssa": "ass", "webvtt": "vtt", "mov_text": "mp4",
}
FALLBACK = {"video": "mkv", "audio": "mka", "subtitle": "mkv"}  # any other codec, by stream type


@dataclass(frozen=True)
class Entry:
    """One Output.StreamExtract element: the stream index and the key pattern it is written to."""

    raw_index: str
    pattern: str
    where: str  # its dotted path, `Request.Operation.Output.StreamExtract[i]` (i counts from 0, as ${Number})

    @property
    def index(self) -> int:
        """The stream index (-1 when Index is not a whole number)."""
        return int(self.raw_index) if _WHOLE.fullmatch(self.raw_index) else -1


@dataclass(frozen=True)
class StreamExtractOp:
    """A checked StreamExtract operation: the streams to copy, each into its own object, in document order."""

    entries: tuple[Entry, ...] = ()


def parse(op: Mapping[str, Any]) -> StreamExtractOp:
    """The typed StreamExtract operation of a checked Operation."""
    return StreamExtractOp(tuple(entries(op)))


def entries(op: Mapping[str, Any]) -> list[Entry]:
    """The StreamExtract entries of an Operation, in document order."""
    items = many(section(op, "Output").get("StreamExtract"))
    return [Entry(text(item, "Index"), text(item, "Object"), f"{WHERE}[{i}]") for i, item in enumerate(items)]


def extension(pattern: str) -> str:
    """The extension an Object pattern ends with, lower case; '' when none or a wildcard (`.${ext}`)."""
    stem, dot, ext = posixpath.basename(pattern).rpartition(".")
    if not (dot and stem and ext) or "$" in ext or "{" in ext:
        return ""
    return ext.lower()


def check(op: Mapping[str, Any], params: dict[str, Any], where: str) -> None:
    """At least one entry; each a whole Index and a safe Object with a known extension; no Index twice, no
    Object twice (one pattern with `${Number}` may serve every entry: it names a different key for each)."""
    found = entries(op)
    if not found:
        raise InvalidArgument(f"{where}.StreamExtract is required")
    for entry in found:
        _check_entry(entry)
    _unique(found, "Index", lambda e: e.index)
    _unique([e for e in found if not has_number(e.pattern)], "Object", lambda e: e.pattern)  # ${Number} differs


def _check_entry(entry: Entry) -> None:
    if not entry.raw_index:
        raise InvalidArgument(f"{entry.where}.Index is required")
    if entry.index < 0:
        raise InvalidArgument(f"{entry.where}.Index {entry.raw_index} must be a stream index (a whole number >= 0)")
    if not entry.pattern:
        raise InvalidArgument(f"{entry.where}.Object is required")
    try:
        safe_key(entry.pattern)
    except InvalidArgument as exc:
        raise InvalidArgument(f"{entry.where}.Object is invalid: {exc.message}") from exc
    ext = extension(entry.pattern)
    if ext and ext not in BOXES:
        raise InvalidArgument(f"{entry.where}.Object {entry.pattern} ends with .{ext}, which is not a container "
                              f"a stream is copied into; end it with .${{ext}} or one of .{', .'.join(BOXES)}")


def _unique(found: list[Entry], field: str, key: Callable[[Entry], object]) -> None:
    seen: dict[object, Entry] = {}
    for entry in found:
        first = seen.setdefault(key(entry), entry)
        if first is not entry:
            raise InvalidArgument(f"{entry.where}.{field} {key(entry)} repeats {first.where}.{field}: "
                                  "each stream and each object may be listed once")


def output_ext(op: Mapping[str, Any]) -> str:
    """`${ext}` depends on each stream's codec, known only when the job runs: each file carries its own."""
    return ""


SPEC = TagSpec(
    name="StreamExtract", container="Output", driver="streamextract", check=check, parse=parse, lane=Lane.FAST,
    output_ext=output_ext, roles={"stream": Role(per_file=True)},
)
