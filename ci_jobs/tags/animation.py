"""Animation: an animated GIF or WebP from a stretch of video. Driver: media.animation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidArgument
from ..mediarules import flag, num, section, text
from . import watermark
from .output import Output, parse_output
from .rules import choice, number_range, size, time_interval
from .spec import TagSpec, TemplateKind
from .streams import TimeInterval, parse_interval
from .watermark import Marks, parse_marks


@dataclass(frozen=True)
class Video:
    """Animation.Video: the picture size, the playback rate, which frames are kept and the WebP quality."""

    width: float | None = None              # None or 0: follow the source (keeping the aspect when one is given)
    height: float | None = None
    fps: float | None = None                # Fps: playback rate (None: the source's)
    frames_per_second: float | None = None  # AnimateFramesPerSecond: keep this many frames a second
    keyframes: bool = False                 # AnimateOnlyKeepKeyFrame, unless AnimateFramesPerSecond is given
    frame_interval: float | None = None     # AnimateTimeIntervalOfFrame: keep one frame every this many seconds
    quality: float = 75.0                   # Quality of an animated WebP


@dataclass(frozen=True)
class AnimationOp:
    """A checked Animation operation: the format, the frames and the stretch of the input they come from."""

    format: str = "gif"  # Container.Format, lower-cased: gif, hgif or webp
    video: Video = Video()
    interval: TimeInterval = TimeInterval()
    output: Output = Output()
    marks: Marks = Marks()

    @property
    def ext(self) -> str:
        """`${ext}`: gif or webp."""
        return "webp" if self.format == "webp" else "gif"


def parse(op: Mapping[str, Any]) -> AnimationOp:
    """The typed Animation operation of a checked Operation, its defaults resolved."""
    params = section(op, "Animation")
    video = section(params, "Video")
    per_second = num(video, "AnimateFramesPerSecond")
    return AnimationOp(
        text(section(params, "Container"), "Format", "gif").lower(),
        Video(num(video, "Width"), num(video, "Height"), num(video, "Fps"), per_second,
              not per_second and flag(video, "AnimateOnlyKeepKeyFrame"), num(video, "AnimateTimeIntervalOfFrame"),
              num(video, "Quality", 75.0) or 75.0),
        parse_interval(params), parse_output(op), parse_marks(op))


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
    parse=parse, output_ext=output_ext, references=watermark.images,
)
