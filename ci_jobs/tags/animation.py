"""Animation: an animated GIF or WebP from a stretch of video. Driver: media.animation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import InvalidArgument
from ..mediarules import num, section, text
from . import watermark
from .rules import choice, number_range, size, time_interval
from .spec import TagSpec, TemplateKind


def check(op: Mapping[str, Any], params: dict[str, Any], where: str) -> None:
    """Container.Format and Video.Codec agree; frame rate, interval and quality ranges."""
    fmt = text(section(params, "Container"), "Format")
    choice(section(params, "Container"), "Format", f"{where}.Container", ("gif", "hgif", "webp"))
    if not fmt:
        raise InvalidArgument(f"{where}.Container.Format is required")
    video = section(params, "Video")
    codec = text(video, "Codec")
    if not codec:
        raise InvalidArgument(f"{where}.Video.Codec is required")
    choice(video, "Codec", f"{where}.Video", ("gif", "webp"))
    if (codec.lower() == "webp") != (fmt.lower() == "webp"):
        raise InvalidArgument(f"{where}.Video.Codec {codec} does not match Container.Format {fmt}")
    size(video, f"{where}.Video")
    number_range(video, "Fps", f"{where}.Video", 0, 1e6, lo_open=True)
    number_range(video, "AnimateFramesPerSecond", f"{where}.Video", 0, 1e6, lo_open=True)
    number_range(video, "AnimateTimeIntervalOfFrame", f"{where}.Video", 0, 1e9, lo_open=True)
    number_range(video, "Quality", f"{where}.Video", 1, 100, hi_open=True)
    time_interval(params, where)
    step = num(video, "AnimateTimeIntervalOfFrame")
    span = num(section(params, "TimeInterval"), "Duration")
    if step and span and step >= span:
        raise InvalidArgument(f"{where}.Video.AnimateTimeIntervalOfFrame must be less than "
                              "TimeInterval.Duration")


def output_ext(op: Mapping[str, Any]) -> str:
    """`${ext}`: gif or webp."""
    fmt = text(section(section(op, "Animation"), "Container"), "Format", "gif")
    return "webp" if fmt.lower() == "webp" else "gif"


SPEC = TagSpec(
    name="Animation", container="Animation", driver="animation", check=check, extras=watermark.check_marks,
    template=TemplateKind(("Container", "Video", "TimeInterval"), "TransTpl", "Animation", False,
                          job_tag="Animation", needs_container=True),
    output_ext=output_ext, references=watermark.images,
)
