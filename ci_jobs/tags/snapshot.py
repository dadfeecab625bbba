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
from .rules import choice, number_range, size
from .spec import Lane, Role, TagSpec, TemplateKind

_LOSSY = ("jpg", "jpeg", "webp")  # the formats imageMogr2/quality applies to


@dataclass(frozen=True)
class ImageRule:
    """What a Snapshot's CIParam does to each shot: its image format and quality (None: as without)."""

    format: str | None = None
    quality: int | None = None


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
    output_ext=output_ext, references=watermark.images,
    roles={"main": Role(), "sprite": Role(key_field="SpriteObject", fallback="Object", ext="jpg",
                                                         result_field="SpriteOutputFile")},
)
