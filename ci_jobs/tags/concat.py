"""Concat: join fragments (bucket objects) in order, re-encoded or packet-copied. Driver: media.concat.

Its parameter container is `ConcatTemplate`, and it needs no Input (the fragments carry the media).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import InvalidArgument
from ..mediarules import CONCAT_CONTAINERS, flag, fragments, object_key, section, text, video_codec
from . import watermark
from .rules import choice, number_range, window
from .spec import Role, TagSpec, TemplateKind
from .streams import check_audio, check_video

_NOT_YET = ("Rotate", "Crop", "Pad")  # Transcode's: the pieces are letterboxed before the lane would turn them


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
    """The fragments, then any watermark images."""
    return [text(f, "Url") for f in fragments(section(op, "ConcatTemplate"))] + watermark.images(op)


SPEC = TagSpec(
    name="Concat", container="ConcatTemplate", driver="concat", check=check, extras=watermark.check_marks,
    template=TemplateKind(("ConcatTemplate",), "ConcatTemplate", "ConcatTemplate", True, job_tag="Concat"),
    needs_input=False, output_ext=output_ext, references=references,
    roles={"main": Role(), "segment": Role(beside="main")},
)
