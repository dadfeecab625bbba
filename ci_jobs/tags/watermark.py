"""Watermarks: the rules of one Watermark element (inline or a Watermark template) and its template kind.

Watermark is not a job Tag: it is a template kind whose body stands for a job's `Operation.Watermark`,
and the element every drawing Tag (Transcode, Snapshot, Animation) accepts up to 3 times.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import InvalidArgument
from ..mediarules import flag, section, text
from .rules import choice, color, many, number_range, window
from .spec import TemplateKind

NAME = "Watermark"
TEMPLATE = TemplateKind(params=("Watermark",), response="Watermark", inline="Watermark", wrapped=True,
                        job_tag="Transcode")
POSITIONS = ("TopLeft", "Top", "TopRight", "Left", "Center", "Right", "BottomLeft", "Bottom", "BottomRight")


def marks(op: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The Watermark elements of an Operation."""
    return many(op.get("Watermark"))


def check_marks(op: Mapping[str, Any], params: Mapping[str, Any], where: str) -> None:
    """The extras rules of Tags that only draw watermarks: each Watermark element is valid."""
    refuse_digital(op)
    for index, mark in enumerate(marks(op), 1):
        check(mark, f"Request.Operation.Watermark[{index}]")


def refuse_digital(op: Mapping[str, Any]) -> None:
    """DigitalWatermark (an invisible, extractable mark) is not embedded yet: refuse it rather than
    answer Success for a mark that is not there."""
    if "DigitalWatermark" in op:
        raise InvalidArgument("Request.Operation.DigitalWatermark is not supported yet: no digital watermark "
                              "would be embedded")


def check(mark: Mapping[str, Any], where: str) -> None:
    """One Watermark element (inline or a Watermark template's body)."""
    kind = text(mark, "Type")
    choice(mark, "Type", where, ("Text", "Image"))
    choice(mark, "Pos", where, POSITIONS)
    choice(mark, "LocMode", where, ("Relativity", "Absolute", "Relative"))
    relative = text(mark, "LocMode").lower().startswith("relativ")
    image = section(mark, "Image")
    if kind.lower() == "image" and flag(image, "Background"):
        raise InvalidArgument(f"{where}.Image.Background true is not supported yet")
    for key in ("Dx", "Dy"):
        number_range(mark, key, where, 0, 100 if relative else 4096)
    window(mark, "StartTime", "EndTime", where, "must be after")
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
    number_range(params, "FontSize", where, 5, 100)
    number_range(params, "Transparency", where, 1, 100)
    color(params, "FontColor", where)


def _image(params: Mapping[str, Any], where: str) -> None:
    if not text(params, "Url"):
        raise InvalidArgument(f"{where}.Url is required for an Image watermark")
    choice(params, "Mode", where, ("Original", "Proportion", "Fixed"))
    mode = text(params, "Mode", "Original").lower()
    for key in ("Width", "Height"):
        if mode == "proportion":
            number_range(params, key, where, 1, 100)
        elif mode == "fixed":
            number_range(params, key, where, 8, 4096)
    number_range(params, "Transparency", where, 1, 100)


def images(op: Mapping[str, Any]) -> list[str]:
    """The bucket objects the Image watermarks of an Operation read."""
    return [text(section(m, "Image"), "Url") for m in marks(op) if text(m, "Type").lower() == "image"]
