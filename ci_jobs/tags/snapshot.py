"""Snapshot: screenshots (and sprite sheets) at intervals, on average or at key frames. Driver: media.snapshot."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import InvalidArgument
from ..mediarules import IMAGE_EXTS, image_ext, num, parse_color, section, text
from ..wildcards import has_number
from . import watermark
from .rules import choice, number_range, size
from .spec import Lane, Role, TagSpec, TemplateKind


def check(op: Mapping[str, Any], params: dict[str, Any], where: str) -> None:
    """Mode, Count, Start, TimeInterval, sizes, SnapshotOutMode and the output keys it needs."""
    choice(params, "Mode", where, ("Interval", "Average", "KeyFrame"))
    if not text(params, "Count"):
        raise InvalidArgument(f"{where}.Count is required")
    number_range(params, "Count", where, 0, 10000, lo_open=True)
    number_range(params, "Start", where, 0, 1e9)
    number_range(params, "TimeInterval", where, 0, 3600, lo_open=True)
    size(params, where)
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
    """`${ext}`: the image format of Output.Object (jpg for sprite-only jobs)."""
    if text(section(op, "Snapshot"), "SnapshotOutMode").lower() == "onlysprite":
        return "jpg"
    return image_ext(text(section(op, "Output"), "Object"))


SPEC = TagSpec(
    name="Snapshot", container="Snapshot", driver="snapshot", check=check, extras=watermark.check_marks,
    lane=Lane.FAST, template=TemplateKind(("Snapshot",), "Snapshot", "Snapshot", True, job_tag="Snapshot",
                          check_output=(("Object", "o-${Number}.jpg"), ("SpriteObject", "s-${Number}.jpg"))),
    output_ext=output_ext, references=watermark.images,
    roles={"main": Role(), "sprite": Role(key_field="SpriteObject", fallback="Object", ext="jpg",
                                                         result_field="SpriteOutputFile")},
)
