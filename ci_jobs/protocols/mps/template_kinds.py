"""The seven MPS template kinds: the CI template Tag each is stored as, its Create defaults, its presets
(reference §6) as MPS bodies, and the conversion of a body (preset or custom) into CI parameters.

A body is the template's MPS fields without Name and Comment. `convert` gives the CI template's parameter
containers (what the Tag's rules check at Create, and what a CI client sees of it); the codec builds
each subtask's operation from the same conversion, so presets and custom templates run one way.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import presets, watermark
from .errors import InvalidParameterValue, MissingParameter
from .transcode import raw_transcode
from .watermark import element

SPRITE_COUNT = 10000  # the Snapshot Tag's most shots: Interval mode drops the times past the input's end
IMAGE_FORMATS = ("jpg", "png")


@dataclass(frozen=True)
class Kind:
    """One MPS template kind."""

    name: str                                    # MPS's: Transcode, AnimatedGraphics, ...
    tag: str                                     # the CI template kind it is stored as
    convert: Callable[[dict[str, Any], str], dict[str, Any]]
    presets: dict[int, dict[str, Any]]           # Definition -> body (with Name and Comment)
    defaults: dict[str, Any] = field(default_factory=dict)

    @property
    def set_name(self) -> str:
        """The Describe response's list."""
        return f"{self.name}TemplateSet"


def _size(body: dict[str, Any], where: str) -> dict[str, str]:
    """Width/Height as CI's (as the source when 0); ResolutionAdaptive open with a size is refused."""
    out = {n: str(body[n]) for n in ("Width", "Height") if body.get(n)}
    if out and body.get("ResolutionAdaptive", "open") != "close":
        raise InvalidParameterValue(f"{where}.ResolutionAdaptive open (the default) is not supported yet with a "
                                    "Width or Height: set ResolutionAdaptive close (Width and Height as given).",
                                    sub="ResolutionAdaptive")
    if len(out) == 2 and body.get("FillType", "black") != "stretch":
        raise InvalidParameterValue(f"{where}.FillType {body.get('FillType', 'black')} is not supported yet for "
                                    "images of both Width and Height: give stretch.", sub="FillType")
    return out


def image_format(body: dict[str, Any], where: str, formats: tuple[str, ...] = IMAGE_FORMATS) -> str:
    """The image Format of a snapshot kind."""
    fmt = str(body.get("Format", "jpg"))
    if fmt not in formats:
        raise InvalidParameterValue(f"{where}.Format {fmt} is not supported; use {' or '.join(formats)}.",
                                    sub="Format")
    return fmt


def _transcode(body: dict[str, Any], where: str) -> dict[str, Any]:
    return raw_transcode(body, where)


ANIMATED_QUALITY = 75  # MPS's default Quality of an animated graphics template


def _animated(body: dict[str, Any], where: str) -> dict[str, Any]:
    fmt = str(body.get("Format", "gif"))
    if fmt not in ("gif", "webp"):
        raise InvalidParameterValue(f"{where}.Format {fmt} must be gif or webp.", sub="Format")
    if not body.get("Fps"):
        raise MissingParameter(f"{where}.Fps is required.")
    if not 1 <= body["Fps"] <= 30:
        raise InvalidParameterValue(f"{where}.Fps {body['Fps']} must be within [1, 30].", sub="Fps")
    video = {"Codec": fmt, "Fps": str(body["Fps"]), **_size({**body, "FillType": "stretch"}, where)}
    if "Quality" in body:
        if not 1 <= body["Quality"] <= 100:
            raise InvalidParameterValue(f"{where}.Quality {body['Quality']:g} must be within [1, 100].", sub="Quality")
        if fmt == "webp":
            video["Quality"] = f"{body['Quality']:g}"
        elif body["Quality"] != ANIMATED_QUALITY:
            raise InvalidParameterValue(f"{where}.Quality applies to webp: a gif is made with its own palette "
                                        f"(only the default {ANIMATED_QUALITY} is taken for gif).", sub="Quality")
    return {"Container": {"Format": fmt}, "Video": video}


def _snapshot(body: dict[str, Any], where: str) -> dict[str, Any]:
    image_format(body, where)
    return {"Snapshot": {"Mode": "Interval", "Start": "0", "Count": "1", **_size(body, where)}}


def _sampling(body: dict[str, Any], where: str) -> dict[str, str]:
    """SampleType Percent (one shot every SampleInterval % of the duration) or Time (every SampleInterval s)."""
    kind, interval = body.get("SampleType", ""), int(body.get("SampleInterval", 0))
    if interval <= 0:
        raise MissingParameter(f"{where}.SampleInterval is required (a positive number).")
    if kind == "Percent":
        if interval > 100:
            raise InvalidParameterValue(f"{where}.SampleInterval {interval} must be within [1, 100] for Percent.")
        return {"Mode": "Average", "Count": str(100 // interval)}
    if kind == "Time":
        return {"Mode": "Interval", "Start": "0", "TimeInterval": str(interval), "Count": str(SPRITE_COUNT)}
    raise InvalidParameterValue(f"{where}.SampleType {kind or '(empty)'} must be Percent or Time.", sub="SampleType")


def _sample(body: dict[str, Any], where: str) -> dict[str, Any]:
    image_format(body, where)
    return {"Snapshot": {**_sampling(body, where), **_size(body, where)}}


def _sprite(body: dict[str, Any], where: str) -> dict[str, Any]:
    image_format(body, where, ("jpg",))
    cells = _size(body, where)
    for name in ("Width", "Height", "RowCount", "ColumnCount"):
        if not body.get(name):
            raise MissingParameter(f"{where}.{name} is required (a positive number).")
    config = {"CellWidth": cells["Width"], "CellHeight": cells["Height"], "Columns": str(body["ColumnCount"]),
              "Lines": str(body["RowCount"])}
    return {"Snapshot": {**_sampling(body, where), "SnapshotOutMode": "OnlySprite", "SpriteSnapshotConfig": config}}


ADAPTIVE_FORMATS = {"HLS": "hls", "MPEG-DASH": "dash"}


def rungs(body: dict[str, Any], where: str) -> tuple[str, list[dict[str, Any]]]:
    """An AdaptiveDynamicStreaming body's container (hls/dash) and each rung's Transcode parameters."""
    fmt = ADAPTIVE_FORMATS.get(str(body.get("Format", "")))
    if fmt is None:
        raise InvalidParameterValue(f"{where}.Format {body.get('Format') or '(empty)'} must be HLS or MPEG-DASH.",
                                    sub="Format")
    for name in ("DisableHigherVideoBitrate", "DisableHigherVideoResolution", "PureAudio"):
        if body.get(name):
            raise InvalidParameterValue(f"{where}.{name} {body[name]} is not supported yet (give 0).", sub=name)
    if body.get("SegmentType"):
        raise InvalidParameterValue(f"{where}.SegmentType is not supported yet: ci-jobs writes TS segments (HLS) "
                                    "and fMP4 (DASH).", sub="SegmentType")
    streams = body.get("StreamInfos") or []
    if not streams:
        raise MissingParameter(f"{where}.StreamInfos is required.")
    out = []
    for i, s in enumerate(streams):
        raw = {"Container": "hls", "RemoveVideo": s.get("RemoveVideo", 0), "RemoveAudio": s.get("RemoveAudio", 0),
               "VideoTemplate": s.get("Video"), "AudioTemplate": s.get("Audio")}
        params = raw_transcode({k: v for k, v in raw.items() if v is not None}, f"{where}.StreamInfos[{i}]")
        params["Container"] = {"Format": fmt}
        out.append(params)
    return fmt, out


def _adaptive(body: dict[str, Any], where: str) -> dict[str, Any]:
    fmt, streams = rungs(body, where)
    ext = "m3u8" if fmt == "hls" else "mpd"
    return {"AdaptiveStreaming": {"Format": fmt, "Stream": [{"Transcode": p, "Object": f"stream{n}.{ext}"}
                                                            for n, p in enumerate(streams)]}}


def _watermark(body: dict[str, Any], where: str) -> dict[str, Any]:
    return {"Watermark": element(body, where)}


# --- presets as MPS bodies -------------------------------------------------------------------------

def _named(name: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"Name": name, "Comment": "", **body}


def _transcode_presets() -> dict[int, dict[str, Any]]:
    out = {}
    for definition, p in presets.TRANSCODE.items():
        raw = p.raw()
        video = raw.get("VideoTemplate")
        what = f"H264-{video['Height']}P" if video else str(raw["AudioTemplate"]["Codec"]).upper()
        label = f"{p.container.upper()}-{what}"
        if p.trans:
            label = "TESHD-" + label
        out[definition] = _named(label, raw)
    return out


def _stream(rung: int) -> dict[str, Any]:
    raw = presets.TRANSCODE[rung].raw()
    return {"Video": raw["VideoTemplate"], "Audio": raw["AudioTemplate"], "RemoveAudio": 0, "RemoveVideo": 0}


_IMAGE = {"Width": 0, "Height": 0, "ResolutionAdaptive": "open", "Format": "jpg", "FillType": "stretch"}
KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("Transcode", "Transcode", _transcode, _transcode_presets(), {"RemoveVideo": 0, "RemoveAudio": 0}),
    Kind("AnimatedGraphics", "Animation", _animated,
         {d: _named(f"{p.format.upper()}-{p.fps}fps", {"Format": p.format, "Fps": p.fps, "Width": 0, "Height": 0,
                                                       "ResolutionAdaptive": "open", "Quality": 75.0})
          for d, p in presets.ANIMATED.items()},
         {"Width": 0, "Height": 0, "ResolutionAdaptive": "open", "Quality": 75.0}),
    Kind("SnapshotByTimeOffset", "Snapshot", _snapshot, {10: _named("JPG-source-size", _IMAGE)},
         {"Width": 0, "Height": 0, "ResolutionAdaptive": "open", "Format": "jpg", "FillType": "black"}),
    Kind("SampleSnapshot", "Snapshot", _sample,
         {10: _named("JPG-every-10-percent", {**_IMAGE, "SampleType": "Percent", "SampleInterval": 10})},
         {"Width": 0, "Height": 0, "ResolutionAdaptive": "open", "Format": "jpg", "FillType": "black"}),
    Kind("ImageSprite", "Snapshot", _sprite,
         {10: _named("JPG-142x80-10x10-every-10s",
                     {"SampleType": "Time", "SampleInterval": 10, "RowCount": 10, "ColumnCount": 10, "Width": 142,
                      "Height": 80, "ResolutionAdaptive": "close", "FillType": "stretch", "Format": "jpg"})},
         {"ResolutionAdaptive": "open", "FillType": "black", "Format": "jpg"}),
    Kind("AdaptiveDynamicStreaming", "AdaptiveStreaming", _adaptive,
         {d: _named(f"Adaptive-{presets.PACKAGES[p.format]}",
                    {"Format": presets.PACKAGES[p.format], "StreamInfos": [_stream(r) for r in p.rungs],
                     "DisableHigherVideoBitrate": 0, "DisableHigherVideoResolution": 0, "PureAudio": 0})
          for d, p in presets.ADAPTIVE.items()},
         {"DisableHigherVideoBitrate": 0, "DisableHigherVideoResolution": 0, "PureAudio": 0}),
    Kind("Watermark", "Watermark", _watermark, {}, dict(watermark.DEFAULTS)),
)}


def body_of(template: dict[str, Any]) -> dict[str, Any]:
    """A template's body: its fields without Name and Comment (a copy)."""
    return copy.deepcopy({k: v for k, v in template.items() if k not in ("Name", "Comment")})


@dataclass(frozen=True)
class Library:
    """The templates a ProcessMedia may name: every kind's presets and the account's custom ones it named."""

    custom: dict[tuple[str, int], dict[str, Any]]

    def body(self, kind: str, definition: int, where: str) -> dict[str, Any]:
        """The body of a Definition of `kind` (a copy), or InvalidParameterValue.Definition naming the presets."""
        found = KINDS[kind].presets.get(definition) or self.custom.get((kind, definition))
        if found is None:
            known = ", ".join(str(d) for d in sorted(KINDS[kind].presets)) or "none"
            raise InvalidParameterValue(f"{where}.Definition {definition} is neither a {kind} preset ({known}) "
                                        "nor a custom template of this account.", sub="Definition")
        return body_of(found)
