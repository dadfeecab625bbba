"""AdaptiveStreaming: one input as an HLS or DASH ladder of Transcode rungs and the master playlist (HLS) or
one manifest holding every rung (DASH). Driver: media.adaptivestreaming.

The parameter container lists the rungs: `Stream` elements, each a Transcode container (its Container
the ladder's Format) and the file name of its own playlist (`Object`, beside the master; `${InputName}`
and the other wildcards expand as in Output.Object). Each rung follows the Transcode Tag's rules. The
master goes to Output.Object.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidArgument
from ..mediarules import section, text
from . import transcode
from .output import Output, parse_output
from .rules import many
from .spec import Role, TagSpec, TemplateKind

FORMATS = {"hls": "m3u8", "dash": "mpd"}
MAX_STREAMS = 8


@dataclass(frozen=True)
class AdaptiveStreamingOp:
    """The ladder: its format (hls, dash), each rung's Transcode operation (its Output.Object = its playlist
    name) and the master's Output."""

    format: str
    rungs: tuple[transcode.TranscodeOp, ...]
    output: Output = Output()


def _rung(stream: Mapping[str, Any], out: Mapping[str, Any]) -> dict[str, Any]:
    """A rung as a Transcode Operation writing its playlist `Object` into the master's bucket."""
    return {"Transcode": section(stream, "Transcode"), "Output": {**out, "Object": text(stream, "Object")}}


def parse(op: Mapping[str, Any]) -> AdaptiveStreamingOp:
    """The typed operation of a checked AdaptiveStreaming Operation."""
    params = section(op, "AdaptiveStreaming")
    out = section(op, "Output")
    return AdaptiveStreamingOp(text(params, "Format").lower(),
                               tuple(transcode.parse(_rung(s, out)) for s in many(params.get("Stream"))),
                               parse_output(op))


def check(op: Mapping[str, Any], params: dict[str, Any], where: str) -> None:
    """Format, 1 to MAX_STREAMS rungs of that container, each a valid Transcode with a playlist name."""
    fmt = text(params, "Format").lower()
    if fmt not in FORMATS:
        raise InvalidArgument(f"{where}.Format must be hls or dash")
    streams = many(params.get("Stream"))
    if not 1 <= len(streams) <= MAX_STREAMS:
        raise InvalidArgument(f"{where}.Stream must occur 1 to {MAX_STREAMS} times")
    master = text(section(op, "Output"), "Object")
    if not master.lower().endswith("." + FORMATS[fmt]) and not master.endswith("${ext}"):
        raise InvalidArgument(f"Request.Operation.Output.Object must end in .{FORMATS[fmt]}")
    names = set()
    for i, stream in enumerate(streams):
        at = f"{where}.Stream[{i}]"
        name = text(stream, "Object")
        if not name or "/" in name or not name.lower().endswith("." + FORMATS[fmt]):
            raise InvalidArgument(f"{at}.Object must be a file name (no folder) ending in .{FORMATS[fmt]}")
        if name in names:
            raise InvalidArgument(f"{at}.Object {name} names another stream's playlist too")
        names.add(name)
        rung = _rung(stream, section(op, "Output"))
        if text(section(section(rung, "Transcode"), "Container"), "Format").lower() != fmt:
            raise InvalidArgument(f"{at}.Transcode.Container.Format must be {fmt}")
        transcode.check(rung, section(rung, "Transcode"), f"{at}.Transcode")


SPEC = TagSpec(
    name="AdaptiveStreaming", container="AdaptiveStreaming", driver="adaptivestreaming", check=check, parse=parse,
    output_ext=lambda op: FORMATS.get(text(section(op, "AdaptiveStreaming"), "Format").lower(), ""),
    roles={"main": Role(), "segment": Role(beside="main")},
    template=TemplateKind(("AdaptiveStreaming",), "AdaptiveStreaming", "AdaptiveStreaming", True,
                          job_tag="AdaptiveStreaming", check_output=(("Object", "o.${ext}"),)),
)
