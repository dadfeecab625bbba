"""Segment: split (and remux) a file into pieces or an HLS/DASH package. Driver: media.segment."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidArgument
from ..mediarules import PACKAGED, SEGMENT_FORMATS, flag, num, section, text
from ..wildcards import has_number
from . import watermark
from .output import Output, parse_output
from .rules import choice, number_range, window
from .spec import Lane, Role, TagSpec, TemplateKind
from .streams import HlsEncrypt


@dataclass(frozen=True)
class SegmentOp:
    """A checked Segment operation: the format, the piece length, the stream to copy, the window and HLS encryption."""

    format: str = "mp4"                 # Format, lower-cased: a SEGMENT_FORMATS key
    duration: float | None = None       # Duration seconds: pieces (None: one file) or HLS/DASH segments
    transcode_index: int | None = None  # TranscodeIndex: the stream index to copy of each type
    start: float = 0.0                  # StartTime seconds
    end: float | None = None            # EndTime seconds (None: to the end)
    hls_encrypt: HlsEncrypt | None = None  # HlsEncrypt with IsHlsEncrypt true (None: segments in the clear)
    output: Output = Output()

    @property
    def packaged(self) -> bool:
        """Whether the output is an HLS/DASH package rather than pieces."""
        return self.format in PACKAGED

    @property
    def muxer(self) -> str:
        """The FFmpeg muxer of the pieces."""
        return SEGMENT_FORMATS[self.format][0]

    @property
    def ext(self) -> str:
        """`${ext}`: the extension of the segment format."""
        return SEGMENT_FORMATS[self.format][1]


def parse(op: Mapping[str, Any]) -> SegmentOp:
    """The typed Segment operation of a checked Operation."""
    params = section(op, "Segment")
    index = num(params, "TranscodeIndex")
    encrypt = section(params, "HlsEncrypt")
    return SegmentOp(text(params, "Format").lower(), num(params, "Duration"), None if index is None else int(index),
                     num(params, "StartTime", 0.0) or 0.0, num(params, "EndTime"),
                     HlsEncrypt(text(encrypt, "UriKey")) if flag(encrypt, "IsHlsEncrypt") else None,
                     parse_output(op))


def check(op: Mapping[str, Any], params: dict[str, Any], where: str) -> None:
    """Format, Duration (whole seconds, >= 5), the time window, HLS encryption and the ${Number} it needs."""
    fmt = text(params, "Format").lower()
    if not fmt:
        raise InvalidArgument(f"{where}.Format is required")
    choice(params, "Format", where, tuple(SEGMENT_FORMATS))
    number_range(params, "Duration", where, 5, 1e9)
    if text(params, "Duration") and not float(num(params, "Duration") or 0).is_integer():
        raise InvalidArgument(f"{where}.Duration {text(params, 'Duration')} must be a whole number of seconds")
    number_range(params, "TranscodeIndex", where, 0, 1e6)
    window(params, "StartTime", "EndTime", where)
    uri = str(section(params, "HlsEncrypt").get("UriKey") or "")
    if re.search(r'[\x00-\x1f"]', uri):  # it is written into FFmpeg's key info file and the playlist
        raise InvalidArgument(f"{where}.HlsEncrypt.UriKey must not contain quotes or control characters")
    if flag(section(params, "HlsEncrypt"), "IsHlsEncrypt") and fmt not in ("hls", "m3u8"):
        raise InvalidArgument(f"{where}.HlsEncrypt.IsHlsEncrypt needs Format hls or m3u8, not {fmt}")
    if text(params, "Duration") and fmt not in PACKAGED and not has_number(text(section(op, "Output"), "Object")):
        raise InvalidArgument("Request.Operation.Output.Object must contain ${Number} when "
                              f"{where}.Duration is set and Format is {fmt}")


def output_ext(op: Mapping[str, Any]) -> str:
    """`${ext}`: the extension of the segment format."""
    fmt = text(section(op, "Segment"), "Format", "mp4").lower()
    return SEGMENT_FORMATS[fmt][1] if fmt in SEGMENT_FORMATS else fmt


SPEC = TagSpec(
    name="Segment", container="Segment", driver="segment", check=check,
    extras=watermark.no_marks("Segment copies packets without decoding them, so nothing can be drawn"),
    lane=Lane.FAST, template=TemplateKind(("Segment",), "Segment", "Segment", True, job_tag="Segment"),
    parse=parse, output_ext=output_ext,
    roles={"main": Role(), "segment": Role(beside="main")},
)
