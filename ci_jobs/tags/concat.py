"""Concat: join fragments (bucket objects) in order, re-encoded or packet-copied. Driver: media.concat.

Its parameter container is `ConcatTemplate`, and it needs no Input (the fragments carry the media).
Its typed operation is `ConcatOp`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidArgument
from ..mediarules import CONCAT_CONTAINERS, ContainerSpec, flag, fragments, num, object_key, section, text, video_codec
from . import watermark
from .output import Output, parse_output
from .rules import choice, number_range, window
from .spec import Role, TagSpec, TemplateKind
from .streams import Audio, Video, check_audio, check_video, parse_audio, parse_video

WHERE = "Request.Operation.ConcatTemplate"
DEFAULT_TRANSITION = 3.0  # seconds: CI's SceneChangeInfo.Time default
_NOT_YET = ("Rotate", "Crop", "Pad")  # Transcode's: the pieces are letterboxed before the lane would turn them


@dataclass(frozen=True)
class Fragment:
    """One ConcatFragment: a bucket object, the window of it to use, and whether it goes before the Input."""

    url: str
    key: str                    # the object key the runner fetched it under
    start: float = 0.0          # StartTime
    end: float | None = None    # EndTime (None: the object's end)
    before_input: bool = False  # Mode Start


@dataclass(frozen=True)
class SceneChange:
    """SceneChangeInfo: how the pieces meet (default: a cut) and the transition's seconds."""

    mode: str = "default"  # lower-case: default, fade or gradient
    time: float = DEFAULT_TRANSITION


@dataclass(frozen=True)
class ConcatOp:
    """A Concat job's typed operation: what its driver reads."""

    container: ContainerSpec
    fragments: tuple[Fragment, ...]  # in output order: by FragmentIndex when every fragment has one
    video: Video | None              # None: no video in the output (Video.Remove, or an audio-only container)
    audio: Audio | None              # None: Audio.Remove
    index: int | None = None         # where the Input goes among the fragments (None: after the Mode=Start ones)
    direct: bool = False             # DirectConcat: copy packets, no re-encoding
    scene: SceneChange = SceneChange()
    output: Output = Output()


def parse(op: Mapping[str, Any]) -> ConcatOp:
    """The typed operation of a checked Concat Operation."""
    params = section(op, "ConcatTemplate")
    fmt = text(section(params, "Container"), "Format").lower()
    if fmt not in CONCAT_CONTAINERS:
        raise InvalidArgument(f"{WHERE}.Container.Format is required")
    spec = CONCAT_CONTAINERS[fmt]
    frags = fragments(params)
    if frags and all(text(f, "FragmentIndex") for f in frags):
        frags.sort(key=lambda f: num(f, "FragmentIndex", 0.0) or 0.0)
    index = num(params, "Index")
    scene = section(params, "SceneChangeInfo")
    # Rotate, Crop and Pad are refused, or ignored by DirectConcat: left unread.
    video = parse_video(params, spec, f"{WHERE}.Video", geometry=False)
    return ConcatOp(spec, tuple(_fragment(f) for f in frags), video, parse_audio(params, spec),
                    None if index is None else int(index), flag(params, "DirectConcat"),
                    SceneChange(text(scene, "Mode", "Default").lower(), num(scene, "Time") or DEFAULT_TRANSITION),
                    parse_output(op))


def _fragment(fragment: Mapping[str, Any]) -> Fragment:
    url = text(fragment, "Url")
    return Fragment(url, object_key(url), num(fragment, "StartTime", 0.0) or 0.0, num(fragment, "EndTime"),
                    text(fragment, "Mode").lower() == "start")


def check(op: Mapping[str, Any], params: dict[str, Any], where: str) -> None:
    """Fragments, Index, the container and codecs, transitions (not with DirectConcat), no AudioMix
    and no Video.Rotate/Crop/Pad yet."""
    pieces = fragments(params)
    if not pieces:
        raise InvalidArgument(f"{where}.ConcatFragment is required")
    for fragment in pieces:
        if not object_key(text(fragment, "Url")):
            raise InvalidArgument(f"{where}.ConcatFragment.Url is required")
        choice(fragment, "Mode", f"{where}.ConcatFragment", ("Start", "End"))
        window(fragment, "StartTime", "EndTime", f"{where}.ConcatFragment")
    number_range(params, "Index", where, 0, len(pieces))
    fmt = text(section(params, "Container"), "Format")
    if not fmt:
        raise InvalidArgument(f"{where}.Container.Format is required")
    if fmt.lower() not in CONCAT_CONTAINERS:
        raise InvalidArgument(f"{where}.Container.Format {fmt} must be one of {', '.join(CONCAT_CONTAINERS)}")
    spec = CONCAT_CONTAINERS[fmt.lower()]
    video = section(params, "Video")
    if spec.video and not flag(video, "Remove") and video_codec(text(video, "Codec", "H.264")) != "h264":
        raise InvalidArgument(f"{where}.Video.Codec {text(video, 'Codec')} must be H.264")
    check_video(params, spec, fmt, f"{where}.Video")
    number_range(video, "Fps", f"{where}.Video", 0, 60, lo_open=True)
    for key in _NOT_YET:  # DirectConcat ignores Video, as CI documents
        if text(video, key) and not flag(params, "DirectConcat"):
            raise InvalidArgument(f"{where}.Video.{key} is not supported for Concat yet")
    check_audio(params, spec, fmt, f"{where}.Audio")
    scene = section(params, "SceneChangeInfo")
    choice(scene, "Mode", f"{where}.SceneChangeInfo", ("Default", "FADE", "GRADIENT"))
    number_range(scene, "Time", f"{where}.SceneChangeInfo", 0, 5, lo_open=True)
    if flag(params, "DirectConcat") and text(scene, "Mode", "Default").lower() != "default":
        raise InvalidArgument(f"{where}.SceneChangeInfo needs re-encoding and cannot be used with DirectConcat")
    if params.get("AudioMix") or params.get("AudioMixArray"):
        raise InvalidArgument(f"{where}.AudioMix is not supported yet")


def output_ext(op: Mapping[str, Any]) -> str:
    """`${ext}`: the extension of the output container."""
    fmt = text(section(section(op, "ConcatTemplate"), "Container"), "Format", "mp4").lower()
    return CONCAT_CONTAINERS[fmt].ext if fmt in CONCAT_CONTAINERS else fmt


def references(op: Mapping[str, Any]) -> list[str]:
    """The fragments."""
    return [text(f, "Url") for f in fragments(section(op, "ConcatTemplate"))]


SPEC = TagSpec(
    name="Concat", container="ConcatTemplate", driver="concat", check=check, parse=parse,
    extras=watermark.no_marks("Concat does not draw over the joined pictures yet"),
    template=TemplateKind(("ConcatTemplate",), "ConcatTemplate", "ConcatTemplate", True, job_tag="Concat"),
    needs_input=False, output_ext=output_ext, references=references,
    roles={"main": Role(), "segment": Role(beside="main")},
)
