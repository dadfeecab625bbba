"""MPS watermarks (a Watermark template's fields, or a WatermarkInput's RawParameter) as the Watermark element
the Transcode Tag draws (tags/watermark.py).

CoordinateOrigin TopLeft/TopRight/BottomLeft/BottomRight puts the mark in that corner, XPos/YPos from it
inward (px: LocMode Absolute; %: Relativity, of the frame's width/height); Center centres it (offsets 0).
An image's Width/Height in % are of the frame (Mode Proportion), in px fixed (Mode Fixed), 0 keeps the
aspect; both 0 keep its own size. The image is a COS object; it must lie in the task's input bucket (the
runner reads a job's watermark images there). Text: FontSize in px, FontColor 0xRRGGBB, FontAlpha (0, 1].
SVG watermarks and RepeatType are refused by name.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .errors import InvalidParameterValue, MissingParameter

if TYPE_CHECKING:
    from .template_kinds import Library

ORIGINS = ("TopLeft", "TopRight", "BottomLeft", "BottomRight", "Center")
_LENGTH = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(px|%)?\s*$")
TEXT_DEFAULTS = {"FontType": "arial.ttf", "FontSize": "16px", "FontColor": "0xFFFFFF", "FontAlpha": 1.0}
IMAGE_DEFAULTS = {"Width": "10%", "Height": "0px"}
DEFAULTS = {"CoordinateOrigin": "TopLeft", "XPos": "0px", "YPos": "0px"}


def length(value: Any, where: str) -> tuple[float, str]:
    """`10px`, `10%` or `10` (px) as (number, unit)."""
    m = _LENGTH.match(str(value))
    if not m:
        raise InvalidParameterValue(f"{where} {value!r} must be a length like 10px or 10%.")
    return float(m[1]), m[2] or "px"


def _unit(a: tuple[float, str], b: tuple[float, str], where: str) -> str:
    """The one unit of two lengths (a zero takes the other's)."""
    if a[0] and b[0] and a[1] != b[1]:
        raise InvalidParameterValue(f"{where}: give both in px or both in %, not {a[1]} and {b[1]}.")
    return a[1] if a[0] else b[1]


def element(body: dict[str, Any], where: str) -> dict[str, Any]:
    """The CI Watermark element for a watermark template's body (or a RawWatermarkParameter)."""
    kind = str(body.get("Type", "")).lower()
    if kind not in ("image", "text"):
        raise InvalidParameterValue(f"{where}.Type {body.get('Type') or '(empty)'} is not supported: ci-jobs draws "
                                    "image and text watermarks.", sub="Type")
    body = {**DEFAULTS, **body}
    origin = body["CoordinateOrigin"]
    if origin not in ORIGINS:
        raise InvalidParameterValue(f"{where}.CoordinateOrigin {origin} must be one of {', '.join(ORIGINS)}.",
                                    sub="CoordinateOrigin")
    x, y = length(body["XPos"], f"{where}.XPos"), length(body["YPos"], f"{where}.YPos")
    if origin == "Center" and (x[0] or y[0]):
        raise InvalidParameterValue(f"{where}: XPos/YPos must be 0 with CoordinateOrigin Center (ci-jobs centres "
                                    "the mark).")
    unit = _unit(x, y, f"{where}.XPos/YPos")
    out: dict[str, Any] = {"Type": kind.capitalize(), "Pos": origin, "LocMode": "Relativity" if unit == "%" else
                           "Absolute", "Dx": f"{x[0]:g}", "Dy": f"{y[0]:g}"}
    if kind == "image":
        out["Image"] = _image(body.get("ImageTemplate"), f"{where}.ImageTemplate")
    else:
        out["Text"] = _text(body.get("TextTemplate"), f"{where}.TextTemplate")
    return out


def image_object(body: dict[str, Any], where: str) -> tuple[str, str]:
    """(bucket, key) of an image watermark's COS object."""
    content = (body.get("ImageTemplate") or {}).get("ImageContent") or {}
    if content.get("Type") != "COS":
        raise InvalidParameterValue(f"{where}.ImageTemplate.ImageContent.Type {content.get('Type') or '(empty)'} "
                                    "is not supported: give a COS object of this server.", sub="ImageContent")
    cos = content.get("CosInputInfo") or {}
    for name in ("Bucket", "Object"):
        if not cos.get(name):
            raise MissingParameter(f"{where}.ImageTemplate.ImageContent.CosInputInfo.{name} is required.")
    return str(cos["Bucket"]), str(cos["Object"]).lstrip("/")


def _image(image: dict[str, Any] | None, where: str) -> dict[str, str]:
    if not image:
        raise MissingParameter(f"{where} is required for an image watermark.")
    _, key = image_object({"ImageTemplate": image}, where.rsplit(".", 1)[0])
    image = {**IMAGE_DEFAULTS, **image}
    w, h = length(image["Width"], f"{where}.Width"), length(image["Height"], f"{where}.Height")
    out = {"Url": key, "Transparency": "100"}
    if not (w[0] or h[0]):
        return {**out, "Mode": "Original"}
    unit = _unit(w, h, f"{where}.Width/Height")
    out["Mode"] = "Proportion" if unit == "%" else "Fixed"
    for name, value in (("Width", w), ("Height", h)):
        if value[0]:
            out[name] = f"{value[0]:g}"
    return out


def _text(text: dict[str, Any] | None, where: str) -> dict[str, str]:
    if not text:
        raise MissingParameter(f"{where} is required for a text watermark.")
    text = {**TEXT_DEFAULTS, **text}
    if not text.get("TextContent"):
        raise MissingParameter(f"{where}.TextContent is required.")
    size = length(text["FontSize"], f"{where}.FontSize")
    if size[1] != "px":
        raise InvalidParameterValue(f"{where}.FontSize {text['FontSize']} must be in px.", sub="FontSize")
    alpha = float(text["FontAlpha"])
    if not 0 < alpha <= 1:
        raise InvalidParameterValue(f"{where}.FontAlpha {alpha:g} must be within (0, 1].", sub="FontAlpha")
    return {"Text": str(text["TextContent"]), "FontSize": f"{size[0]:g}", "FontType": str(text["FontType"]),
            "FontColor": str(text["FontColor"]), "Transparency": str(max(1, round(alpha * 100)))}


MAX_MARKS = 3  # the most Watermark elements a Transcode job draws


def watermark_set(items: list[dict[str, Any]], library: Library, bucket: str, where: str) -> list[dict[str, Any]]:
    """A WatermarkSet as CI Watermark elements: a template's (TextContent replacing its text) or a RawParameter's
    image (Definition 0), shown from StartTimeOffset to EndTimeOffset (output seconds)."""
    if len(items) > MAX_MARKS:
        raise InvalidParameterValue(f"{where} has {len(items)} watermarks; ci-jobs draws at most {MAX_MARKS}.")
    out = []
    for i, item in enumerate(items):
        at = f"{where}[{i}]"
        if "Definition" not in item:
            raise MissingParameter(f"{at}.Definition is required.")
        if int(item["Definition"]) == 0:
            if "RawParameter" not in item:
                raise MissingParameter(f"{at}.RawParameter is required when Definition is 0.")
            body, at_body = dict(item["RawParameter"]), f"{at}.RawParameter"
        else:
            body, at_body = library.body("Watermark", int(item["Definition"]), at), at
        if item.get("TextContent"):
            if str(body.get("Type", "")).lower() != "text":
                raise InvalidParameterValue(f"{at}.TextContent applies to text watermarks only.")
            body["TextTemplate"] = {**body["TextTemplate"], "TextContent": item["TextContent"]}
        mark = element(body, at_body)
        if mark["Type"] == "Image" and image_object(body, at_body)[0] != bucket:
            raise InvalidParameterValue(f"{at_body}.ImageTemplate.ImageContent must be an object of the input's "
                                        f"bucket {bucket} (ci-jobs reads a job's watermark images there).")
        start, end = float(item.get("StartTimeOffset", 0)), float(item.get("EndTimeOffset", 0))
        if start < 0 or end < 0 or (end and end <= start):
            raise InvalidParameterValue(f"{at}: Start/EndTimeOffset must be 0 or more seconds, End after Start.")
        if start:
            mark["StartTime"] = f"{start:g}"
        if end:
            mark["EndTime"] = f"{end:g}"
        out.append(mark)
    return out
