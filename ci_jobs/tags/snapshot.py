"""Snapshot: screenshots (and sprite sheets) at intervals, on average or at key frames. Driver: media.snapshot.

CIParam carries CI's image-processing rule for each shot; ci-jobs applies its `imageMogr2/format/<f>`
(jpg, jpeg, png, webp) and `imageMogr2/quality/<1-100>` (jpg, webp) and refuses any other operation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidArgument
from ..mediarules import IMAGE_EXTS, flag, image_ext, num, parse_color, section, text
from ..wildcards import has_number
from . import watermark
from .output import Output, parse_output
from .rules import choice, number_range, size
from .spec import Lane, Role, TagSpec, TemplateKind
from .watermark import Marks, parse_marks

_LOSSY = ("jpg", "jpeg", "webp")  # the formats imageMogr2/quality applies to
BLACK_LEVEL, PIXEL_BLACK = 98.0, 32.0  # FFmpeg's blackframe filter defaults (amount %, threshold)


@dataclass(frozen=True)
class ImageRule:
    """What a Snapshot's CIParam does to each shot: its image format and quality (None: as without)."""

    format: str | None = None
    quality: int | None = None


@dataclass(frozen=True)
class Black:
    """IsCheckBlack: a frame is black when at least `level` (a fraction) of its pixels have a luma under `threshold`."""

    level: float = BLACK_LEVEL / 100
    threshold: float = PIXEL_BLACK


@dataclass(frozen=True)
class Sprite:
    """SpriteSnapshotConfig: Columns x Lines cells of CellWidth x CellHeight (0: from the shot), spaced and coloured."""

    columns: int = 1
    lines: int = 1
    cell_width: float = 0.0
    cell_height: float = 0.0
    padding: int = 0
    margin: int = 0
    color: tuple[int, int, int] = (255, 255, 255)
    method: str = "directscale"  # ScaleMethod, lower-cased: directscale, maxwhscaleandpad, maxwhscale


@dataclass(frozen=True)
class SnapshotOp:
    """A checked Snapshot operation: when to shoot, how big, black-frame skipping and what is written."""

    mode: str = "interval"          # Mode, lower-cased: interval, average or keyframe
    start: float = 0.0              # seconds
    interval: float | None = None   # TimeInterval seconds (None: consecutive frames)
    count: int = 1
    width: float | None = None      # None or 0: follow the source (keeping the aspect when one is given)
    height: float | None = None
    black: Black | None = None      # None: IsCheckBlack off
    check_count: bool = False       # IsCheckCount: Interval falls back to Average to reach Count
    image: ImageRule = ImageRule()  # CIParam
    shots: bool = True              # SnapshotOutMode writes single shots (not OnlySprite)
    sprite: Sprite | None = None    # the sprite sheets (None: OnlySnapshot)
    ext: str = "jpg"                # each shot's image format (jpg for sprite-only jobs): `${ext}`
    output: Output = Output()
    marks: Marks = Marks()


def parse(op: Mapping[str, Any]) -> SnapshotOp:
    """The typed Snapshot operation of a checked Operation, its defaults resolved."""
    params = section(op, "Snapshot")
    out_mode = text(params, "SnapshotOutMode", "OnlySnapshot").lower()
    black = None
    if flag(params, "IsCheckBlack"):
        black = Black((num(params, "BlackLevel") or BLACK_LEVEL) / 100,
                      num(params, "PixelBlackThreshold", PIXEL_BLACK) or 0.0)
    return SnapshotOp(
        text(params, "Mode", "Interval").lower(), num(params, "Start", 0.0) or 0.0, num(params, "TimeInterval"),
        int(num(params, "Count", 1) or 1), num(params, "Width"), num(params, "Height"), black,
        flag(params, "IsCheckCount"), image_rule(params), out_mode != "onlysprite",
        _sprite(section(params, "SpriteSnapshotConfig")) if out_mode != "onlysnapshot" else None,
        output_ext(op), parse_output(op), parse_marks(op))


def _sprite(cfg: Mapping[str, Any]) -> Sprite:
    return Sprite(int(num(cfg, "Columns", 1) or 1), int(num(cfg, "Lines", 1) or 1),
                  num(cfg, "CellWidth") or 0.0, num(cfg, "CellHeight") or 0.0,
                  int(num(cfg, "Padding", 0) or 0), int(num(cfg, "Margin", 0) or 0),
                  parse_color(text(cfg, "Color", "White")) or (255, 255, 255),
                  text(cfg, "ScaleMethod", "DirectScale").lower())


def image_rule(params: Mapping[str, Any], where: str = "Request.Operation.Snapshot") -> ImageRule:
    """Parse CIParam (`imageMogr2/format/png/quality/80`); refuse what ci-jobs does not apply."""
    raw = text(params, "CIParam")
    if not raw:
        return ImageRule()
    steps = raw.lstrip("?").strip("/").split("/")
    if steps[0] != "imageMogr2" or "|" in raw:
        raise InvalidArgument(f"{where}.CIParam {raw} is not supported: ci-jobs applies imageMogr2 "
                              "(format and quality) only, one rule")
    found: dict[str, str] = {}
    words = iter(steps[1:])
    for name in words:
        if name not in ("format", "quality"):
            raise InvalidArgument(f"{where}.CIParam operation imageMogr2/{name} is not supported: ci-jobs "
                                  "applies imageMogr2/format and imageMogr2/quality only")
        found[name] = next(words, "")
    fmt, quality = found.get("format", "").lower() or None, found.get("quality")
    if fmt is not None and fmt not in IMAGE_EXTS:
        raise InvalidArgument(f"{where}.CIParam imageMogr2/format/{fmt} is not one of {', '.join(IMAGE_EXTS)}")
    if quality is not None and not (quality.isdigit() and 1 <= int(quality) <= 100):
        raise InvalidArgument(f"{where}.CIParam imageMogr2/quality/{quality} must be a whole number in [1, 100]")
    return ImageRule(fmt, int(quality) if quality is not None else None)


def shot_ext(op: Mapping[str, Any]) -> str:
    """The format of each shot: CIParam's imageMogr2/format, else the Output.Object extension."""
    return image_rule(section(op, "Snapshot")).format or image_ext(text(section(op, "Output"), "Object"))


def check(op: Mapping[str, Any], params: dict[str, Any], where: str) -> None:
    """Mode, Count, Start, TimeInterval, sizes, black-frame checks, CIParam, SnapshotOutMode and output keys."""
    choice(params, "Mode", where, ("Interval", "Average", "KeyFrame"))
    if text(params, "Fps"):
        raise InvalidArgument(f"{where}.Fps is not supported yet: shots follow Mode, Start and TimeInterval")
    if not text(params, "Count"):
        raise InvalidArgument(f"{where}.Count is required")
    number_range(params, "Count", where, 0, 10000, lo_open=True)
    number_range(params, "Start", where, 0, 1e9)
    number_range(params, "TimeInterval", where, 0, 3600, lo_open=True)
    size(params, where)
    _check_black(params, where)
    rule = image_rule(params, where)
    if rule.quality is not None and shot_ext(op) not in _LOSSY:
        raise InvalidArgument(f"{where}.CIParam imageMogr2/quality applies to jpg and webp shots, not {shot_ext(op)}")
    mode = text(params, "SnapshotOutMode", "OnlySnapshot")
    choice(params, "SnapshotOutMode", where, ("OnlySnapshot", "OnlySprite", "SnapshotAndSprite"))
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
    elif text(output, "WebVttObject"):
        raise InvalidArgument("Request.Operation.Output.WebVttObject needs sprite output (SnapshotOutMode)")


def _check_black(params: dict[str, Any], where: str) -> None:
    number_range(params, "BlackLevel", where, 30, 100)
    number_range(params, "PixelBlackThreshold", where, 0, 255)
    for key in ("BlackLevel", "PixelBlackThreshold"):
        if text(params, key) and not flag(params, "IsCheckBlack"):
            raise InvalidArgument(f"{where}.{key} needs IsCheckBlack true")


def _check_sprite(params: dict[str, Any], output: dict[str, Any], count: int, where: str) -> None:
    sprite = section(params, "SpriteSnapshotConfig")
    if not sprite:
        raise InvalidArgument(f"{where} is required for sprite output")
    for key in ("Columns", "Lines"):
        if not text(sprite, key):
            raise InvalidArgument(f"{where}.{key} is required")
        number_range(sprite, key, where, 1, 10000)
    for key in ("CellWidth", "CellHeight"):
        number_range(sprite, key, where, 8, 4096, zero_ok=True)
    for key in ("Padding", "Margin"):
        number_range(sprite, key, where, 0, 1024)
    choice(sprite, "ScaleMethod", where, ("DirectScale", "MaxWHScaleAndPad", "MaxWHScale"))
    if text(sprite, "Color") and parse_color(text(sprite, "Color")) is None:
        raise InvalidArgument(f"{where}.Color {text(sprite, 'Color')} is not a color")
    vtt = text(output, "WebVttObject")
    if vtt and (has_number(vtt) or not vtt.lower().endswith(".vtt")):
        raise InvalidArgument("Request.Operation.Output.WebVttObject must be one .vtt object (no ${Number})")
    key = text(output, "SpriteObject")
    if not key:
        raise InvalidArgument("Request.Operation.Output.SpriteObject is required for sprite output")
    if image_ext(key) not in ("jpg", "jpeg"):
        raise InvalidArgument("Request.Operation.Output.SpriteObject must be a jpg")
    cells = int(num(sprite, "Columns", 1) or 1) * int(num(sprite, "Lines", 1) or 1)
    if count > cells and not has_number(key):
        raise InvalidArgument("Request.Operation.Output.SpriteObject must contain ${Number} "
                              "when several sprites are produced")


def output_ext(op: Mapping[str, Any]) -> str:
    """`${ext}`: the shots' image format (jpg for sprite-only jobs)."""
    if text(section(op, "Snapshot"), "SnapshotOutMode").lower() == "onlysprite":
        return "jpg"
    return shot_ext(op)


SPEC = TagSpec(
    name="Snapshot", container="Snapshot", driver="snapshot", check=check, extras=watermark.check_marks,
    lane=Lane.FAST, template=TemplateKind(("Snapshot",), "Snapshot", "Snapshot", True, job_tag="Snapshot",
                          check_output=(("Object", "o-${Number}.jpg"), ("SpriteObject", "s-${Number}.jpg"))),
    parse=parse, output_ext=output_ext, references=watermark.images,
    roles={"main": Role(), "sprite": Role(key_field="SpriteObject", fallback="Object", ext="jpg",
                                                         result_field="SpriteOutputFile"),
           "vtt": Role(key_field="WebVttObject", ext="vtt")},
)
