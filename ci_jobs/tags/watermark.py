"""Watermarks: the rules of one Watermark element (inline or a Watermark template) and its template kind.

Watermark is not a job Tag: it is a template kind whose body stands for a job's `Operation.Watermark`,
and the element every drawing Tag (Transcode, Snapshot, Animation) accepts up to 3 times.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidArgument
from ..mediarules import flag, num, object_key, parse_color, section, text
from .rules import choice, color, many, number_range, window
from .spec import TemplateKind

NAME = "Watermark"
TEMPLATE = TemplateKind(params=("Watermark",), response="Watermark", inline="Watermark", wrapped=True,
                        job_tag="Transcode")
POSITIONS = ("TopLeft", "Top", "TopRight", "Left", "Center", "Right", "BottomLeft", "Bottom", "BottomRight")


@dataclass(frozen=True)
class TextMark:
    """A Text watermark's picture: the text drawn in a font, size, colour and opacity."""

    text: str
    font_size: int = 16
    font_type: str = ""
    color: tuple[int, int, int] = (255, 255, 255)
    opacity: float = 1.0  # Transparency / 100: 1 draws the mark solid


@dataclass(frozen=True)
class ImageMark:
    """An Image watermark's picture: a bucket object, sized by Mode (original, proportion %, fixed px)."""

    url: str
    key: str  # the object key the runner fetched it under
    mode: str = "original"
    width: float | None = None
    height: float | None = None
    opacity: float = 1.0


@dataclass(frozen=True)
class Watermark:
    """One Watermark element: its picture, where it sits (Pos, LocMode, Dx/Dy) and when it shows."""

    picture: TextMark | ImageMark
    where: str                   # its dotted path, for messages
    pos: str = "topright"        # a POSITIONS name, lower-cased
    relative: bool = False       # Dx/Dy in % of the frame (LocMode Relativity)
    dx: float = 0.0
    dy: float = 0.0
    start: float = 0.0           # output seconds
    end: float = math.inf


@dataclass(frozen=True)
class RemoveWatermark:
    """RemoveWatermark: a box of the upright source picture to erase, during [start, end) output seconds."""

    x: float
    y: float
    width: float
    height: float
    start: float = 0.0
    end: float = math.inf


@dataclass(frozen=True)
class Marks:
    """What a job draws over its frames: the Watermark elements in order and the box RemoveWatermark erases."""

    watermarks: tuple[Watermark, ...] = ()
    remove: RemoveWatermark | None = None

    def __bool__(self) -> bool:
        return bool(self.watermarks or self.remove)


def parse_marks(op: Mapping[str, Any]) -> Marks:
    """The typed Watermark and RemoveWatermark elements of a checked Operation."""
    found = marks(op)
    names = [f"Request.Operation.Watermark[{i}]" for i in range(1, len(found) + 1)]
    return Marks(tuple(_watermark(m, where) for m, where in zip(found, names, strict=True)),
                 _removal(section(op, "RemoveWatermark")))


def _watermark(mark: Mapping[str, Any], where: str) -> Watermark:
    picture: TextMark | ImageMark
    if text(mark, "Type", "Text").lower() == "image":
        image = section(mark, "Image")
        picture = ImageMark(text(image, "Url"), object_key(text(image, "Url")), text(image, "Mode", "Original").lower(),
                            num(image, "Width"), num(image, "Height"), _opacity(image))
    else:
        words = section(mark, "Text")
        picture = TextMark(text(words, "Text", " "), int(num(words, "FontSize", 16) or 16), text(words, "FontType"),
                           parse_color(text(words, "FontColor", "0xFFFFFF")) or (255, 255, 255), _opacity(words))
    return Watermark(picture, where, text(mark, "Pos", "TopRight").lower(),
                     text(mark, "LocMode", "Absolute").lower().startswith("relativ"),
                     num(mark, "Dx", 0.0) or 0.0, num(mark, "Dy", 0.0) or 0.0,
                     num(mark, "StartTime", 0.0) or 0.0, num(mark, "EndTime") or math.inf)


def _opacity(params: Mapping[str, Any]) -> float:
    return min(100.0, max(0.0, num(params, "Transparency", 100.0) or 100.0)) / 100


def _removal(params: Mapping[str, Any]) -> RemoveWatermark | None:
    """RemoveWatermark (the element also accepts Startime/Endtime); None when absent or switched off."""
    if not params or text(params, "Switch").lower() in ("off", "false", "0"):
        return None
    return RemoveWatermark(num(params, "Dx", 0.0) or 0.0, num(params, "Dy", 0.0) or 0.0,
                           num(params, "Width", 0.0) or 0.0, num(params, "Height", 0.0) or 0.0,
                           num(params, "StartTime", num(params, "Startime", 0.0)) or 0.0,
                           num(params, "EndTime", num(params, "Endtime")) or math.inf)


def marks(op: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The Watermark elements of an Operation."""
    return many(op.get("Watermark"))


def check_marks(op: Mapping[str, Any], params: Mapping[str, Any], where: str) -> None:
    """The extras rules of Tags that only draw watermarks: each Watermark element is valid."""
    refuse_digital(op)
    for index, mark in enumerate(marks(op), 1):
        check(mark, f"Request.Operation.Watermark[{index}]")


def no_marks(why: str) -> Callable[[Mapping[str, Any], Mapping[str, Any], str], None]:
    """The extras rule of a Tag that draws nothing: Watermark, WatermarkTemplateId, RemoveWatermark and
    DigitalWatermark are refused (`why` says why), never accepted and left out of the output."""
    def check_none(op: Mapping[str, Any], params: Mapping[str, Any], where: str) -> None:
        for key in ("Watermark", "WatermarkTemplateId", "RemoveWatermark", "DigitalWatermark"):
            if op.get(key):
                raise InvalidArgument(f"Request.Operation.{key} is not supported for this Tag: {why}")
    return check_none


@dataclass(frozen=True)
class DigitalMark:
    """DigitalWatermark: the text to embed invisibly (Type Text, Version V1) and whether a failure to
    embed it lets the job go on unmarked (IgnoreError)."""

    message: str
    ignore_error: bool = False


DIGITAL_MAX_BYTES = 64  # what one frame's finest grid carries here (media.digitalmark.MAX_BYTES)
_DIGITAL_CHARS = re.compile(r"[\w\-*\u4e00-\u9fff]+")


def parse_digital(op: Mapping[str, Any]) -> DigitalMark | None:
    """The checked DigitalWatermark element of an Operation; None when absent."""
    params = section(op, "DigitalWatermark")
    if not params:
        return None
    return DigitalMark(text(params, "Message"), flag(params, "IgnoreError"))


def check_digital(op: Mapping[str, Any], where: str = "Request.Operation.DigitalWatermark") -> None:
    """DigitalWatermark: Type Text, Version V1, Message of CN/EN letters, digits, _-* that fits a frame."""
    if "DigitalWatermark" not in op:
        return
    params = section(op, "DigitalWatermark")
    for key, allowed in (("Type", "Text"), ("Version", "V1")):
        if not text(params, key):
            raise InvalidArgument(f"{where}.{key} is required")
        choice(params, key, where, (allowed,))
    message = text(params, "Message")
    if not message:
        raise InvalidArgument(f"{where}.Message is required")
    if len(message) > 64 or not _DIGITAL_CHARS.fullmatch(message):
        raise InvalidArgument(f"{where}.Message must be at most 64 Chinese or English letters, digits, _ - *")
    if len(message.encode("utf-8")) > DIGITAL_MAX_BYTES:
        raise InvalidArgument(f"{where}.Message is {len(message.encode('utf-8'))} UTF-8 bytes: ci-jobs embeds at "
                              f"most {DIGITAL_MAX_BYTES} (CI documents 64 characters)")
    choice(params, "IgnoreError", where, ("true", "false"))


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
